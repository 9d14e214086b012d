"""The run machinery: plan and budget, the measurement kernel shared with the gate,
paired timing, equivalence, worker protocol, profiles, and runs that are interrupted,
have no py-spy or a crashing implementation. Uses the toy hot paths of
fake_hotpaths.py."""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import os
import pickle
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_fakes

from gwbench import verdicts
from gwbench.errors import EquivalenceError, InputError
from gwbench.harness import (
    equivalence,
    kernel,
    paired,
    plan,
    profile,
    registry,
    runner,
    timing,
    worker,
)
from gwbench.harness.gate import driver
from gwbench.harness.gate.sides import SideRunner
from gwbench.harness.progress import NullProgress
from gwbench.harness.registry import HotPath, Implementation
from gwbench.harness.sources import SourceSpec, WorkloadProvider, sample
from gwbench.harness.subprocesses import ProcessGroup
from gwbench.harness.worker import CheckExtras, WorkerSpec, _parser
from gwbench.results import load_results
from gwbench.workloads.counters import NullCounters
from gwbench.workloads.model import Workload, WorkloadSpec

DEFAULT = plan.MODES["default"]
QUICK = plan.MODES["quick"]
# a mode for tests: 3 rounds of 2 values, short values
TINY = dataclasses.replace(
    QUICK, rounds=3, values=2, warmups=0, min_time=0.002, profile_seconds=0.5, memory_seconds=5.0
)


@pytest.fixture()
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    harness_fakes.install(monkeypatch)


# ---------------------------------------------------------------- plan and budget


def test_default_and_quick_sweeps() -> None:
    assert plan.sweep_sizes(20000, DEFAULT) == (1250, 5000, 20000)
    assert plan.sweep_sizes(20000, QUICK) == (2500, 5000, 20000)
    assert plan.sweep_sizes(20000, plan.MODES["rigorous"]) == (1250, 2500, 5000, 10000, 20000)
    assert plan.sweep_sizes(3, DEFAULT) == (1, 3)
    with pytest.raises(InputError):
        plan.sweep_sizes(0, DEFAULT)


def test_sizes_option() -> None:
    assert plan.parse_sizes("100, 1_000,500", 2000) == (100, 500, 1000, 2000)
    for bad in ("10,abc", "0", "-5", "5000"):
        with pytest.raises(InputError) as info:
            plan.parse_sizes(bad, 2000)
        assert info.value.field == "--sizes"


def _group(*calls: float, setup: float = 0.5, check: bool = False) -> plan.GroupCost:
    """A group; with ``check``, the checks' calls count as values when all last 1 s."""
    counted = check and min(calls) >= plan.CHECK_VALUE_SECONDS
    impls = tuple(plan.ImplCost(f"i{k}", c, counted) for k, c in enumerate(calls))
    return plan.GroupCost("h", 10, setup, impls)


def test_the_plan_leaves_an_implementation_out_above_its_size_limit() -> None:
    # GIVEN a hot path whose third implementation runs only up to N=20
    def impl(name: str, max_size: int | None = None) -> Implementation:
        return Implementation(name, "optimized", lambda x, c: x, "t", max_size)

    hp = HotPath(
        name="limited",
        title="t",
        models="t",
        make_inputs=lambda w: w,
        implementations=(
            Implementation("baseline", "baseline", lambda x, c: x, "t"),
            impl("optimized"),
            impl("quadratic", 20),
        ),
        compare=lambda a, b: None,
        counters=(),
    )
    # WHEN the plan sweeps 10, 20 and 40
    p = plan.Plan((hp,), (10, 20, 40), QUICK)
    # THEN `quadratic` has benchmarks at 10 and 20 only, no profile (taken at N) and one
    # memory measurement; the progress bar counts exactly that
    assert [(k.implementation, k.size) for k in p.benchmarks() if k.size == 40] == [
        ("baseline", 40),
        ("optimized", 40),
    ]
    assert [name for _, name in p.implementations(40)] == ["baseline", "optimized"]
    assert [name for _, name in p.implementations()] == ["baseline", "optimized", "quadratic"]
    checks, benchmarks, profiles, memory = 3, 3 + 3 + 2, 2, 3
    assert p.total_steps() == checks + benchmarks + profiles + memory


