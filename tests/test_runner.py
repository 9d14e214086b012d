"""The run machinery: plan and budget, equivalence, worker protocol, profiles, and a run
that is interrupted or has no py-spy. Uses the toy hot paths of fake_hotpaths.py."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_fakes

from gwbench.errors import EquivalenceError, InputError
from gwbench.harness import equivalence, plan, profile, registry, runner
from gwbench.harness.progress import NullProgress
from gwbench.harness.sources import SourceSpec, WorkloadProvider, sample
from gwbench.harness.subprocesses import ProcessGroup
from gwbench.harness.worker import PROFILE_CALL_FRAME, WorkerSpec, _parser
from gwbench.results import load_results
from gwbench.workloads.model import Workload, WorkloadSpec

DEFAULT = plan.MODES["default"]
QUICK = plan.MODES["quick"]
# a mode for tests: the fewest values pyperf may take, short values
TINY = dataclasses.replace(
    QUICK, values=3, warmups=0, min_time=0.002, profile_seconds=0.5, memory_seconds=5.0
)


@pytest.fixture()
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    harness_fakes.install(monkeypatch)


# ---------------------------------------------------------------- plan and budget


def test_default_and_quick_sweeps() -> None:
    assert plan.sweep_sizes(20000, DEFAULT) == (1250, 2500, 5000, 20000)
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


def test_allocation_keeps_cheap_benchmarks_ideal_and_cuts_slow_ones() -> None:
    # GIVEN three fast benchmarks and one baseline at 8 s per call
    benches = [plan.BenchEstimate(0.001, 0.5)] * 3 + [plan.BenchEstimate(8.0, 2.0)]
    ideal_total = sum(
        plan.estimate_seconds(plan.ideal_settings(b, DEFAULT), b, 1.0) for b in benches
    )
    # WHEN the budget is a third of the ideal cost
    got = plan.allocate(benches, ideal_total / 3, DEFAULT, 1.0)
    # THEN the fast ones keep the mode's settings, the slow one is reduced but keeps 3 values
    assert all(s == plan.ideal_settings(benches[0], DEFAULT) for s in got[:3])
    assert got[3].reduced and got[3].total_values >= plan.MIN_VALUES
    assert got[3].total_values < plan.ideal_settings(benches[3], DEFAULT).total_values
    spent = sum(plan.estimate_seconds(s, b, 1.0) for s, b in zip(got, benches, strict=True))
    assert spent <= ideal_total / 3 + 1e-6


def test_a_slow_call_gets_no_warmup_and_a_bounded_number_of_values() -> None:
    # GIVEN a baseline at 23 s per call and a budget large enough for anything
    slow = plan.BenchEstimate(23.0, 2.0)
    (got,) = plan.allocate([slow], 10_000.0, DEFAULT, 1.0)
    # THEN it gets no warmup and no more values than fit the per-benchmark limit
    assert got.warmups == 0 and got.reduced
    assert plan.estimate_seconds(got, slow, 1.0) <= DEFAULT.max_benchmark_seconds
    assert got.total_values >= plan.MIN_VALUES
    # and at 60 s per call it is the floor: 3 values, although that overruns the limit
    (floor,) = plan.allocate([plan.BenchEstimate(60.0, 2.0)], 10_000.0, DEFAULT, 1.0)
    assert (floor.processes, floor.values, floor.warmups) == (1, 3, 0)
    # rigorous keeps pyperf's warmup
    assert plan.ideal_settings(slow, plan.MODES["rigorous"]).warmups == 1


def test_allocation_never_goes_below_three_values() -> None:
    benches = [plan.BenchEstimate(30.0, 5.0), plan.BenchEstimate(0.5, 0.1)]
    for s in plan.allocate(benches, 1.0, DEFAULT, 1.0):
        assert s.total_values >= plan.MIN_VALUES
        assert s.processes == 1 and s.warmups == 0 and s.loops == 1


def test_a_floor_that_overruns_the_budget_is_measured_and_its_costliest_benchmark_named() -> None:
    benches = [plan.BenchEstimate(0.01, 0.5), plan.BenchEstimate(30.0, 5.0)]
    costs = plan.floor_costs(benches, DEFAULT, 1.0)
    # 3 values of 30 s, its set-up and two start-ups
    assert costs[1] == pytest.approx(1.0 + 1.0 + 5.0 + 90.0)
    fast, slow = plan.BenchmarkKey("h", "optimized", 10), plan.BenchmarkKey("h", "baseline", 10)
    floors = {fast: costs[0], slow: costs[1]}
    assert plan.floor_shortfall(floors, sum(costs)) is None
    short = plan.floor_shortfall(floors, sum(costs) - 1.0)
    assert short is not None and short.costliest == slow
    assert short.floor_seconds == pytest.approx(sum(costs))
    assert short.costliest_seconds == pytest.approx(costs[1])
    assert plan.floor_shortfall({}, 0.0) is None
    assert plan.format_duration(44.6) == "45 s"
    assert plan.format_duration(800.0) == "13 min 20 s"
    assert plan.format_duration(1080.0) == "18 min"


def test_timing_goes_costliest_hot_path_first_and_n_first_within_it() -> None:
    # GIVEN plan order (hot path, size ascending, implementation) and floor costs where
    # the second hot path costs most
    def key(hp: str, impl: str, size: int) -> plan.BenchmarkKey:
        return plan.BenchmarkKey(hp, impl, size)

    floors = {
        key("cheap", "baseline", 10): 1.0,
        key("cheap", "optimized", 10): 1.0,
        key("cheap", "baseline", 40): 3.0,
        key("cheap", "optimized", 40): 1.0,
        key("dear", "baseline", 10): 2.0,
        key("dear", "optimized", 10): 1.0,
        key("dear", "baseline", 40): 90.0,
        key("dear", "optimized", 40): 2.0,
    }
    # WHEN ordered for timing THEN the dear hot path goes first, each hot path N first,
    # its baseline beside its twin
    assert [(k.hotpath, k.implementation, k.size) for k in plan.timing_order(floors)] == [
        ("dear", "baseline", 40),
        ("dear", "optimized", 40),
        ("dear", "baseline", 10),
        ("dear", "optimized", 10),
        ("cheap", "baseline", 40),
        ("cheap", "optimized", 40),
        ("cheap", "baseline", 10),
        ("cheap", "optimized", 10),
    ]


def test_estimates_follow_how_much_slower_benchmarks_actually_ran() -> None:
    run = object.__new__(runner._Run)
    run.cost_ratios = []
    assert run.slowdown() == 1.0
    run.cost_ratios = [2.0, 2.2, 1.8]
    assert run.slowdown() == pytest.approx(2.0)
    run.cost_ratios = [40.0]
    assert run.slowdown() == 5.0
    run.cost_ratios = [0.01]
    assert run.slowdown() == 0.5


def test_loops_reach_the_minimum_time_per_value() -> None:
    assert plan.loops_for(1e-4, DEFAULT) == 1000
    assert plan.loops_for(2.0, DEFAULT) == 1
    assert plan.ideal_settings(plan.BenchEstimate(1e-4, 0), plan.MODES["rigorous"]).processes == 40


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
    args, rest = _parser().parse_known_args([*spec.argv(), "--processes", "2", "-o", "x.json"])
    assert (args.hotpath, args.implementation, args.size, args.seed) == (
        "gateway_lookup",
        "optimized",
        5000,
        3,
    )
    assert args.workload_pickle == "/w.pickle"
    assert rest == ["--processes", "2", "-o", "x.json"]
    # pyperf's --profile must not be taken for --profile-loop
    args, rest = _parser().parse_known_args([*spec.argv(), "--profile", "p.out"])
    assert args.profile_loop is None and rest == ["--profile", "p.out"]


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
    # GIVEN a run whose second benchmark is interrupted by Ctrl-C
    calls: list[str] = []
    real_time_one = runner._Run.time_one

    def time_one(self: runner._Run, key: plan.BenchmarkKey, *a: object) -> object:
        calls.append(key.label)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_time_one(self, key, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(runner._Run, "time_one", time_one)
    config = _config(tmp_path / "out", (20, 40))
    # WHEN it runs
    with pytest.raises(runner.RunInterrupted) as info:
        runner.execute(config, WorkloadProvider(config.source))
    # THEN results.json loads, is partial, keeps the finished benchmark and the counters
    res = load_results(info.value.path)
    assert res.run.status == "partial" and "interrupted" in (res.run.reason or "")
    impls = res.hotpaths[0].implementations
    timed = [(i.name, p.size) for i in impls for p in i.points if p.timing is not None]
    assert timed == [("baseline", 40)]  # N is timed first
    untimed = impls[0].point(20)
    assert untimed is not None and untimed.timing is None
    assert untimed.counters["comparisons"] == 210
    first = impls[0].point(40)
    assert first is not None and first.timing is not None and first.timing.n_values >= 3
    assert (info.value.path.parent / str(first.timing.pyperf_json)).exists()
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
    # each size is checked in a worker, which pickles the inputs for the others
    assert sorted(c[c.index("--ingresses") + 1] for c in checks) == ["30", "60"]
    assert len(workers) == 6 and all("--inputs" in c for c in workers)
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
    assert hp.equivalence_sizes == (30, 60)


def _slow_seconds() -> float:
    """``fake_slow``'s baseline call (the module is imported by the ``fakes`` fixture)."""
    seconds: float = sys.modules[harness_fakes.MODULE].SLOW_SECONDS
    return seconds


