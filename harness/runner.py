"""Orchestration of ``gwbench run``: checks (with the profiles and memory at N), then
memory that did not fit, then paired timing alone on the machine.

1. Build the workload of every size and pickle it for the workers.
2. Checks, in a pool of :data:`SIDE_WORKERS` processes, N first
   (``python -m gwbench.harness.worker --check``: every implementation once, equivalence
   with the baseline, deterministic counters, one duration that calibrates the budget; a
   mismatch stops the run before anything is timed). At N the worker runs under py-spy
   and, with the inputs it built, calls each implementation again up to the mode's profile
   seconds and measures under memray each one that fits the mode's limit
   (:mod:`harness.profile`).
3. Memory of the others, alone, at the largest size that fits, in the same small pool.
4. Timing: the budget is allocated once (:func:`harness.plan.allocate`), then hot path by
   hot path, paired rounds (:mod:`harness.timing`): each round a fresh worker that times
   every implementation at each size interleaved, through the measurement kernel. The
   speedups and their intervals come from the rounds' paired log-ratios
   (:mod:`harness.paired`). pyperf's JSON is kept under ``pyperf/``.
5. Optionally the real-Envoy measurement.

``results.json`` is rewritten atomically after every step, marked partial until the end.
Ctrl-C kills the live worker process groups, writes what finished (partial, with the
reason) and raises :class:`RunInterrupted`; one Ctrl-C is enough.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import json
import pickle
import resource
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from gwbench import stats
from gwbench.errors import GwbenchError, HarnessError
from gwbench.harness import environment, equivalence, paired, plan, profile, timing
from gwbench.harness.gate import thresholds as gate_thresholds
from gwbench.harness.progress import NullProgress, Progress
from gwbench.harness.registry import HotPath
from gwbench.harness.sources import SourceSpec, WorkloadProvider
from gwbench.harness.subprocesses import (
    ProcessGroup,
    WorkerFailed,
    worker_environment,
    worker_error,
)
from gwbench.harness.worker import CheckExtras, CheckReport, WorkerSpec
from gwbench.heap import paused_gc
from gwbench.results import (
    SCHEMA_VERSION,
    ChurnRun,
    Environment,
    HotPathResult,
    ImplementationResult,
    Memory,
    ModelCheck,
    Point,
    Profile,
    Results,
    RunInfo,
    Shard,
    Speedup,
    Timing,
    WorkloadInfo,
    write_results,
)
from gwbench.scaling import point_fits
from gwbench.verdicts import Thresholds

SIDE_WORKERS = 2
"""Check, profile and memory workers run two at a time (one per core here)."""
RESULTS_FILE = "results.json"
CHURN_RATE_PER_MIN = 60.0
CHURN_DURATION_S = 60.0
"""``--churn``: a stream of 60 changes a minute for 60 s (30 s with --quick) at the run's N,
each control plane on a fresh Envoy over its istiod transport (docs/churn.md)."""
_T = TypeVar("_T")


@dataclass(frozen=True)
class RunConfig:
    plan: plan.Plan
    source: SourceSpec
    out_dir: Path
    budget_seconds: float
    envoy: bool = False
    envoy_sizes: tuple[int, ...] = ()
    """``--envoy-sizes``: measure Envoy (and its model) at these generated sizes instead of
    the run's own workload at N; two or more give the model check its exponents."""
    churn: bool = False
    command_line: tuple[str, ...] = ()
    shard: Shard | None = None


@dataclass(frozen=True)
class RunOutcome:
    results: Results
    path: Path
    failures: tuple[str, ...]
    """Benchmarks whose worker failed, and memory measurements that failed."""
    warnings: tuple[str, ...] = ()


class RunInterrupted(Exception):
    """Ctrl-C: ``results`` (partial) were written to ``path``."""

    def __init__(self, results: Results, path: Path) -> None:
        super().__init__(f"interrupted; partial results in {path}")
        self.results = results
        self.path = path


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def verdict_thresholds(hotpath: str) -> tuple[float, float]:
    """(no change band, regression) of ``hotpath`` from the checkout's
    ``ci/thresholds.toml`` (``time_warn``, ``time_fail``), else the defaults."""
    path = environment.source_root() / gate_thresholds.THRESHOLDS_PATH
    found = gate_thresholds.load(path) if path.is_file() else gate_thresholds.DEFAULTS
    fail, warn = found.time_limits(hotpath)
    return warn, fail