def test_allocation_keeps_cheap_groups_ideal_and_cuts_slow_ones() -> None:
    # GIVEN three fast groups and one whose baseline takes 8 s a call
    groups = [_group(0.001, 0.001, setup=0.0)] * 3 + [_group(8.0, 0.5, setup=2.0)]
    ideal = [plan.settings_for(g, math.inf, DEFAULT, 0.1) for g in groups]
    cost = [plan.estimate_seconds(s, g, 0.1) for s, g in zip(ideal, groups, strict=True)]
    floor = plan.estimate_seconds(plan.floor_settings(groups[3], DEFAULT), groups[3], 0.1)
    # WHEN the budget leaves the slow group half way between its floor and its ideal
    budget = sum(cost[:3]) + (floor + cost[3]) / 2
    got = plan.allocate(groups, budget, DEFAULT, 0.1)
    # THEN the fast ones keep the mode's settings, the slow one is cut but keeps 3 values
    assert got[:3] == ideal[:3] and got[0].rounds == DEFAULT.rounds and not got[0].reduced
    assert got[3].reduced and got[3] != ideal[3]
    assert all(got[3].total_values(i) >= plan.MIN_VALUES for i in groups[3].impls)
    spent = sum(plan.estimate_seconds(s, g, 0.1) for s, g in zip(got, groups, strict=True))
    assert spent <= budget + 1e-6


def test_a_slow_call_gets_no_warmup_one_value_per_round_and_a_bounded_cost() -> None:
    # GIVEN a baseline at 23 s a call beside a fast twin, and budget for anything
    slow = _group(23.0, 0.01, setup=2.0)
    (got,) = plan.allocate([slow], 10_000.0, DEFAULT, 1.0)
    # THEN both take one value per round (as many values each, for pyperf compare_to),
    # the baseline without warmup, the twin with its own warmup and loops
    base, twin = got.impls["i0"], got.impls["i1"]
    assert (base.values, base.warmups, base.loops) == (1, 0, 1)
    assert twin.values == 1 and twin.warmups == DEFAULT.warmups
    assert twin.loops == plan.loops_for(0.01, DEFAULT)
    assert plan.estimate_seconds(got, slow, 1.0) <= 2 * DEFAULT.max_benchmark_seconds
    assert got.total_values(slow.impls[0]) >= plan.MIN_VALUES
    # and at 120 s a call it is the floor: 3 rounds, although that overruns the limit
    (floor,) = plan.allocate([_group(120.0, 0.01)], 10_000.0, DEFAULT, 1.0)
    assert floor.rounds == plan.MIN_VALUES and floor.reduced


def test_the_floor_is_three_rounds_or_two_when_every_check_call_counts() -> None:
    # GIVEN a 30 s baseline and a quick twin: the checks' calls do not all count
    group = _group(30.0, 0.2, check=True)
    floor = plan.floor_settings(group, DEFAULT)
    # THEN the floor is 3 rounds of one value each
    assert floor.rounds == plan.MIN_ROUNDS == 3
    assert [floor.total_values(i) for i in group.impls] == [3, 3]
    # AND when every implementation's check call counts, the check is the third round
    both = _group(30.0, 2.0, check=True)
    floor = plan.floor_settings(both, DEFAULT)
    assert floor.rounds == 2 and [floor.total_values(i) for i in both.impls] == [3, 3]


def test_allocation_never_goes_below_three_values() -> None:
    groups = [_group(30.0, 5.0, setup=5.0), _group(0.5, 0.1)]
    for g, s in zip(groups, plan.allocate(groups, 1.0, DEFAULT, 1.0), strict=True):
        assert all(s.total_values(i) >= plan.MIN_VALUES for i in g.impls)


def test_a_floor_that_overruns_the_budget_is_measured_and_its_costliest_group_named() -> None:
    floors = {"h N=10": 3.0, "h N=40": 90.0}
    assert plan.floor_shortfall(floors, 93.0) is None
    short = plan.floor_shortfall(floors, 92.0)
    assert short is not None and short.costliest == "h N=40"
    assert short.floor_seconds == pytest.approx(93.0)
    assert short.costliest_seconds == pytest.approx(90.0)
    assert plan.floor_shortfall({}, 0.0) is None
    assert plan.format_duration(44.6) == "45 s"
    assert plan.format_duration(800.0) == "13 min 20 s"
    assert plan.format_duration(1080.0) == "18 min"


def test_loops_reach_the_minimum_time_per_value() -> None:
    assert plan.loops_for(1e-4, DEFAULT) == 1000
    assert plan.loops_for(2.0, DEFAULT) == 1


# ---------------------------------------------------------------- paired timing