def _record_workers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float, float]]:
    """Record (kind, start, end) of every child process the run starts."""
    events: list[tuple[str, float, float]] = []
    real_run = ProcessGroup.run

    def run(self: ProcessGroup, cmd: list[str], **kw: object) -> int:
        t0 = time.monotonic()
        try:
            return real_run(self, cmd, **kw)  # type: ignore[arg-type]
        finally:
            kind = (
                "check"
                if "--check" in cmd
                else "profile"
                if "--profile-loop" in cmd
                else "memory"
                if "--memory" in cmd
                else "time"
                if "--output" in cmd
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
    # THEN every profile and memory worker ended before the first benchmark was timed
    side = [e for e in events if e[0] in ("profile", "memory")]
    timed = [e for e in events if e[0] == "time"]
    assert len(side) == 4 and len(timed) == 4
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


def test_a_call_as_long_as_the_profile_time_is_profiled_whole_from_the_check(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a hot path whose baseline call outlasts the profile time (its twin is fast)
    if profile.find_py_spy() is None:
        pytest.fail("py-spy is a dependency of gwbench and must be installed for the tests")
    config = _slow_baseline_config(tmp_path)
    events = _record_workers(monkeypatch)
    # WHEN it runs
    outcome = runner.execute(config, WorkloadProvider(config.source))
    # THEN the baseline's profile is its one whole call in the check at N, the fast twin
    # gets a profile worker of its own, and the check at N ran under py-spy
    hp = load_results(outcome.path).hotpaths[0]
    base, opt = hp.implementations
    assert base.profile is not None and base.profile.source == "check"
    assert base.profile.calls == 1
    assert base.profile.size == 40 and base.profile.folded_stacks is not None
    folded = (outcome.path.parent / base.profile.folded_stacks).read_text()
    assert "spin (" in folded and PROFILE_CALL_FRAME not in folded and "equivalence" not in folded
    # one call of 0.4 s at 100 Hz, not a repeated loop
    assert 0.5 * _slow_seconds() <= base.profile.seconds <= 1.5
    assert opt.profile is not None and opt.profile.source == "loop"
    assert (
        opt.profile.samples > 0
        and "spin (" not in (outcome.path.parent / str(opt.profile.folded_stacks)).read_text()
    )
    assert [e[0] for e in events].count("profile") == 1


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
    assert re.search(r"\(fake_slow/baseline N=(20|40) alone about \d+ s\)", warning)
    assert outcome.warnings == (warning,)
    ((said_at, text),) = progress.notes
    assert text == f"gwbench: warning: {warning}"
    timed = [e for e in events if e[0] == "time"]
    assert len(timed) == 4 and said_at <= min(start for _, start, _ in timed)
    # AND it still timed everything, each with the floor's 3 values
    res = load_results(outcome.path)
    assert res.run.status == "complete" and res.run.wall_seconds > 1.0
    timings = [p.timing for i in res.hotpaths[0].implementations for p in i.points]
    assert len(timings) == 4 and all(t is not None and t.n_values == 3 for t in timings)


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


def test_a_worker_starts_without_the_kubernetes_models() -> None:
    # GIVEN what every benchmark worker imports at start (the registry of all hot paths)
    # WHEN a fresh interpreter imports it THEN the kubernetes client and cryptography,
    # needed only where inputs are built from a workload, are not among the modules:
    # a pyperf manager and its worker each start once per benchmark
    script = (
        "import sys; from harness.worker import probe; probe(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'cryptography'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_worker_builds_inputs_from_a_workload_or_from_pickled_inputs(
    fakes: None, tmp_path: Path
) -> None:
    import pickle

    from gwbench.harness.worker import Subject

    wl = harness_fakes.fake_workload(WorkloadSpec(ingresses=25, seed=3))
    (tmp_path / "w.pickle").write_bytes(pickle.dumps(wl))
    (tmp_path / "i.pickle").write_bytes(pickle.dumps(["x", "y"]))
    from_workload = Subject(
        WorkerSpec("fake_search", "baseline", 25, workload_pickle=str(tmp_path / "w.pickle"))
    )
    assert from_workload.inputs() == [f"ing-3-{i}" for i in range(25)]
    assert from_workload.time_calls(3) > 0.0
    generated = Subject(WorkerSpec("fake_search", "optimized", 7, seed=5))
    assert generated.inputs() == [f"ing-5-{i}" for i in range(7)]
    pickled = Subject(
        WorkerSpec(
            "fake_pickled",
            "optimized",
            2,
            workload_pickle="/nonexistent",
            inputs_pickle=str(tmp_path / "i.pickle"),
        )
    )
    special = sys.modules["fake_hotpaths"].SPECIALIZED
    special.clear()
    assert pickled.inputs() == ["x", "y"]
    assert special == ["optimized"]  # specialized once, for its own implementation
    pickled.inputs()
    assert special == ["optimized"]
    assert pickled.fresh_argument() == ["x", "y"]
    assert pickled.fresh_argument() is not pickled.inputs()  # prepare copies


def test_py_spy_that_cannot_attach_is_recorded(
    fakes: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _py_spy_that_cannot_attach(tmp_path, monkeypatch)
    spec = WorkerSpec("fake_search", "baseline", 10)
    prof = profile.record_profile(
        spec,
        profile.ArtefactPaths(tmp_path, "profiles/x"),
        seconds=0.1,
        procs=ProcessGroup(),
        log=tmp_path / "log.txt",
        timeout=30,
        label="x",
    )
    assert prof.flamegraph_svg is None
    assert prof.missing_reason is not None and "ptrace" in prof.missing_reason
    monkeypatch.setenv(profile.PY_SPY_ENV, "")
    assert profile.find_py_spy() is None