@dataclass
class _PointData:
    counters: dict[str, int]
    call_seconds: float
    make_inputs_seconds: float
    specialize_seconds: float
    timing: Timing | None = None
    error: str | None = None

    @property
    def check_value(self) -> bool:
        """The check's call is long enough to count as one timing value."""
        return self.call_seconds >= plan.CHECK_VALUE_SECONDS


class _State:
    """What has been measured so far; :meth:`snapshot` freezes it into :class:`Results`."""

    def __init__(self, config: RunConfig, env: Environment, workload: WorkloadInfo) -> None:
        self.config = config
        self.env = env
        self.workload = workload
        self.started_at = utc_now()
        self.t0 = time.monotonic()
        self.points: dict[plan.BenchmarkKey, _PointData] = {}
        self.equivalence_sizes: dict[str, list[int]] = {}
        self.profiles: dict[tuple[str, str], Profile] = {}
        self.memory: dict[tuple[str, str], Memory] = {}
        self.speedups: dict[plan.BenchmarkKey, Speedup] = {}
        self.envoy: tuple[dict[str, Any], ...] | None = None
        self.envoy_model: ModelCheck | None = None
        self.churn: tuple[ChurnRun, ...] | None = None
        self.finished = False
        self.reason: str | None = "in progress"
        self.warnings: list[str] = []
        self.phases: dict[str, float] = {}

    def record_check(self, check: equivalence.Check) -> None:
        for o in check.outcomes:
            key = plan.BenchmarkKey(check.hotpath, o.implementation, check.size)
            self.points[key] = _PointData(
                o.counters, o.seconds, check.inputs_seconds, o.specialize_seconds
            )
        if check.ok:
            self.equivalence_sizes.setdefault(check.hotpath, []).append(check.size)

    def snapshot(self) -> Results:
        cfg = self.config
        hotpaths: list[HotPathResult] = []
        for hp in cfg.plan.hotpaths:
            impls: list[ImplementationResult] = []
            speedups: list[Speedup] = []
            for impl in hp.implementations:
                points: list[Point] = []
                for size in cfg.plan.sizes:
                    key = plan.BenchmarkKey(hp.name, impl.name, size)
                    data = self.points.get(key)
                    if data is None:
                        continue
                    points.append(
                        Point(
                            size=size,
                            counters=dict(data.counters),
                            call_seconds=data.call_seconds,
                            inputs_seconds=data.make_inputs_seconds + data.specialize_seconds,
                            timing=data.timing,
                            error=data.error,
                        )
                    )
                    if key in self.speedups:
                        speedups.append(self.speedups[key])
                impls.append(
                    ImplementationResult(
                        name=impl.name,
                        kind=impl.kind,
                        module=impl.module,
                        points=tuple(points),
                        profile=self.profiles.get((hp.name, impl.name)),
                        memory=self.memory.get((hp.name, impl.name)),
                        scaling=point_fits(points) if points else (),
                        max_size=impl.max_size,
                    )
                )
            hotpaths.append(
                HotPathResult(
                    name=hp.name,
                    title=hp.title,
                    models=hp.models,
                    counters=tuple(hp.counters),
                    equivalence_sizes=tuple(sorted(self.equivalence_sizes.get(hp.name, []))),
                    implementations=tuple(impls),
                    speedups=tuple(speedups),
                )
            )
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        run = RunInfo(
            mode=cfg.plan.mode.name,
            status="complete" if self.finished and self.reason is None else "partial",
            reason=self.reason,
            started_at=self.started_at,
            finished_at=utc_now() if self.finished else None,
            wall_seconds=round(time.monotonic() - self.t0, 3),
            budget_seconds=cfg.budget_seconds,
            profile=cfg.plan.profile,
            memory=cfg.plan.memory,
            envoy=cfg.envoy,
            hotpaths=tuple(hp.name for hp in cfg.plan.hotpaths),
            peak_rss_bytes=own or None,
            children_peak_rss_bytes=children or None,
            warnings=tuple(self.warnings),
            shard=cfg.shard,
            phase_seconds={k: round(v, 3) for k, v in self.phases.items()},
            churn=cfg.churn,
        )
        return Results(
            schema_version=SCHEMA_VERSION,
            gwbench_version=environment.gwbench_version(),
            environment=self.env,
            workload=self.workload,
            run=run,
            hotpaths=tuple(hotpaths),
            envoy=self.envoy,
            churn=self.churn,
            envoy_model=self.envoy_model,
        )


