"""Istio's debounce and push queue, on a fake clock (nothing sleeps), and the simulation
built on them.

GIVEN events at known times and pushes of known length WHEN the control loop runs THEN it
waits for 100 ms of quiet, pushes after at most 10 s of steady events, merges what arrives
during a push into the next one, and the simulation's latencies are the ones worked out by
hand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from gwbench.errors import InputError
from gwbench.harness.churn.debounce import (
    Debouncer,
    DebounceSettings,
    SimClock,
    drive,
)
from gwbench.harness.churn.simulate import CostModel, envoy_timeline, load_model, simulate
from gwbench.harness.churn.stream import Arrival, poisson_stream
from gwbench.harness.churn.summary import ChangeRecord, PushRecord
from tests.churn_data import live_churn_file


@dataclass(frozen=True)
class Ev:
    at: float
    number: int


def events(*times: float) -> list[Ev]:
    return [Ev(t, i) for i, t in enumerate(times)]


def run(
    evs: Sequence[Ev], push_s: float, settings: DebounceSettings | None = None
) -> list[tuple[tuple[int, ...], float, float]]:
    clock = SimClock()

    def push(number: int, batch: Sequence[Ev]) -> None:
        clock.advance(push_s)

    records = drive(
        evs,
        push,
        clock,
        start=0.0,
        settings=settings or DebounceSettings(),
        index=lambda e: e.number,
    )
    return [(r.events, round(r.started, 6), round(r.finished, 6)) for r in records]


def test_the_debouncer_waits_for_quiet_and_not_while_a_push_runs() -> None:
    d: Debouncer[Ev] = Debouncer(DebounceSettings(0.1, 10.0))
    assert not d.due(0.0) and d.wake_at() is None
    d.offer(Ev(0.0, 0), 0.0)
    assert not d.due(0.05)
    assert d.wake_at() == pytest.approx(0.1)
    d.offer(Ev(0.08, 1), 0.08)
    assert not d.due(0.1)  # the second event restarted the quiet time
    assert d.due(0.18)
    assert [e.number for e in d.take()] == [0, 1]
    d.offer(Ev(0.2, 2), 0.2)
    assert not d.due(5.0) and d.wake_at() is None  # busy: merged into the next push
    d.done()
    assert d.due(5.0)


def test_one_change_waits_for_the_quiet_time_then_one_push() -> None:
    assert run(events(1.0), 2.0) == [((0,), 1.1, 3.1)]


def test_changes_close_together_share_one_push() -> None:
    assert run(events(0.0, 0.05, 0.12), 1.0) == [((0, 1, 2), 0.22, 1.22)]


def test_changes_during_a_push_merge_into_the_next_one() -> None:
    # GIVEN one change a second and pushes of 3 s
    pushes = run(events(0, 1, 2, 3, 4, 5), 3.0)
    # THEN the first push carries the first change, the next the three that came meanwhile,
    # starting as soon as the push ends (their quiet time has passed)
    assert pushes == [((0,), 0.1, 3.1), ((1, 2, 3), 3.1, 6.1), ((4, 5), 6.1, 9.1)]


def test_steady_events_push_after_the_debounce_max() -> None:
    steady = events(*[i * 0.05 for i in range(300)])  # 15 s, never 100 ms of quiet
    pushes = run(steady, 0.0)
    assert pushes[0][1] == pytest.approx(10.0)
    assert pushes[0][0] == tuple(range(201))  # 0 .. 10.0 s
    assert sum(len(p[0]) for p in pushes) == 300


def test_the_simulation_matches_hand_worked_latencies() -> None:
    model = CostModel("baseline", 1000, 3.0, 0.5, 2.0, 1.0, "test")
    arrivals = [Arrival(float(t), "add", t) for t in range(6)]
    result = simulate(
        arrivals,
        1000,
        model,
        shape="per-host",
        rate_per_min=60,
        duration_s=6,
        seed=0,
        settings=DebounceSettings(0.1, 10.0),
    )
    # push times grow as (N/1000)^2: 1001, 1004, 1006 Ingresses after each push
    p1 = 3.0 * (1001 / 1000) ** 2
    p2 = 3.0 * (1004 / 1000) ** 2
    end1 = 0.1 + p1
    end2 = end1 + p2
    expected0 = end1 - 0 + 0.5 * 1001 / 1000
    expected1 = end2 - 1 + 0.5 * 1004 / 1000
    got = [c.latency_s for c in result.changes]
    assert got[0] == pytest.approx(expected0)
    assert got[1] == pytest.approx(expected1)
    assert [p.size for p in result.pushes][:2] == [1, 3]
    assert result.summary()["largest_batch"] == 3


def test_envoy_takes_the_newest_version_when_it_is_free() -> None:
    # GIVEN pushes handed over at 1, 2, 3 and 4 s and Envoy updates of 2.5 s
    model = CostModel("optimized", 100, 1.0, 2.5, 1.0, 1.0, "test")
    applied, updates = envoy_timeline([(1.0, 100), (2.0, 100), (3.0, 100), (4.0, 100)], model)
    # THEN the first is applied at 3.5; the second and third wait and go together (newest:
    # the third, handed over by 3.5) until 6.0; the fourth follows at 8.5
    assert applied == pytest.approx([3.5, 6.0, 6.0, 8.5])
    assert updates == pytest.approx([2.5, 2.5, 2.5])


def test_a_faster_push_keeps_latency_flat() -> None:
    arrivals = poisson_stream(60, 600, 1, {"add": 1.0})
    slow = CostModel("baseline", 20000, 60.0, 4.0, 2.0, 1.0, "t")
    fast = CostModel("optimized", 20000, 2.0, 4.0, 1.0, 1.0, "t")
    kwargs = {"shape": "per-host", "rate_per_min": 60.0, "duration_s": 600.0, "seed": 1}
    slow_r = simulate(arrivals, 20000, slow, **kwargs).summary()  # type: ignore[arg-type]
    fast_r = simulate(arrivals, 20000, fast, **kwargs).summary()  # type: ignore[arg-type]
    assert slow_r["p99_s"] > 100  # minutes: every change waits for a 60 s push, then its own
    assert fast_r["p99_s"] < 15  # its push, then at most two Envoy updates of 4 s
    assert slow_r["pushes"] < fast_r["pushes"]


def _live_document(tmp_path: Path) -> Path:
    return live_churn_file(
        tmp_path / "churn.json",
        (
            "optimized",
            ChangeRecord(0, "add", "a/b", 1.0, 0, 1.5, 2.5),
            PushRecord(0, 1, 1.1, 1.5, 1.3, 4000, 10, 10),
            (0.5, 0.75, 2.0),
        ),
    )


def test_a_cost_model_is_read_from_a_live_run(tmp_path: Path) -> None:
    model = load_model(_live_document(tmp_path), "optimized", "per-host")
    assert (model.ingresses, model.push_s, model.update_s) == (4000, 1.5, 0.75)
    assert model.push_seconds(8000) == pytest.approx(3.0)
    with pytest.raises(InputError, match="no live baseline result"):
        load_model(_live_document(tmp_path), "baseline", "per-host")


def test_a_file_that_is_no_cost_source_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="neither a churn document"):
        load_model(path, "optimized", "per-host")
    path.write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        load_model(path, "optimized", "per-host")


def test_a_cost_model_is_read_from_a_results_file(tmp_path: Path) -> None:
    # GIVEN a results file whose ingress_update baseline scales as N^2, with per-host Envoy
    # activation records
    from report_data import results

    from gwbench.results import write_results

    envoy = ({"shape": "per-host", "ingresses": 200, "activation_s": 0.4},)
    path = write_results(results(ingresses=200, envoy=envoy), tmp_path / "results.json")
    # WHEN the baseline's cost model is read
    model = load_model(path, "baseline", "per-host")
    # THEN it is the median at the largest N, the fitted exponent and the Envoy update time
    assert model.ingresses == 200
    assert model.push_exponent == pytest.approx(2.0, abs=0.1)
    assert model.update_s == pytest.approx(0.4)
    assert len(model.push_spread) == 9
    # AND without Envoy records the update time must be given
    bare = write_results(results(ingresses=200), tmp_path / "bare.json")
    with pytest.raises(InputError, match="--update-s"):
        load_model(bare, "baseline", "per-host")
    assert load_model(bare, "optimized", "per-host", 1.5).update_s == 1.5
    with pytest.raises(InputError, match="no ingress_update timing for incremental"):
        load_model(bare, "incremental", "per-host", 1.5)