def test_a_round_interleaves_implementations_abba_and_spreads_uneven_counts() -> None:
    # GIVEN two implementations with two values each THEN A B B A, and B A A B next round
    assert paired.value_order(0, {"a": 2, "b": 2}) == ["a", "b", "b", "a"]
    assert paired.value_order(1, {"a": 2, "b": 2}) == ["b", "a", "a", "b"]
    # AND a slow baseline with one value sits between its twin's three
    order = paired.value_order(0, {"base": 1, "twin": 3})
    assert order.count("twin") == 3 and order[0] == "twin" and order[-1] == "twin"
    assert paired.value_order(0, {"a": 1, "b": 1, "c": 1}) == ["a", "b", "c"]


def test_the_paired_speedup_comes_from_the_rounds_and_gets_a_verdict() -> None:
    thresholds = verdicts.Thresholds(no_change=0.05, fail=0.10)
    # GIVEN rounds where the twin is twice as fast, the whole machine drifting between them
    drift = [1.0, 1.5, 0.8, 2.0, 1.2, 1.1]
    rounds = [([0.2 * d, 0.2 * d], [0.1 * d, 0.1 * d]) for d in drift]
    sp = paired.speedup(rounds, thresholds, seed=1)
    # THEN the drift cancels: exactly 2x with a tight interval, "faster"
    assert sp is not None and sp.ratio == pytest.approx(2.0)
    assert sp.low == pytest.approx(2.0) and sp.high == pytest.approx(2.0)
    assert sp.verdict == "faster" and len(sp.log_ratios) == len(drift)
    # AND identical timings are "no change", a slower twin "slower"
    same = paired.speedup([([1.0], [1.0 + 0.001 * k]) for k in range(5)], thresholds, seed=1)
    assert same is not None and same.verdict == "no change"
    slow = paired.speedup([([1.0], [1.5 + 0.01 * k]) for k in range(5)], thresholds, seed=1)
    assert slow is not None and slow.verdict == "slower" and slow.ratio < 1.0
    # AND noise too large to tell is "inconclusive"
    noisy = paired.speedup([([1.0], [t]) for t in (0.5, 1.6, 0.9, 1.4, 0.7)], thresholds, 1)
    assert noisy is not None and noisy.verdict == "inconclusive"
    assert paired.speedup([([], [])], thresholds, seed=1) is None


