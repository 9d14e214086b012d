"""GIVEN a real Envoy WHEN a tiny stream of changes runs live THEN every added host answers
with its own certificate, deleted hosts stop answering, untouched hosts never fail, the
incremental control plane leaves Envoy the same listener as the full translation, and no
Envoy process or folder is left behind, on success and on Ctrl-C."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from process_checks import recording_envoys

from gwbench.harness.churn import live
from gwbench.harness.churn.live import LiveOptions, run_live
from gwbench.harness.churn.replay import parse_replay
from gwbench.harness.cli import main
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec

pytestmark = pytest.mark.slow


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, Path]]]:
    """Every Envoy started during the test (pid, folder); asserts at least one started and
    all are gone afterwards."""
    with recording_envoys(monkeypatch) as seen:
        yield seen
        assert seen


REPLAY = [
    "0.0 add",
    "0.05 add-custom",
    "0.9 delete",
    "1.0 change-path",
    "1.6 rotate-certificate",
    "2.0 add",
    "2.02 change-backend",
]


def test_a_tiny_live_stream_activates_every_change_without_disruption(
    started: list[tuple[int, Path]],
) -> None:
    workload = generate(WorkloadSpec(80, 5))
    arrivals = parse_replay(REPLAY, "tiny.txt")
    options = LiveOptions("incremental", 60.0, 2.0, 5, check=True, probe_sample=5, settle_s=60)
    result = run_live(workload, arrivals, options)
    summary = result.summary()
    assert result.transport == "delta"  # incremental's default: only what changed
    # every add and the rotation answered with the right certificate; the delete went away
    assert summary["activations"] == 4 and summary["not_seen"] == 0
    assert all(c.push is not None for c in result.changes)
    assert [c.latency_s is not None for c in result.changes if c.kind == "delete"] == [True]
    assert summary["disruption_errors"] == 0 and summary["disruption_requests"] > 0
    # the first two changes came 50 ms apart: one push carried both
    assert result.changes[0].push == result.changes[1].push
    assert summary["pushes"] < len(REPLAY)
    for change in result.changes:
        if change.latency_s is not None and change.delivered_s is not None:
            assert change.latency_s >= change.delivered_s > 0


@pytest.mark.parametrize(("impl", "transport"), [("baseline", "sotw"), ("optimized", "files")])
def test_each_transport_activates_a_tiny_stream_without_disruption(
    started: list[tuple[int, Path]], impl: str, transport: str
) -> None:
    workload = generate(WorkloadSpec(40, 3))
    arrivals = parse_replay(["0.0 add", "0.4 add-custom", "0.8 delete"], "tiny.txt")
    options = LiveOptions(impl, 60.0, 1.0, 3, probe_sample=4, settle_s=30, transport=transport)
    result = run_live(workload, arrivals, options)
    summary = result.summary()
    assert result.transport == transport
    assert summary["activations"] == 2 and summary["not_seen"] == 0
    assert summary["disruption_errors"] == 0 and summary["disruption_requests"] > 0
    # the stream's pushes reached Envoy through this transport, and Envoy took them
    assert result.bytes_sent > 0 and result.envoy_updates_s
    assert len(started) == 1


def test_the_scoped_shape_sends_one_scope_per_added_subdomain(
    started: list[tuple[int, Path]],
) -> None:
    workload = generate(WorkloadSpec(60, 4))
    arrivals = parse_replay(REPLAY, "tiny.txt")
    options = LiveOptions("incremental", 60.0, 2.0, 4, shape="scoped", probe_sample=5, settle_s=30)
    result = run_live(workload, arrivals, options)
    summary = result.summary()
    assert result.transport == "delta"
    assert summary["activations"] == 4 and summary["not_seen"] == 0
    assert summary["disruption_errors"] == 0 and summary["disruption_requests"] > 0
    # far less than one listener per push crossed the wire
    smallest = min(p.listener_bytes for p in result.pushes)
    assert 0 < result.bytes_sent < smallest * len(result.pushes)


def test_ctrl_c_during_a_push_stops_envoy(
    started: list[tuple[int, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    original = live.GrpcSink.deliver

    def interrupt_second(self: live.GrpcSink, parts: object) -> float:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return original(self, parts)  # type: ignore[arg-type]

    monkeypatch.setattr(live.GrpcSink, "deliver", interrupt_second)
    options = LiveOptions("optimized", 60.0, 1.0, 1, probe_sample=2, transport="sotw")
    with pytest.raises(KeyboardInterrupt):
        run_live(generate(WorkloadSpec(30, 1)), parse_replay(["0 add"], "x"), options)
    assert calls == 2


def test_the_cli_prints_the_churn_document_and_writes_the_stream(
    started: list[tuple[int, Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        [
            "churn",
            "-n",
            "40",
            "--rate",
            "40",
            "--duration",
            "3",
            "--impl",
            "optimized",
            "--mix",
            "add=1",
            "--seed",
            "3",
            "--probe-sample",
            "3",
            "--json",
            "-o",
            str(tmp_path),
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["schema"] == "gwbench.churn/1"
    (result,) = printed["results"]
    assert result["impl"] == "optimized" and result["ingresses"] == 40
    assert result["rate_per_min"] == 40 and result["mode"] == "live"
    for key in ("p50_s", "p90_s", "p99_s", "max_s", "pushes", "disruption_errors"):
        assert key in result
    written = json.loads((tmp_path / "churn.json").read_text())
    assert len(written["results"][0]["change_records"]) == result["changes"]
    assert (tmp_path / "replay.txt").read_text().count(" add") == result["changes"]