def in_pool(
    jobs: Iterable[Callable[[], _T]], on_done: Callable[[_T], None], procs: ProcessGroup
) -> None:
    """Run ``jobs`` (each driving one child process) :data:`SIDE_WORKERS` at a time;
    ``on_done`` sees each result in this thread, as it comes. An exception (a job's, or
    ``on_done``'s, Ctrl-C) ends the run: it closes ``procs`` (kills the live children, and
    a job about to start one cannot), drops the waiting jobs and propagates."""
    pool = concurrent.futures.ThreadPoolExecutor(SIDE_WORKERS, thread_name_prefix="gwbench")
    try:
        pending = {pool.submit(job) for job in jobs}
        while pending:
            done, pending = concurrent.futures.wait(
                pending, timeout=0.5, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for fut in done:
                on_done(fut.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        procs.close()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class _CheckDone:
    """A check worker's results: the check, and at N the profiles and memory it took."""

    hotpath: HotPath
    size: int
    report: CheckReport
    profiles: dict[str, Profile]
    memory: dict[str, Memory]


@dataclass(frozen=True)
class _Group:
    """One hot path at one size, with its allocated settings."""

    hotpath: HotPath
    size: int
    cost: plan.GroupCost
    settings: plan.GroupSettings

    @property
    def label(self) -> str:
        return f"{self.hotpath.name} N={self.size}"


class _Run:
    """One execution of a :class:`RunConfig`."""

    def __init__(self, config: RunConfig, provider: WorkloadProvider, progress: Progress) -> None:
        self.config = config
        self.plan = config.plan
        self.mode = config.plan.mode
        self.provider = provider
        self.progress = progress
        self.out = config.out_dir
        self.cache = config.out_dir / ".cache"
        self.logs = config.out_dir / "logs"
        self.procs = ProcessGroup()
        self.env = worker_environment()
        self.startup_seconds = 1.0
        self.load_seconds: dict[int, float] = {}
        self.inputs_load_seconds: dict[tuple[str, int], float] = {}
        self.failures: list[str] = []
        self.hotpaths = {hp.name: hp for hp in self.plan.hotpaths}
        workload = WorkloadInfo(
            source=provider.describe(),
            ingresses=self.plan.n,
            sizes=self.plan.sizes,
            seed=config.source.seed,
            custom_domain_share=(
                config.source.custom_domain_share if config.source.kind == "generated" else None
            ),
            domain=None,
            available_ingresses=provider.available(),
            sampling=provider.sampling(),
            warnings=provider.warnings(),
        )
        self.state = _State(config, environment.capture(config.command_line), workload)
        self.results_path = self.out / RESULTS_FILE

    # ---------------------------------------------------------------- helpers
    def write(self) -> Results:
        results = self.state.snapshot()
        write_results(results, self.results_path)
        return results

    def remaining(self) -> float:
        return self.config.budget_seconds - (time.monotonic() - self.state.t0)

    def warn(self, text: str) -> None:
        """A warning for the user now and for the results (``run.warnings``)."""
        self.state.warnings.append(text)
        self.progress.note(f"gwbench: warning: {text}")

    def workload_pickle(self, size: int) -> Path:
        return self.cache / f"workload-{size}.pickle"

    def inputs_pickle(self, hotpath: str, size: int) -> Path:
        return self.cache / f"inputs-{hotpath}-{size}.pickle"

    def spec(self, hotpath: str, impl: str, size: int) -> WorkerSpec:
        cached = (hotpath, size) in self.inputs_load_seconds
        return WorkerSpec(
            hotpath=hotpath,
            implementation=impl,
            size=size,
            seed=self.config.source.seed,
            workload_pickle=str(self.workload_pickle(size)),
            inputs_pickle=str(self.inputs_pickle(hotpath, size)) if cached else None,
        )

    def load_inputs_seconds(self, hotpath: str, size: int) -> float:
        """Estimated seconds for a worker to get ``hotpath``'s shared inputs at ``size``."""
        if (hotpath, size) in self.inputs_load_seconds:
            return self.inputs_load_seconds[(hotpath, size)]
        baseline = self.hotpaths[hotpath].baseline.name
        point = self.state.points[plan.BenchmarkKey(hotpath, baseline, size)]
        return self.load_seconds.get(size, 0.0) + point.make_inputs_seconds

    def setup_seconds(self, hotpath: str, impl: str, size: int) -> float:
        point = self.state.points[plan.BenchmarkKey(hotpath, impl, size)]
        return self.load_inputs_seconds(hotpath, size) + point.specialize_seconds

    # ---------------------------------------------------------------- checks
    def checks(self) -> None:
        """The equivalence checks (counters, calibration) of every hot path at every
        size, N first, in the pool; each size's workload is built and pickled first."""
        self.cache.mkdir(parents=True, exist_ok=True)
        for size in sorted(self.plan.sizes, reverse=True):
            self.progress.describe(f"workload: {size} Ingresses")
            workload = self.provider.at(size)
            if len(workload.ingresses) != size:
                raise HarnessError(
                    f"asked for {size} Ingresses, the workload holds {len(workload.ingresses)}"
                )
            if self.state.workload.domain is None:
                self.state.workload = dataclasses.replace(
                    self.state.workload, domain=workload.domain
                )
            with paused_gc():
                data = pickle.dumps(workload, protocol=pickle.HIGHEST_PROTOCOL)
                del workload
                self.workload_pickle(size).write_bytes(data)
                t0 = time.perf_counter()
                pickle.loads(data)
                self.load_seconds[size] = time.perf_counter() - t0
                del data
        jobs = [
            (hp, size)
            for size in sorted(self.plan.sizes, reverse=True)
            for hp in self.plan.hotpaths
        ]
        self.progress.describe(f"checks: {len(jobs)} hot path(s) x size(s)")
        in_pool(
            [functools.partial(self.check_job, hp, size) for hp, size in jobs],
            self.record_check,
            self.procs,
        )

    def check_job(self, hp: HotPath, size: int) -> _CheckDone:
        """The check of ``hp`` at ``size``; at N also its profiles (py-spy over the whole
        worker) and the memory of every implementation that fits (:class:`CheckExtras`)."""
        out = self.cache / f"check-{hp.name}-{size}.pickle"
        log = self.logs / f"check-{hp.name}-N{size}.log"
        spec = WorkerSpec(
            hotpath=hp.name,
            implementation=hp.baseline.name,
            size=size,
            seed=self.config.source.seed,
            workload_pickle=str(self.workload_pickle(size)),
        )
        at_n = size == self.plan.n
        memory_dir = self.cache / f"memory-{hp.name}"
        extras = CheckExtras(
            profile_seconds=self.mode.profile_seconds if at_n and self.plan.profile else 0.0,
            memory_dir=str(memory_dir) if at_n and self.plan.memory else None,
            memory_seconds=self.mode.memory_seconds,
        )
        inputs = self.inputs_pickle(hp.name, size)
        cmd = [*spec.command(), "--check", str(out), "--save-inputs", str(inputs)]
        cmd += extras.argv()
        if extras.memory_dir is not None:
            memory_dir.mkdir(parents=True, exist_ok=True)
        sampled: profile.Sampled | None = None
        rc: int | None
        if extras.profile_seconds:
            raw = self.cache / f"check-{hp.name}.raw.txt"
            sampled = profile.run_sampled(cmd, raw, self.procs, log, self.env)
            rc = sampled.rc
        if sampled is None or not out.exists():  # not profiled, or py-spy failed to start it
            rc = self.procs.run(cmd, log=log, env=self.env)
        if rc != 0 or not out.exists():
            where = log.relative_to(self.out)
            raise HarnessError(
                f"check {hp.name} N={size}: worker failed (exit {rc}): {worker_error(log)} "
                f"(see {where})"
            )
        report = CheckReport.load(str(out))
        out.unlink(missing_ok=True)
        profiles: dict[str, Profile] = {}
        memory: dict[str, Memory] = {}
        for impl in hp.implementations_at(size) if at_n else ():
            if sampled is not None:
                profiles[impl.name] = profile.implementation_profile(
                    sampled.stacks,
                    sampled.reason,
                    impl.name,
                    self.profile_paths(hp.name, impl.name),
                    self.profile_label(hp.name, impl.name),
                    size,
                )
            if extras.memory_dir is not None:
                json_file, capture = CheckExtras.memory_files(extras.memory_dir, impl.name)
                files = profile.MemoryFiles(Path(json_file), Path(capture))
                found = profile.read_memory(files, size, None)
                if found is not None:
                    memory[impl.name] = found
        return _CheckDone(hp, size, report, profiles, memory)

    def record_check(self, done: _CheckDone) -> None:
        """Record a check (and the profiles and memory taken with it); a mismatch stops
        the run (results written first)."""
        hp, size, report = done.hotpath, done.size, done.report
        if report.error is not None:
            raise HarnessError(report.error)
        check: equivalence.Check = report.check
        if report.inputs_load_seconds is not None:
            self.inputs_load_seconds[(hp.name, size)] = report.inputs_load_seconds
        if report.warning is not None:
            self.warn(f"{hp.name} N={size}: {report.warning}")
        self.state.record_check(check)
        for name, prof in done.profiles.items():
            self.state.profiles[(hp.name, name)] = prof
            self.progress.advance()
        for name, mem in done.memory.items():
            self.record_memory(hp.name, name, mem)
        self.write()
        check.raise_for_mismatch()
        self.progress.advance()

    def probe_startup(self) -> None:
        log = self.logs / "probe.log"
        t0 = time.perf_counter()
        rc = self.procs.run(
            [sys.executable, "-m", "gwbench.harness.worker", "--probe"],
            log=log,
            env=self.env,
            timeout=300,
        )
        if rc != 0:
            raise HarnessError(f"benchmark workers cannot start (exit {rc}): {worker_error(log)}")
        self.startup_seconds = time.perf_counter() - t0

    # ---------------------------------------------------------------- memory
    def side(self) -> None:
        """memray of every implementation the check worker at N did not measure (its call
        at N, slowed by memray, is over the mode's limit, or it does not run at N): alone,
        at the largest size that fits, in the pool."""
        if not self.plan.memory:
            return
        jobs: list[Callable[[], Callable[[], None]]] = []
        for hp in self.plan.hotpaths:
            for impl in hp.implementations:
                sizes = [s for s in self.plan.sizes if impl.runs_at(s)]
                if not sizes or (hp.name, impl.name) in self.state.memory:
                    continue
                ests = [self.memory_estimate(hp.name, impl.name, s) for s in sizes]
                at, note = profile.choose_memory_size(sizes, ests, self.mode.memory_seconds)
                if note is None and at < self.plan.n:
                    note = f"measured at N={at}: not run above N={impl.max_size} (max_size)"
                jobs.append(self.memory_job(hp.name, impl.name, at, note, ests[sizes.index(at)]))
        if jobs:
            self.progress.describe(f"memory: {len(jobs)} worker(s)")
        in_pool(jobs, lambda record: record(), self.procs)

    def memory_estimate(self, hotpath: str, impl: str, size: int) -> float:
        """Estimated seconds of one memray worker at ``size``."""
        return profile.memray_estimate(
            self.state.points[plan.BenchmarkKey(hotpath, impl, size)].call_seconds,
            self.setup_seconds(hotpath, impl, size),
            self.startup_seconds,
        )

    def measure_memory(
        self, hotpath: str, impl: str, size: int, note: str | None, est: float
    ) -> Memory:
        return profile.measure_memory(
            self.spec(hotpath, impl, size),
            work_dir=self.cache,
            procs=self.procs,
            log=self.logs / f"memory-{hotpath}-{impl}-N{size}.log",
            timeout=max(600.0, 10.0 * est),
            note=note,
        )

    def memory_job(
        self, hotpath: str, impl: str, size: int, note: str | None, est: float
    ) -> Callable[[], Callable[[], None]]:
        def job() -> Callable[[], None]:
            mem = self.measure_memory(hotpath, impl, size, note, est)

            def record() -> None:
                self.record_memory(hotpath, impl, mem)
                self.write()

            return record

        return job

    def record_memory(self, hotpath: str, impl: str, mem: Memory) -> None:
        if mem.missing_reason is not None:
            self.failures.append(f"memory {hotpath}/{impl}: {mem.missing_reason}")
        self.state.memory[(hotpath, impl)] = mem
        self.progress.advance()

    def profile_paths(self, hotpath: str, impl: str) -> profile.ArtefactPaths:
        return profile.ArtefactPaths(self.out, f"profiles/{hotpath}/{impl}-N{self.plan.n}")

    def profile_label(self, hotpath: str, impl: str) -> str:
        return f"{hotpath}/{impl} N={self.plan.n}"

    # ---------------------------------------------------------------- timing
    def groups(self) -> list[_Group]:
        """Every hot path at every size, N first, with settings allocated once for the
        budget that is left."""
        costs: list[tuple[HotPath, int, plan.GroupCost]] = []
        for hp in self.plan.hotpaths:
            for size in sorted(self.plan.sizes, reverse=True):
                at = hp.implementations_at(size)
                points = [self.state.points[plan.BenchmarkKey(hp.name, i.name, size)] for i in at]
                setup = self.load_inputs_seconds(hp.name, size) + sum(
                    p.specialize_seconds for p in points
                )
                counted = self.check_counts(hp, size)
                impls = tuple(
                    plan.ImplCost(i.name, p.call_seconds, counted)
                    for i, p in zip(at, points, strict=True)
                )
                costs.append((hp, size, plan.GroupCost(hp.name, size, setup, impls)))
        # a round's process serves every size of its hot path: its start is shared
        startup = self.startup_seconds / len(self.plan.sizes)
        settings = plan.allocate([c for *_, c in costs], self.remaining(), self.mode, startup)
        floors = {
            f"{hp.name} N={size}": plan.estimate_seconds(
                plan.floor_settings(cost, self.mode), cost, startup
            )
            for hp, size, cost in costs
        }
        self.warn_over_budget(floors)
        return [
            _Group(hp, size, cost, s) for (hp, size, cost), s in zip(costs, settings, strict=True)
        ]

    def check_counts(self, hp: HotPath, size: int) -> bool:
        """Whether the checks' calls at ``size`` count as timing values: every
        implementation's lasted :data:`plan.CHECK_VALUE_SECONDS` or more (warm-ups add
        nothing to such calls), so the check pairs as a round of its own."""
        return all(
            self.state.points[plan.BenchmarkKey(hp.name, i.name, size)].check_value
            for i in hp.implementations_at(size)
        )

    def warn_over_budget(self, floors: dict[str, float]) -> None:
        """Say so, before timing starts, when even the floor of every group cannot fit
        what is left of the budget (the run then goes over it rather than record fewer)."""
        left = self.remaining()
        short = plan.floor_shortfall(floors, left)
        if short is None:
            return
        spent = self.config.budget_seconds - left
        self.warn(
            f"the time budget of {plan.format_duration(self.config.budget_seconds)} cannot "
            f"be kept: {plan.format_duration(spent)} went before timing, and timing needs about "
            f"{plan.format_duration(short.floor_seconds)} more even at {plan.MIN_VALUES} values "
            f"per benchmark ({short.costliest} alone about "
            f"{plan.format_duration(short.costliest_seconds)}). Every benchmark still gets "
            f"{plan.MIN_VALUES} values, so the run takes longer; a smaller --ingresses or fewer "
            "--hotpath make it shorter."
        )

    def time_all(self) -> None:
        groups = self.groups()
        for hp in self.plan.hotpaths:
            self.time_hotpath(hp, [g for g in groups if g.hotpath is hp])

    def time_hotpath(self, hp: HotPath, groups: list[_Group]) -> None:
        """The paired rounds of ``hp``: round ``i`` is one fresh worker for every size
        whose settings give it more than ``i`` rounds. An implementation that raises is
        recorded as failed at that size and left out of the later rounds."""
        values: dict[tuple[str, int], list[list[float]]] = {}
        spent: dict[int, float] = {}
        errors: dict[tuple[str, int], str] = {}
        inputs = {
            f"{hp.name}/{g.size}": str(self.inputs_pickle(hp.name, g.size))
            for g in groups
            if (hp.name, g.size) in self.inputs_load_seconds
        }
        workloads = {g.size: str(self.workload_pickle(g.size)) for g in groups}
        rounds = max(g.settings.rounds for g in groups)
        for index in range(rounds):
            active = [g for g in groups if g.settings.rounds > index]
            self.progress.describe(f"time {hp.name}: round {index + 1}/{rounds}")
            plans = [self.round_plan(hp, g, errors) for g in active]
            log = self.logs / f"time-{hp.name}-round{index}.log"
            t0 = time.monotonic()
            try:
                got = timing.run_round(
                    self.procs,
                    index=index,
                    hotpath=hp.name,
                    groups=[p for p in plans if p.values],
                    workloads=workloads,
                    inputs=inputs,
                    request_path=self.cache / f"round-{hp.name}-{index}.json",
                    log=log,
                    env=self.env,
                )
            except WorkerFailed as exc:
                error = f"timing worker failed: {exc} (see {log.relative_to(self.out)})"
                for p in plans:
                    for name in p.values:
                        errors.setdefault((name, p.size), error)
                break
            for (name, size), why in got.failed.items():
                errors.setdefault((name, size), f"{why} (see {log.relative_to(self.out)})")
            for g in active:
                spent[g.size] = spent.get(g.size, 0.0) + time.monotonic() - t0
                for impl in hp.implementations_at(g.size):
                    values.setdefault((impl.name, g.size), []).append(
                        got.values.get((impl.name, g.size), [])
                    )
            self.record_rounds(hp, groups, values, spent, speedups=index == rounds - 1)
        for g in groups:
            for impl in hp.implementations_at(g.size):
                key = plan.BenchmarkKey(hp.name, impl.name, g.size)
                failed = errors.get((impl.name, g.size))
                if failed is not None:
                    point = self.state.points[key]
                    point.timing = None
                    point.error = failed
                    self.state.speedups.pop(key, None)
                    self.failures.append(f"{key.label}: {failed}")
                self.progress.advance()
        self.write()

    def round_plan(
        self, hp: HotPath, group: _Group, errors: dict[tuple[str, int], str]
    ) -> timing.GroupPlan:
        """What the next round asks of ``group``: every implementation that has not
        failed at its size."""
        impls = group.settings.impls
        names = [
            i.name for i in hp.implementations_at(group.size) if (i.name, group.size) not in errors
        ]
        calls = {
            n: self.state.points[plan.BenchmarkKey(hp.name, n, group.size)].call_seconds
            for n in names
        }
        return timing.GroupPlan(
            size=group.size,
            loops={n: impls[n].loops for n in names},
            warmups={n: impls[n].warmups for n in names},
            values={n: impls[n].values for n in names},
            call_seconds=calls,
        )

    def record_rounds(
        self,
        hp: HotPath,
        groups: list[_Group],
        values: dict[tuple[str, int], list[list[float]]],
        spent: dict[int, float],
        *,
        speedups: bool,
    ) -> None:
        """Timings and pyperf files of ``hp`` from the rounds so far; with ``speedups``
        (after the last round), the paired speedups too."""
        warn, fail = verdict_thresholds(hp.name)
        thresholds = Thresholds(no_change=warn, fail=fail)
        for g in groups:
            for impl in hp.implementations_at(g.size):
                key = plan.BenchmarkKey(hp.name, impl.name, g.size)
                point = self.state.points[key]
                rounds = values.get((impl.name, g.size), [])
                settings = g.settings.impls[impl.name]
                check = point.call_seconds if self.check_counts(hp, g.size) else None
                flat = ([check] if check is not None else []) + [v for r in rounds for v in r]
                if len(flat) < plan.MIN_VALUES:
                    continue
                rel = f"pyperf/{hp.name}/{impl.name}-N{g.size}.json"
                timing.write_pyperf(
                    self.out / rel,
                    f"{hp.name} N={g.size}",
                    rounds,
                    settings.loops,
                    check,
                    {"gwbench_hotpath": hp.name, "gwbench_implementation": impl.name},
                )
                point.timing = Timing.of(
                    flat,
                    processes=sum(1 for r in rounds if r),
                    values_per_process=settings.values,
                    warmups=settings.warmups,
                    loops=settings.loops,
                    reduced=g.settings.reduced,
                    pyperf_json=rel,
                    wall_seconds=round(spent.get(g.size, 0.0), 3),
                    check_value=check is not None,
                )
                if impl.kind == "baseline" or not speedups:
                    continue
                pairs = list(zip(values.get((hp.baseline.name, g.size), []), rounds, strict=False))
                base_point = self.state.points[plan.BenchmarkKey(hp.name, hp.baseline.name, g.size)]
                if check is not None:
                    # the check: one call of each, in one process, heap frozen (plan.floor_rounds)
                    pairs.insert(0, ([base_point.call_seconds], [point.call_seconds]))
                seed = stats.stable_seed(self.state.workload.seed, hp.name, impl.name, g.size)
                sp = paired.speedup(pairs, thresholds, seed)
                if sp is not None:
                    self.state.speedups[key] = Speedup(
                        implementation=impl.name,
                        baseline=hp.baseline.name,
                        size=g.size,
                        ratio=sp.ratio,
                        ci_low=sp.low,
                        ci_high=sp.high,
                        confidence=sp.confidence,
                        resamples=sp.resamples,
                        seed=sp.seed,
                        verdict=sp.verdict,
                        log_ratios=sp.log_ratios,
                        thresholds=(warn, fail),
                    )
        self.write()

    # ---------------------------------------------------------------- envoy
    def envoy(self) -> None:
        from gwbench.harness.envoy import measure, model_check

        self.progress.describe("real Envoy: domain activation")
        workload = None
        if not self.config.envoy_sizes:
            with open(self.workload_pickle(self.plan.n), "rb") as fh, paused_gc():
                workload = pickle.load(fh)
        records = measure.run_for_results(
            self.config.envoy_sizes or self.plan.n,
            seed=self.config.source.seed,
            workload=workload,
            quick=self.mode.name == "quick",
            out_dir=self.out / "envoy",
            model=True,
        )
        envoy_records = tuple(_as_record(r) for r in records)
        self.state.envoy = envoy_records
        self.state.envoy_model = model_check.compare(envoy_records)
        self.write()
        self.progress.advance()

    # ---------------------------------------------------------------- churn
    def churn(self) -> None:
        from gwbench.harness.churn import live, summary
        from gwbench.harness.churn.controlplane import IMPLEMENTATIONS
        from gwbench.harness.churn.stream import poisson_stream

        self.progress.describe("real Envoy: activation under a change stream")
        with open(self.workload_pickle(self.plan.n), "rb") as fh, paused_gc():
            workload = pickle.load(fh)
        duration = CHURN_DURATION_S / 2 if self.mode.name == "quick" else CHURN_DURATION_S
        seed = self.config.source.seed
        arrivals = poisson_stream(CHURN_RATE_PER_MIN, duration, seed)
        runs = []
        for impl in IMPLEMENTATIONS:
            options = live.LiveOptions(impl, CHURN_RATE_PER_MIN, duration, seed)
            runs.append(summary.results_record(live.run_live(workload, arrivals, options)))
            self.state.churn = tuple(runs)
            self.write()
        self.progress.advance()

    # ---------------------------------------------------------------- main
    def phase(self, name: str, run: Callable[[], None]) -> None:
        """Run one pass; its wall time goes to ``run.phase_seconds``."""
        t0 = time.monotonic()
        try:
            run()
        finally:
            self.state.phases[name] = time.monotonic() - t0

    def execute(self) -> RunOutcome:
        self.out.mkdir(parents=True, exist_ok=True)
        total = self.plan.total_steps() + (1 if self.config.envoy else 0)
        total += 1 if self.config.churn else 0
        self.progress.start(total)
        previous: Any = None
        try:
            self.write()
            self.probe_startup()
            self.phase("checks", self.checks)
            self.phase("memory", self.side)
            self.phase("timing", self.time_all)
            if self.config.envoy:
                self.phase("envoy", self.envoy)
            if self.config.churn:
                self.phase("churn", self.churn)
            self.state.finished = True
            timing_failures = [f for f in self.failures if not f.startswith("memory ")]
            self.state.reason = (
                f"{len(timing_failures)} benchmark(s) failed: {timing_failures[0]}"
                if timing_failures
                else None
            )
            results = self.write()
            return RunOutcome(
                results, self.results_path, tuple(self.failures), tuple(self.state.warnings)
            )
        except KeyboardInterrupt:
            previous = _ignore_sigint()
            self.procs.close()
            self.state.reason = "interrupted (Ctrl-C); finished benchmarks are kept"
            results = self.write()
            raise RunInterrupted(results, self.results_path) from None
        except GwbenchError as exc:
            previous = _ignore_sigint()
            self.procs.close()
            self.state.reason = f"stopped: {exc}"
            self.write()
            raise
        finally:
            self.procs.close()
            shutil.rmtree(self.cache, ignore_errors=True)
            self.progress.stop()
            _restore_sigint(previous)


def _ignore_sigint() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, signal.SIG_IGN)


def _restore_sigint(previous: Any) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, previous)


def _as_record(record: object) -> dict[str, Any]:
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        data: Any = dataclasses.asdict(record)
    elif isinstance(record, dict):
        data = dict(record)
    else:
        data = {"value": repr(record)}
    # keep only what JSON can hold
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


def execute(
    config: RunConfig, provider: WorkloadProvider, progress: Progress | None = None
) -> RunOutcome:
    """Run the plan; see the module docstring. Raises :class:`RunInterrupted` on Ctrl-C
    and :class:`~gwbench.errors.EquivalenceError` on a mismatch (results written)."""
    return _Run(config, provider, progress or NullProgress()).execute()


def default_output_dir(base: Path | None = None) -> Path:
    """``./gwbench-results/<timestamp>``, unique."""
    root = base or Path.cwd() / "gwbench-results"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / stamp
    k = 2
    while candidate.exists():
        candidate = root / f"{stamp}-{k}"
        k += 1
    return candidate