def test_pyperf_compare_to_reads_the_two_implementations_as_one_benchmark(
    tmp_path: Path,
) -> None:
    # GIVEN the pyperf files of a baseline and its twin at one N
    base, twin = tmp_path / "baseline-N10.json", tmp_path / "optimized-N10.json"
    timing.write_pyperf(base, "h N=10", [[2.0, 2.1], [2.05, 2.02]], 1, 2.2, {})
    timing.write_pyperf(twin, "h N=10", [[1.0, 1.01], [1.02, 1.0]], 1, 1.03, {})
    # WHEN pyperf compares them THEN it names the speedup
    out = subprocess.run(
        [sys.executable, "-m", "pyperf", "compare_to", str(base), str(twin)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"\[baseline-N10\] .* -> \[optimized-N10\] .*: [\d.]+x faster", out), out
    import pyperf

    bench = pyperf.Benchmark.load(str(twin))
    assert bench.get_values() == (1.03, 1.0, 1.01, 1.02, 1.0)


# ---------------------------------------------------------------- one kernel

FREEZE_COUNTS: list[int] = []


def _probe(names: list[str], counters: Any) -> int:
    FREEZE_COUNTS.append(gc.get_freeze_count())
    return len(names)


def _probe_hotpath() -> HotPath:
    return HotPath(
        name="kernel_probe",
        title="records the frozen heap inside each call",
        models="nothing real",
        make_inputs=lambda wl: [str(i.metadata.name) for i in wl.ingresses],
        implementations=(
            Implementation("baseline", "baseline", _probe, "tests.test_runner"),
            Implementation("optimized", "optimized", _probe, "tests.test_runner"),
        ),
        compare=lambda expected, actual: None,
        counters=(),
    )


def test_run_and_gate_time_through_the_same_kernel_with_the_heap_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a hot path that records gc.get_freeze_count() inside every call, registered
    # where both the run's worker and the gate's side driver find it
    monkeypatch.setitem(registry._REGISTRY, "kernel_probe", _probe_hotpath())
    monkeypatch.setattr(driver, "PREFIX", "gwbench.")
    timed: list[str] = []
    real_time = kernel.Subject.time

    def spy(self: kernel.Subject, loops: int) -> tuple[float, float]:
        timed.append(self.impl.name)
        return real_time(self, loops)

    monkeypatch.setattr(kernel.Subject, "time", spy)
    entry = {"hotpath": "kernel_probe", "size": 12, "loops": 3, "warmups": 1}
    plan_ = [{**entry, "implementation": "baseline"}, {**entry, "implementation": "optimized"}]
    wl = harness_fakes.fake_workload(WorkloadSpec(ingresses=12))
    (tmp_path / "w.pickle").write_bytes(pickle.dumps(wl))
    servers = {
        "run": worker.server(worker.ServeRequest(plan_, {12: str(tmp_path / "w.pickle")}, {})),
        "gate": driver.server({"plan": plan_, "seed": 1, "custom_domain_share": None}),
    }
    try:
        for name, server in servers.items():
            gc.unfreeze()
            FREEZE_COUNTS.clear()
            timed.clear()
            # WHEN each times both implementations, interleaved
            assert server.answer("setup 0") == "ok" and server.answer("setup 1") == "ok"
            FREEZE_COUNTS.clear()
            for line in ("value 0", "value 1", "value 1", "value 0"):
                wall, cpu = (float(x) for x in str(server.answer(line)).split())
                assert wall > 0.0 and cpu >= 0.0
            # THEN each went through the kernel's timed call, and the set-up heap was
            # frozen in every timed call
            assert timed == ["baseline", "optimized", "optimized", "baseline"], name
            assert len(FREEZE_COUNTS) == 4 * 3 and min(FREEZE_COUNTS) > 0, name
            assert server.answer("quit") is None
    finally:
        gc.unfreeze()


def test_the_gate_ships_the_kernel_beside_its_driver_and_the_driver_times_with_it(
    tmp_path: Path,
) -> None:
    # GIVEN the gate's copies of the driver and the kernel
    sides = SideRunner(tmp_path / "sides")
    copied = tmp_path / "sides" / driver.KERNEL_FILE
    assert copied.read_bytes() == Path(kernel.__file__).read_bytes()
    # WHEN the copied driver runs as a script in a side's worktree (this checkout)
    root = Path(kernel.__file__).resolve().parent.parent
    request = {"protocol": driver.PROTOCOL, "action": "describe", "root": str(root)}
    (tmp_path / "req.json").write_text(json.dumps(request))
    subprocess.run(
        [sys.executable, str(sides.driver), str(tmp_path / "req.json"), str(tmp_path / "a.json")],
        env={**os.environ, "PYTHONPATH": str(root)},
        cwd=root,
        check=True,
    )
    # THEN it answered with the kernel copied beside it
    answer = json.loads((tmp_path / "a.json").read_text())
    assert answer["ok"] and answer["kernel_file"] == str(copied)


# ---------------------------------------------------------------- equivalence


def test_equivalence_check_passes_and_records_counters(fakes: None) -> None:
    wl = harness_fakes.fake_workload(WorkloadSpec(ingresses=50))
    check = equivalence.check(registry.get("fake_search"), wl)
    assert check.ok and check.size == 50
    by_name = {o.implementation: o for o in check.outcomes}
    assert by_name["baseline"].counters["comparisons"] == 50 * 51 // 2
    assert by_name["optimized"].counters == {"dict_builds": 1, "lookups": 50}
    check.raise_for_mismatch()


def test_equivalence_check_specializes_the_inputs_for_each_implementation(
    fakes: None,
) -> None:
    special = sys.modules["fake_hotpaths"].SPECIALIZED
    special.clear()
    wl = harness_fakes.fake_workload(WorkloadSpec(ingresses=5))
    check = equivalence.check(registry.get("fake_pickled"), wl)
    assert check.ok and sorted(special) == ["baseline", "optimized"]
    assert all(o.specialize_seconds >= 0.0 for o in check.outcomes)


def test_equivalence_mismatch_names_hot_path_both_implementations_and_difference(
    fakes: None,
) -> None:
    wl = harness_fakes.fake_workload(WorkloadSpec(ingresses=10))
    check = equivalence.check(registry.get("fake_broken"), wl)
    assert not check.ok
    with pytest.raises(EquivalenceError) as info:
        check.raise_for_mismatch()
    msg = str(info.value)
    assert "fake_broken" in msg and "baseline" in msg and "optimized" in msg
    assert "name #2 resolves to position 1 instead of 2" in msg and "N=10" in msg
    assert info.value.exit_code == 1


# ---------------------------------------------------------------- sources


def _names(workload: Workload) -> list[str]:
    return [str(i.metadata.name) if i.metadata else "" for i in workload.ingresses]


def test_subsets_of_user_ingresses_are_seeded_nested_and_ordered() -> None:
    full = harness_fakes.fake_workload(WorkloadSpec(ingresses=100))
    small, mid = sample(full, 10, 7), sample(full, 40, 7)
    names = _names(full)
    small_names = _names(small)
    assert set(small_names) <= set(_names(mid))
    assert small_names == sorted(small_names, key=names.index)
    assert small_names == _names(sample(full, 10, 7))
    assert small_names != _names(sample(full, 10, 8))
    assert sample(full, 100, 7) is full


# ---------------------------------------------------------------- worker protocol


def test_worker_spec_round_trips_through_its_command_line(tmp_path: Path) -> None:
    spec = WorkerSpec("gateway_lookup", "optimized", 5000, seed=3, workload_pickle="/w.pickle")
    extras = CheckExtras(2.0, "/m", 60.0)
    args = _parser().parse_args([*spec.argv(), "--check", "/c.pickle", *extras.argv()])
    assert (args.hotpath, args.implementation, args.size, args.seed) == (
        "gateway_lookup",
        "optimized",
        5000,
        3,
    )
    assert args.workload_pickle == "/w.pickle" and args.check == "/c.pickle"
    assert CheckExtras(args.profile_after, args.memory_dir, args.memory_seconds) == extras


def test_memory_size_falls_back_to_the_largest_size_that_fits() -> None:
    assert profile.choose_memory_size([10, 20, 40], [1.0, 2.0, 4.0], 5.0) == (40, None)
    size, note = profile.choose_memory_size([10, 20, 40], [1.0, 2.0, 400.0], 5.0)
    assert size == 20 and note is not None and "N=40" in note and "N=20" in note
    assert profile.choose_memory_size([10, 20], [9.0, 99.0], 5.0)[0] == 10


# ---------------------------------------------------------------- whole runs


def _config(
    out: Path, sizes: tuple[int, ...], hotpath: str = "fake_search", **kw: bool
) -> runner.RunConfig:
    return runner.RunConfig(
        plan=plan.Plan(
            hotpaths=(registry.get(hotpath),),
            sizes=sizes,
            mode=TINY,
            profile=kw.get("profile", True),
            memory=kw.get("memory", False),
        ),
        source=SourceSpec(),
        out_dir=out,
        budget_seconds=60.0,
    )


def test_an_interrupted_run_leaves_loadable_partial_results(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a run interrupted by Ctrl-C in its second hot path's first round
    calls: list[str] = []
    real_round = timing.run_round

    def run_round(*a: Any, **kw: Any) -> timing.RoundResult:
        calls.append(kw["hotpath"])
        if kw["hotpath"] == "fake_pickled":
            raise KeyboardInterrupt
        return real_round(*a, **kw)

    monkeypatch.setattr(timing, "run_round", run_round)
    config = _config(tmp_path / "out", (20, 40))
    config = dataclasses.replace(
        config,
        plan=dataclasses.replace(
            config.plan, hotpaths=(registry.get("fake_search"), registry.get("fake_pickled"))
        ),
    )
    # WHEN it runs
    with pytest.raises(runner.RunInterrupted) as info:
        runner.execute(config, WorkloadProvider(config.source))
    # THEN results.json loads, is partial, keeps the finished hot path and the counters
    res = load_results(info.value.path)
    assert res.run.status == "partial" and "interrupted" in (res.run.reason or "")
    assert calls == ["fake_search"] * TINY.rounds + ["fake_pickled"]
    done, cut = res.hotpaths
    for impl in done.implementations:
        for p in impl.points:
            assert p.timing is not None and p.timing.n_values == TINY.rounds * TINY.values
            assert (info.value.path.parent / str(p.timing.pyperf_json)).exists()
    assert done.speedup("optimized", 40) is not None
    untimed = cut.implementations[0].point(20)
    assert untimed is not None and untimed.timing is None
    assert untimed.counters["comparisons"] == 210
    assert not (tmp_path / "out" / ".cache").exists()


def test_a_run_without_py_spy_succeeds_and_says_why_profiles_are_missing(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no py-spy, and a hot path whose workers load pickled inputs
    monkeypatch.setattr(profile, "find_py_spy", lambda: None)
    config = _config(tmp_path / "out", (30, 60), "fake_pickled", memory=True)
    commands: list[list[str]] = []
    real_run = ProcessGroup.run

    def run(self: ProcessGroup, cmd: list[str], **kw: object) -> int:
        commands.append(list(cmd))
        return real_run(self, cmd, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ProcessGroup, "run", run)
    # WHEN it runs THEN it completes, and each profile says why it is missing
    outcome = runner.execute(config, WorkloadProvider(config.source))
    checks = [c for c in commands if "--check" in c]
    workers = [c for c in commands if "--hotpath" in c and "--check" not in c]
    # each size is checked in a worker, which pickles the inputs for the others; the one
    # at N measures memory too, so no worker of its own does
    assert sorted(c[c.index("--ingresses") + 1] for c in checks) == ["30", "60"]
    assert [c[c.index("--ingresses") + 1] for c in checks if "--memory-dir" in c] == ["60"]
    assert workers == []
    res = load_results(outcome.path)
    assert res.run.status == "complete" and res.run.reason is None
    hp = res.hotpaths[0]
    for impl in hp.implementations:
        assert impl.profile is not None and impl.profile.flamegraph_svg is None
        assert "py-spy not found" in (impl.profile.missing_reason or "")
        assert all(p.timing is not None and p.timing.n_values >= 3 for p in impl.points)
        assert impl.memory is not None and impl.memory.peak_memory_bytes
        assert impl.memory.total_allocations and impl.memory.size == 60
    base = hp.implementation("baseline")
    assert base is not None
    comparisons = base.fit("counter:comparisons")
    assert comparisons is not None and comparisons.exponent is not None
    assert 1.8 < comparisons.exponent < 2.1  # n(n+1)/2 comparisons
    speedup = hp.speedup("optimized", 60)
    assert speedup is not None and speedup.ci_low <= speedup.ratio <= speedup.ci_high
    assert len(speedup.log_ratios) == TINY.rounds and speedup.verdict in verdicts.VERDICTS
    assert speedup.thresholds == runner.verdict_thresholds("fake_pickled")
    assert hp.equivalence_sizes == (30, 60)


def _slow_seconds() -> float:
    """``fake_slow``'s baseline call (the module is imported by the ``fakes`` fixture)."""
    seconds: float = sys.modules[harness_fakes.MODULE].SLOW_SECONDS
    return seconds


def _record_workers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float, float]]:
    """Record (kind, start, end) of every child process the run starts (a timing round:
    when it started)."""
    events: list[tuple[str, float, float]] = []
    real_run = ProcessGroup.run
    real_start = ProcessGroup.start

    def start(self: ProcessGroup, cmd: list[str], **kw: Any) -> Any:
        now = time.monotonic()
        events.append(("time", now, now))
        return real_start(self, cmd, **kw)

    monkeypatch.setattr(ProcessGroup, "start", start)

    def run(self: ProcessGroup, cmd: list[str], **kw: object) -> int:
        t0 = time.monotonic()
        try:
            return real_run(self, cmd, **kw)  # type: ignore[arg-type]
        finally:
            kind = (
                ("profiled check" if "py-spy" in " ".join(cmd) else "check")
                if "--check" in cmd
                else "memory"
                if "--memory" in cmd
                else "other"
            )
            events.append((kind, t0, time.monotonic()))

    monkeypatch.setattr(ProcessGroup, "run", run)
    return events


def test_profiles_and_memory_finish_before_timing_and_memory_falls_back_to_a_smaller_size(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a memory budget that no memray run fits
    config = _config(tmp_path / "out", (30, 60), "fake_pickled", memory=True)
    tight = dataclasses.replace(config.plan.mode, memory_seconds=0.0)
    config = dataclasses.replace(config, plan=dataclasses.replace(config.plan, mode=tight))
    events = _record_workers(monkeypatch)
    # WHEN it runs
    outcome = runner.execute(config, WorkloadProvider(config.source))
    # THEN every memory worker ended before the first benchmark was timed
    side = [e for e in events if e[0] == "memory"]
    timed = [e for e in events if e[0] == "time"]
    assert len(side) == 2 and len(timed) == TINY.rounds
    assert max(end for _, _, end in side) <= min(start for _, start, _ in timed)
    # AND memory was measured at the smallest size, saying why
    res = load_results(outcome.path)
    assert res.run.status == "complete"
    for impl in res.hotpaths[0].implementations:
        assert impl.memory is not None and impl.memory.size == 30
        assert impl.memory.peak_memory_bytes and "measured at N=30" in (impl.memory.note or "")
        assert impl.profile is not None and impl.profile.size == 60


def _slow_baseline_config(tmp_path: Path) -> runner.RunConfig:
    """``fake_slow`` at 20 and 40 names, its baseline call twice the py-spy time."""
    config = _config(tmp_path / "out", (20, 40), "fake_slow")
    short = dataclasses.replace(config.plan.mode, profile_seconds=_slow_seconds() / 2)
    return dataclasses.replace(config, plan=dataclasses.replace(config.plan, mode=short))


def _py_spy_that_cannot_attach(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``$GWBENCH_PY_SPY``: a py-spy that fails as one without ptrace permission does."""
    fake = tmp_path / "py-spy"
    fake.write_text(
        "#!/bin/sh\necho 'Error: Failed to attach: Operation not permitted (os error 1)' >&2\n"
        "exit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(profile.PY_SPY_ENV, str(fake))


def test_a_long_call_is_profiled_for_the_profile_time_and_its_check_counts_as_a_value(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a hot path whose baseline call outlasts the profile time (its twin is fast),
    # and every check call long enough to count as a timing value
    if profile.find_py_spy() is None:
        pytest.fail("py-spy is a dependency of gwbench and must be installed for the tests")
    monkeypatch.setattr(plan, "CHECK_VALUE_SECONDS", 0.0)
    config = _slow_baseline_config(tmp_path)
    events = _record_workers(monkeypatch)
    # WHEN it runs
    outcome = runner.execute(config, WorkloadProvider(config.source))
    # THEN the check worker at N ran under py-spy, and no profile worker of its own
    hp = load_results(outcome.path).hotpaths[0]
    base, opt = hp.implementations
    kinds = [e[0] for e in events]
    assert kinds.count("profiled check") == 1 and kinds.count("check") == 1
    # AND the slow baseline's profile is its whole check call, under its own frames only
    assert base.profile is not None and base.profile.source == "check"
    assert base.profile.size == 40 and base.profile.folded_stacks is not None
    folded = (outcome.path.parent / base.profile.folded_stacks).read_text()
    assert "spin (" in folded and "equivalence" not in folded
    assert 0.5 * _slow_seconds() <= base.profile.seconds <= _slow_seconds() + 0.5
    # AND the fast twin was called again up to the profile time, its samples its own
    assert opt.profile is not None and opt.profile.source == "check"
    assert 0.5 * config.plan.mode.profile_seconds <= opt.profile.seconds
    assert opt.profile.folded_stacks is not None
    assert "spin (" not in (outcome.path.parent / opt.profile.folded_stacks).read_text()
    # AND each check call is its benchmark's first value, and results.json says so; the
    # check pairs as a round of the speedup
    for impl in (base, opt):
        for p in impl.points:
            assert p.timing is not None and p.timing.check_value
            assert p.timing.values[0] == pytest.approx(p.call_seconds)
            assert p.timing.n_values == 1 + TINY.rounds * TINY.values
    sp = hp.speedup("optimized", 40)
    assert sp is not None and len(sp.log_ratios) == 1 + TINY.rounds
    assert sp.log_ratios[0] == pytest.approx(
        math.log(opt.points[-1].call_seconds / base.points[-1].call_seconds)
    )


def test_a_run_whose_py_spy_cannot_attach_still_checks_and_says_why(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a py-spy that cannot attach (no ptrace permission)
    _py_spy_that_cannot_attach(tmp_path, monkeypatch)
    config = _slow_baseline_config(tmp_path)
    # WHEN it runs
    outcome = runner.execute(config, WorkloadProvider(config.source))
    # THEN the checks ran anyway (without py-spy), everything is timed, and every
    # profile says why it is missing
    res = load_results(outcome.path)
    assert res.run.status == "complete"
    hp = res.hotpaths[0]
    assert hp.equivalence_sizes == (20, 40)
    for impl in hp.implementations:
        assert all(p.timing is not None for p in impl.points)
        assert impl.profile is not None and impl.profile.flamegraph_svg is None
        assert "ptrace" in (impl.profile.missing_reason or "")


class _Notes(NullProgress):
    """Records each note and when it was given."""

    def __init__(self) -> None:
        self.notes: list[tuple[float, str]] = []

    def note(self, text: str) -> None:
        self.notes.append((time.monotonic(), text))


def test_a_run_that_cannot_keep_its_budget_says_so_before_timing_and_keeps_three_values(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a 1 s budget, which the checks alone use up, and a baseline busy 0.4 s a call
    config = dataclasses.replace(
        _config(tmp_path / "out", (20, 40), "fake_slow", profile=False), budget_seconds=1.0
    )
    events = _record_workers(monkeypatch)
    progress = _Notes()
    # WHEN it runs
    outcome = runner.execute(config, WorkloadProvider(config.source), progress)
    # THEN it said so once, before the first benchmark was timed, naming the costliest one
    (warning,) = load_results(outcome.path).run.warnings
    assert "time budget of 1 s cannot be kept" in warning
    # (the baseline is busy 0.4 s a call at either size; its twin is quick)
    assert re.search(r"\(fake_slow N=(20|40) alone about \d+ s\)", warning)
    assert outcome.warnings == (warning,)
    ((said_at, text),) = progress.notes
    assert text == f"gwbench: warning: {warning}"
    timed = [e for e in events if e[0] == "time"]
    assert len(timed) == plan.MIN_VALUES and said_at <= min(start for _, start, _ in timed)
    # AND it still timed everything, each with the floor's 3 rounds of one value
    res = load_results(outcome.path)
    assert res.run.status == "complete" and res.run.wall_seconds > 1.0
    timings = [p.timing for i in res.hotpaths[0].implementations for p in i.points]
    assert len(timings) == 4 and all(t is not None and t.n_values == 3 for t in timings)
    assert all(t is not None and t.reduced for t in timings)


def test_a_crashing_benchmark_worker_is_recorded_and_the_run_goes_on(
    fakes: None, tmp_path: Path
) -> None:
    config = _config(tmp_path / "out", (20,), "fake_flaky", profile=False)
    outcome = runner.execute(config, WorkloadProvider(config.source))
    res = load_results(outcome.path)
    assert res.run.status == "partial"
    assert "1 benchmark(s) failed" in str(res.run.reason)
    base, opt = res.hotpaths[0].implementations
    assert base.points[0].timing is not None
    assert opt.points[0].timing is None
    assert "crash in a benchmark worker" in str(opt.points[0].error)
    assert outcome.failures and "fake_flaky/optimized N=20" in outcome.failures[0]
    assert res.hotpaths[0].speedup("optimized", 20) is None


def test_a_worker_starts_without_the_kubernetes_models() -> None:
    # GIVEN what every benchmark worker imports at start (the registry of all hot paths)
    # WHEN a fresh interpreter imports it THEN the kubernetes client and cryptography,
    # needed only where inputs are built from a workload, are not among the modules:
    # a timing worker starts once per round
    script = (
        "import sys; from gwbench.harness.worker import probe; probe(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'cryptography'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_worker_builds_inputs_from_a_workload_or_from_pickled_inputs(
    fakes: None, tmp_path: Path
) -> None:
    wl = harness_fakes.fake_workload(WorkloadSpec(ingresses=25, seed=3))
    (tmp_path / "w.pickle").write_bytes(pickle.dumps(wl))
    (tmp_path / "i.pickle").write_bytes(pickle.dumps(["x", "y"]))
    try:
        from_workload = worker.subject(
            WorkerSpec("fake_search", "baseline", 25, workload_pickle=str(tmp_path / "w.pickle"))
        )
        assert from_workload.inputs == [f"ing-3-{i}" for i in range(25)]
        assert from_workload.time(3)[0] > 0.0
        assert isinstance(from_workload.counters, NullCounters)
        generated = worker.subject(WorkerSpec("fake_search", "optimized", 7, seed=5))
        assert generated.inputs == [f"ing-5-{i}" for i in range(7)]
        special = sys.modules["fake_hotpaths"].SPECIALIZED
        special.clear()
        pickled = worker.subject(
            WorkerSpec(
                "fake_pickled",
                "optimized",
                2,
                workload_pickle="/nonexistent",
                inputs_pickle=str(tmp_path / "i.pickle"),
            )
        )
        assert pickled.inputs == ["x", "y"]
        assert special == ["optimized"]  # specialized once, for its own implementation
        assert pickled.argument() == ["x", "y"]
        assert pickled.argument() is not pickled.inputs  # prepare copies
    finally:
        gc.unfreeze()


def test_py_spy_that_cannot_attach_is_recorded(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _py_spy_that_cannot_attach(tmp_path, monkeypatch)
    spec = WorkerSpec("fake_search", "baseline", 10)
    log = tmp_path / "log.txt"
    sampled = profile.run_sampled(spec.command(), tmp_path / "raw", ProcessGroup(), log, {})
    assert sampled.stacks is None and sampled.reason is not None and "ptrace" in sampled.reason
    prof = profile.implementation_profile(
        sampled.stacks, sampled.reason, "baseline", profile.ArtefactPaths(tmp_path, "x"), "x", 10
    )
    assert prof.flamegraph_svg is None and prof.missing_reason == sampled.reason
    monkeypatch.setenv(profile.PY_SPY_ENV, "")
    assert profile.find_py_spy() is None
