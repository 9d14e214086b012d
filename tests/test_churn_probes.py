"""GIVEN probes answered by a fake data plane WHEN the watcher and the disruption loop run
THEN an activation is timed from its arrival to the first correct answer (body and
certificate), a deleted host until it stops answering, a superseded change is not counted as
missing, and every failure of an untouched host is counted."""

from __future__ import annotations

import time
from collections.abc import Callable

from gwbench.harness.churn.probes import DisruptionLoop, Target, Watcher
from gwbench.harness.churn.summary import (
    SUPERSEDED,
    ChangeRecord,
    ChurnResult,
)
from gwbench.harness.envoy.probe import ProbeResult

CERT = b"der-of-new"


def _fake(after: dict[str, float], cert: bytes = CERT) -> Callable[[int, str], ProbeResult]:
    start = time.perf_counter()

    def probe(port: int, host: str) -> ProbeResult:
        live = time.perf_counter() - start >= after.get(host, 1e9)
        if host.startswith("gone"):
            live = not live
        if live:
            return ProbeResult(host, 200, host.encode(), cert, "")
        return ProbeResult(host, 0, b"", b"", "ConnectionResetError: reset")

    return probe


def test_the_watcher_times_each_change_to_its_first_correct_answer() -> None:
    arrival = time.perf_counter()
    watcher = Watcher(1, probe_fn=_fake({"new.example": 0.05, "gone.example": 0.03}))
    watcher.start()
    watcher.add(
        [
            Target(0, "new.example", arrival, "answers", CERT),
            Target(1, "gone.example", arrival, "stops"),
            Target(2, "never.example", arrival, "answers", CERT),
            Target(3, "other.example", arrival, "answers", CERT),
        ],
        arrival,
    )
    watcher.drop(3, SUPERSEDED)
    watcher.finish(0.5)
    seen = {s.event: s for s in watcher.seen}
    assert seen[0].latency_s is not None and 0.05 <= seen[0].latency_s < 0.4
    assert seen[1].latency_s is not None and 0.03 <= seen[1].latency_s < 0.4
    assert seen[2].latency_s is None and "reset" in seen[2].last_error
    assert seen[3].latency_s is None and seen[3].last_error == SUPERSEDED
    records = tuple(
        ChangeRecord(s.event, "add", "", 0.0, 0, 0.0, s.latency_s, s.last_error)
        for s in (seen[0], seen[2], seen[3])
    )
    result = ChurnResult("optimized", "per-host", 1, 1.0, 1.0, 1, "live", "files", records, ())
    assert (result.not_seen(), result.superseded()) == (1, 1)


def test_a_wrong_certificate_is_not_an_activation() -> None:
    arrival = time.perf_counter()
    watcher = Watcher(1, probe_fn=_fake({"new.example": 0.0}, cert=b"old"))
    watcher.start()
    watcher.add([Target(0, "new.example", arrival, "answers", CERT)], arrival)
    watcher.finish(0.2)
    assert watcher.seen[0].latency_s is None


def test_the_disruption_loop_counts_every_failure() -> None:
    fake = _fake({"up.example": 0.0}, cert=b"c")
    loop = DisruptionLoop(
        1,
        [("up.example", b"c"), ("down.example", b"c"), ("up.example", b"wrong")],
        interval_s=0.001,
        probe_fn=fake,
    )
    loop.start()
    time.sleep(0.1)
    result = loop.finish()
    assert result.requests >= 6
    # two of every three probes fail: one refused, one with another certificate
    assert abs(result.errors - 2 * result.requests / 3) <= 2
    assert any("another certificate" in e for e in result.examples)
    assert any(e.startswith("down.example") for e in result.examples)
