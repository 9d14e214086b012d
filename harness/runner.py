"""Orchestration of ``gwbench run``: checks, profiles and memory on a side lane, then
timing alone.

1. Build the workload of every size and pickle it for the workers.
2. On the side lane (:mod:`harness.sidelane`), two workers at a time: the check of every
   hot path at every size, N first (``python -m harness.worker --check``: every
   implementation once, equivalence with the baseline, deterministic counters, one
   duration that calibrates the time budget; a mismatch stops the run), and as soon as a
   hot path's checks allow, its py-spy profiles at N and memray memory
   (:mod:`harness.profile`). py-spy samples the check at N itself, which gives each slow
   implementation's profile (one whole call); shorter calls get profile workers. The
   lane is drained before anything is timed.
3. Timing: each (hot path, implementation, N) in a fresh ``python -m harness.worker``
   process that drives pyperf, which spawns its own worker processes; the costliest hot
   path first, N first within each (:func:`harness.plan.timing_order`). Before each
   benchmark the remaining budget is shared out again over the remaining benchmarks
   (:mod:`harness.plan`); pyperf's JSON is kept under ``pyperf/``. Nothing else runs.
4. Optionally the real-Envoy measurement.

``results.json`` is rewritten atomically after every step, marked partial until the end.
Ctrl-C kills the live worker process groups, writes what finished (partial, with the
reason) and raises :class:`RunInterrupted`; one Ctrl-C is enough.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import math
import pickle
import resource
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from gwbench import stats
from gwbench.errors import GwbenchError, HarnessError, InputError
from gwbench.harness import environment, equivalence, plan, profile
from gwbench.harness.progress import NullProgress, Progress
from gwbench.harness.registry import HotPath
from gwbench.harness.sidelane import SideLane
from gwbench.harness.sources import SourceSpec, WorkloadProvider
from gwbench.harness.subprocesses import (
    ProcessGroup,
    ProcessTimeout,
    worker_environment,
    worker_error,
)
from gwbench.harness.worker import (
    CheckReport,
    WorkerSpec,
    paused_gc,
)
from gwbench.results import (
    SCHEMA_VERSION,
    Environment,
    HotPathResult,
    ImplementationResult,
    Memory,
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

SPEEDUP_CONFIDENCE = 0.95
SIDE_WORKERS = 2
"""Check, profile and memory workers run two at a time (one per core here)."""
RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class RunConfig:
    plan: plan.Plan
    source: SourceSpec
    out_dir: Path
    budget_seconds: float
    envoy: bool = False
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


@dataclass
class _PointData:
    counters: dict[str, int]
    call_seconds: float
    make_inputs_seconds: float
    specialize_seconds: float
    timing: Timing | None = None
    error: str | None = None


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
        self.finished = False
        self.reason: str | None = "in progress"
        self.warnings: list[str] = []

    # ---- recording
    def record_check(self, check: equivalence.Check) -> None:
        for o in check.outcomes:
            key = plan.BenchmarkKey(check.hotpath, o.implementation, check.size)
            self.points[key] = _PointData(
                o.counters, o.seconds, check.inputs_seconds, o.specialize_seconds
            )
        if check.ok:
            self.equivalence_sizes.setdefault(check.hotpath, []).append(check.size)

    def record_timing(
        self, key: plan.BenchmarkKey, timing: Timing | None, error: str | None
    ) -> None:
        point = self.points[key]
        point.timing = timing
        point.error = error

    # ---- derived
    def _speedup(self, hp: HotPath, key: plan.BenchmarkKey) -> Speedup | None:
        if key in self.speedups:
            return self.speedups[key]
        base_key = plan.BenchmarkKey(hp.name, hp.baseline.name, key.size)
        base, cand = self.points.get(base_key), self.points.get(key)
        if base is None or cand is None or base.timing is None or cand.timing is None:
            return None
        seed = stats.stable_seed(self.workload.seed, key.hotpath, key.implementation, key.size)
        try:
            ci = stats.bootstrap_ratio_of_medians(
                base.timing.values,
                cand.timing.values,
                confidence=SPEEDUP_CONFIDENCE,
                seed=seed,
            )
        except ValueError:
            return None
        sp = Speedup(
            implementation=key.implementation,
            baseline=hp.baseline.name,
            size=key.size,
            ratio=ci.estimate,
            ci_low=ci.low,
            ci_high=ci.high,
            confidence=ci.confidence,
            resamples=ci.resamples,
            seed=ci.seed,
        )
        self.speedups[key] = sp
        return sp

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
                    if impl.kind != "baseline":
                        sp = self._speedup(hp, key)
                        if sp is not None:
                            speedups.append(sp)
                impls.append(
                    ImplementationResult(
                        name=impl.name,
                        kind=impl.kind,
                        module=impl.module,
                        points=tuple(points),
                        profile=self.profiles.get((hp.name, impl.name)),
                        memory=self.memory.get((hp.name, impl.name)),
                        scaling=point_fits(points) if points else (),
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
        )
        return Results(
            schema_version=SCHEMA_VERSION,
            gwbench_version=environment.gwbench_version(),
            environment=self.env,
            workload=self.workload,
            run=run,
            hotpaths=tuple(hotpaths),
            envoy=self.envoy,
        )


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
        self.cost_ratios: list[float] = []
        self.hotpaths = {hp.name: hp for hp in self.plan.hotpaths}
        self.lock = threading.RLock()
        """Guards the state and results.json: the side lane's jobs record from threads."""
        self.side = SideLane(SIDE_WORKERS)
        self.memory_planned: set[tuple[str, str]] = set()
        self.checked_sizes: dict[str, set[int]] = {}
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
        with self.lock:
            results = self.state.snapshot()
            write_results(results, self.results_path)
            return results

    def remaining(self) -> float:
        return self.config.budget_seconds - (time.monotonic() - self.state.t0)

    def warn(self, text: str) -> None:
        """A warning for the user now and for the results (``run.warnings``)."""
        with self.lock:
            self.state.warnings.append(text)
        self.progress.note(f"gwbench: warning: {text}")

    def workload_pickle(self, size: int) -> Path:
        return self.cache / f"workload-{size}.pickle"

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

    def setup_seconds(self, hotpath: str, impl: str, size: int) -> float:
        """Estimated untimed set-up of one worker process: load the workload and build
        the inputs (or load the pickled inputs), then ``specialize``."""
        point = self.state.points[plan.BenchmarkKey(hotpath, impl, size)]
        if (hotpath, size) in self.inputs_load_seconds:
            load = self.inputs_load_seconds[(hotpath, size)]
        else:
            load = self.load_seconds.get(size, 0.0) + point.make_inputs_seconds
        return load + point.specialize_seconds

    def estimate(self, key: plan.BenchmarkKey) -> plan.BenchEstimate:
        point = self.state.points[key]
        return plan.BenchEstimate(
            point.call_seconds, self.setup_seconds(key.hotpath, key.implementation, key.size)
        )

    # ---------------------------------------------------------------- phases
    def checks(self) -> None:
        """Queue the equivalence checks (counters, calibration) of every hot path at every
        size, N first, as check workers on the side lane, two at a time; each size's
        workload is built and pickled here first. The lane queues the profile and memory
        workers as the checks allow (:meth:`schedule_side`); :meth:`drain_side` waits."""
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
            # N first; a smaller size's priority is a rough guess of its seconds
            priority = math.inf if size == self.plan.n else 100.0 * size / self.plan.n
            for hp in self.plan.hotpaths:
                self.side.submit(partial(self.check_job, hp, size), priority=priority)

    def check_job(self, hp: HotPath, size: int) -> None:
        """The check of ``hp`` at ``size`` in a worker (on the side lane). At N, with
        profiles on, py-spy samples the check (:meth:`profiles_from_check`)."""
        out = self.cache / f"check-{hp.name}-{size}.pickle"
        log = self.logs / f"check-{hp.name}-N{size}.log"
        spec = WorkerSpec(
            hotpath=hp.name,
            implementation=hp.baseline.name,
            size=size,
            seed=self.config.source.seed,
            workload_pickle=str(self.workload_pickle(size)),
        )
        inputs = self.inputs_pickle(hp.name, size)
        cmd = [*spec.command(), "--check", str(out), "--save-inputs", str(inputs)]
        raw = self.cache / f"check-{hp.name}-{size}.raw.txt"
        py_spy = profile.find_py_spy() if size == self.plan.n and self.plan.profile else None
        rc = self.run_check(cmd, log, out, py_spy, raw)
        if self.side.stopped:
            return
        if rc != 0 or not out.exists():
            where = log.relative_to(self.out)
            raise HarnessError(
                f"check {hp.name} N={size}: worker failed (exit {rc}): {worker_error(log)} "
                f"(see {where})"
            )
        report = CheckReport.load(str(out))
        out.unlink(missing_ok=True)
        if report.error is not None:
            raise HarnessError(report.error)
        check: equivalence.Check = report.check
        profiles = self.profiles_from_check(hp, check, raw) if check.ok else {}
        raw.unlink(missing_ok=True)
        with self.lock:
            if report.inputs_load_seconds is not None:
                self.inputs_load_seconds[(hp.name, size)] = report.inputs_load_seconds
            if report.warning is not None:
                self.warn(f"{hp.name} N={size}: {report.warning}")
            self.record_check(hp, check, profiles)

    def run_check(
        self, cmd: Sequence[str], log: Path, out: Path, py_spy: str | None, raw: Path
    ) -> int:
        """Run a check worker, under ``py-spy record`` when ``py_spy`` is given. When
        py-spy fails before the check is done, the check runs again on its own (the
        profile workers then record why py-spy failed)."""
        if py_spy is not None:
            with contextlib.suppress(OSError):
                self.procs.run(profile.py_spy_command(py_spy, raw, cmd), log=log, env=self.env)
            if out.exists() or self.side.stopped:
                return 0  # the check finished; py-spy's own exit only matters to profiles
            raw.unlink(missing_ok=True)
        return self.procs.run(cmd, log=log, env=self.env)

    def profiles_from_check(
        self, hp: HotPath, check: equivalence.Check, raw: Path
    ) -> dict[str, Profile]:
        """The profiles of the implementations whose call in the check at N lasted at
        least the mode's profile seconds: one whole call each, cut from py-spy's
        recording of the check worker. Shorter calls get profile workers of their own,
        which repeat the call for the profile seconds."""
        slow = [o.implementation for o in check.outcomes if o.seconds >= self.mode.profile_seconds]
        if not slow or not raw.exists():
            return {}
        return profile.check_profiles(
            profile.read_raw(raw),
            {impl: self.profile_paths(hp.name, impl) for impl in slow},
            check.size,
            partial(self.profile_label, hp.name),
        )

    def record_check(
        self, hp: HotPath, check: equivalence.Check, profiles: dict[str, Profile]
    ) -> None:
        """Record a check (a mismatch stops the run) and the profiles cut from it, and
        queue what it makes possible."""
        with self.lock:
            self.state.record_check(check)
            self.write()
            check.raise_for_mismatch()
            self.progress.advance()
            for impl, prof in profiles.items():
                self.state.profiles[(hp.name, impl)] = prof
                self.progress.advance()
            if profiles:
                self.write()
            self.schedule_side(hp, check.size, set(profiles))

    def profile_paths(self, hotpath: str, impl: str) -> profile.ArtefactPaths:
        return profile.ArtefactPaths(self.out, f"profiles/{hotpath}/{impl}-N{self.plan.n}")

    def profile_label(self, hotpath: str, impl: str) -> str:
        return f"{hotpath}/{impl} N={self.plan.n}"

    def inputs_pickle(self, hotpath: str, size: int) -> Path:
        return self.cache / f"inputs-{hotpath}-{size}.pickle"

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

    def slowdown(self) -> float:
        """How much slower benchmarks ran than estimated so far (a busy machine, a cold
        calibration call): the median of actual / estimated wall time, within [0.5, 5]."""
        if not self.cost_ratios:
            return 1.0
        return min(5.0, max(0.5, stats.median(self.cost_ratios)))

    def timing(self) -> None:
        planned = self.plan.benchmarks()
        costs = plan.floor_costs(
            [self.estimate(k) for k in planned], self.mode, self.startup_seconds
        )
        floors = dict(zip(planned, costs, strict=True))
        self.warn_over_budget(floors)
        benches = plan.timing_order(floors)
        inherit = sorted(k for k in self.env if k.startswith("GWBENCH_"))
        for i, key in enumerate(benches):
            f = self.slowdown()
            budget = self.remaining()
            estimates = [
                plan.BenchEstimate(e.call_seconds * f, e.setup_seconds * f)
                for e in (self.estimate(k) for k in benches[i:])
            ]
            settings = plan.allocate(estimates, budget, self.mode, self.startup_seconds * f)[0]
            self.progress.describe(
                f"time {key.label} ({settings.processes}x{settings.values} values)"
            )
            expected = plan.estimate_seconds(settings, self.estimate(key), self.startup_seconds)
            t0 = time.monotonic()
            timing, error = self.time_one(key, settings, inherit)
            if error is None and expected > 0.0:
                self.cost_ratios.append((time.monotonic() - t0) / expected)
            self.state.record_timing(key, timing, error)
            if error is not None:
                self.failures.append(f"{key.label}: {error}")
            self.write()
            self.progress.advance()

    def warn_over_budget(self, floors: dict[plan.BenchmarkKey, float]) -> None:
        """Say so, before timing starts, when even 3 values of every benchmark cannot fit
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
            f"per benchmark ({short.costliest.label} alone about "
            f"{plan.format_duration(short.costliest_seconds)}). Every benchmark still gets "
            f"{plan.MIN_VALUES} values, so the run takes longer; a smaller --ingresses or fewer "
            "--hotpath make it shorter."
        )

    def time_one(
        self, key: plan.BenchmarkKey, settings: plan.BenchSettings, inherit: Sequence[str]
    ) -> tuple[Timing | None, str | None]:
        rel = f"pyperf/{key.hotpath}/{key.implementation}-N{key.size}.json"
        out = self.out / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        log = self.logs / f"time-{key.hotpath}-{key.implementation}-N{key.size}.log"
        cmd = [
            *self.spec(key.hotpath, key.implementation, key.size).command(),
            "--processes",
            str(settings.processes),
            "--values",
            str(settings.values),
            "--warmups",
            str(settings.warmups),
            "--loops",
            str(settings.loops),
            "--min-time",
            str(self.mode.min_time),
            "--output",
            str(out),
        ]
        if inherit:
            cmd += ["--inherit-environ", ",".join(inherit)]
        est = plan.estimate_seconds(settings, self.estimate(key), self.startup_seconds)
        t0 = time.monotonic()
        try:
            rc = self.procs.run(cmd, log=log, env=self.env, timeout=max(900.0, 10.0 * est))
        except ProcessTimeout as exc:
            return None, str(exc)
        wall = time.monotonic() - t0
        if rc != 0 or not out.exists():
            where = log.relative_to(self.out)
            return None, f"benchmark worker failed (exit {rc}): {worker_error(log)} (see {where})"
        import pyperf

        bench = pyperf.Benchmark.load(str(out))
        values = [float(v) for v in bench.get_values()]
        if len(values) < plan.MIN_VALUES:
            return None, f"pyperf recorded {len(values)} values, fewer than {plan.MIN_VALUES}"
        runs = [r for r in bench.get_runs() if r.values]
        return (
            Timing.of(
                values,
                processes=len(runs),
                values_per_process=settings.values,
                warmups=settings.warmups,
                loops=settings.loops,
                reduced=settings.reduced,
                pyperf_json=rel,
                wall_seconds=round(wall, 3),
            ),
            None,
        )

    # ---------------------------------------------------------------- side lane
    def memory_estimate(self, hotpath: str, impl: str, size: int) -> float:
        """Estimated seconds of one memray worker at ``size`` (after its check)."""
        return profile.memray_estimate(
            self.state.points[plan.BenchmarkKey(hotpath, impl, size)].call_seconds,
            self.setup_seconds(hotpath, impl, size),
            self.startup_seconds,
        )

    def schedule_side(self, hp: HotPath, size: int, profiled: set[str]) -> None:
        """After the check of ``hp`` at ``size`` (caller holds the lock): queue what can
        now run on the side lane, each job with its estimated seconds as priority.

        The profile of an implementation not in ``profiled`` (those the check at N
        already gave one) runs at N, as soon as N is checked; when memray's estimate at N fits
        the mode's memory budget, the profile worker measures memory first (one input
        build for both). Otherwise memory runs at the largest size that fits (the smallest
        when none does), queued as soon as that size and every larger one are checked.
        """
        n = self.plan.n
        checked = self.checked_sizes.setdefault(hp.name, set())
        checked.add(size)
        for impl in hp.implementations:
            key = (hp.name, impl.name)
            if size == n and self.plan.profile and impl.name not in profiled:
                est = self.memory_estimate(hp.name, impl.name, n) if self.plan.memory else 0.0
                files = None
                if self.plan.memory and est <= self.mode.memory_seconds:
                    self.memory_planned.add(key)
                    files = profile.MemoryFiles.for_spec(
                        self.cache, self.spec(hp.name, impl.name, n)
                    )
                cost = (
                    self.startup_seconds
                    + self.setup_seconds(hp.name, impl.name, n)
                    + self.mode.profile_seconds
                    + (est if files is not None else 0.0)
                )
                self.side.submit(
                    partial(self.profile_job, hp.name, impl.name, files, est), priority=cost
                )
            if self.plan.memory and key not in self.memory_planned:
                chosen = self.memory_choice(hp.name, impl.name, checked)
                if chosen is not None:
                    self.memory_planned.add(key)
                    at, note, est = chosen
                    self.side.submit(
                        partial(self.memory_job, hp.name, impl.name, at, note, est), priority=est
                    )

    def memory_choice(
        self, hotpath: str, impl: str, checked: set[int]
    ) -> tuple[int, str | None, float] | None:
        """(size, note, estimated seconds) of the memray run, once it can be decided: the
        largest size whose estimate fits, as soon as it and every larger size are checked
        (:func:`profile.choose_memory_size` over those sizes); ``None`` until then."""
        larger: list[int] = []
        for s in sorted(self.plan.sizes, reverse=True):
            if s not in checked:
                break
            larger.append(s)
        if not larger:
            return None
        sizes = sorted(larger)
        ests = [self.memory_estimate(hotpath, impl, s) for s in sizes]
        fits = any(e <= self.mode.memory_seconds for e in ests)
        if not fits and len(larger) < len(self.plan.sizes):
            return None
        at, note = profile.choose_memory_size(sizes, ests, self.mode.memory_seconds)
        return at, note, ests[sizes.index(at)]

    def profile_job(
        self, hotpath: str, impl: str, files: profile.MemoryFiles | None, memory_est: float
    ) -> None:
        """py-spy at N (and memray first, with ``files``), in a worker of its own."""
        n = self.plan.n
        setup = self.setup_seconds(hotpath, impl, n)
        timeout = 3.0 * (self.startup_seconds + setup) + 10.0 * memory_est + 120.0
        prof = profile.record_profile(
            self.spec(hotpath, impl, n),
            self.profile_paths(hotpath, impl),
            seconds=self.mode.profile_seconds,
            procs=self.procs,
            log=self.logs / f"profile-{hotpath}-{impl}-N{n}.log",
            timeout=max(300.0, timeout),
            label=self.profile_label(hotpath, impl),
            memory=files,
        )
        with self.lock:
            if self.side.stopped:
                return
            self.state.profiles[(hotpath, impl)] = prof
            self.progress.advance()
            if files is not None:
                mem = profile.read_memory(files, n, None)
                if mem is not None:
                    self.state.memory[(hotpath, impl)] = mem
                    self.progress.advance()
                else:  # the combined worker failed: measure memory on its own
                    self.side.submit(partial(self.memory_job, hotpath, impl, n, None, memory_est))
            self.write()

    def memory_job(self, hotpath: str, impl: str, size: int, note: str | None, est: float) -> None:
        """memray peak memory and allocation count of one call, in a worker of its own."""
        mem = profile.measure_memory(
            self.spec(hotpath, impl, size),
            work_dir=self.cache,
            procs=self.procs,
            log=self.logs / f"memory-{hotpath}-{impl}-N{size}.log",
            timeout=max(600.0, 10.0 * est),
            note=note,
        )
        with self.lock:
            if self.side.stopped:
                return
            if mem.missing_reason is not None:
                self.failures.append(f"memory {hotpath}/{impl}: {mem.missing_reason}")
            self.state.memory[(hotpath, impl)] = mem
            self.write()
            self.progress.advance()

    def drain_side(self) -> None:
        """Wait for the checks, profiles and memory workers, before any timing."""

        def waiting(pending: int) -> None:
            self.progress.describe(f"checks, profiles and memory: {pending} worker(s) to go")

        self.side.drain(waiting)
        # No side thread is left while benchmarks are timed: Ctrl-C always reaches the
        # main thread, which is then waiting for a benchmark worker.
        self.side.stop()
        self.side.join()

    def envoy(self) -> None:
        self.progress.describe("real Envoy: domain activation")
        run_for_results = envoy_entry_point()
        with open(self.workload_pickle(self.plan.n), "rb") as fh, paused_gc():
            workload = pickle.load(fh)
        offered: dict[str, Any] = {
            "workload": workload,
            "ingresses": self.plan.n,
            "seed": self.config.source.seed,
            "out_dir": self.out / "envoy",
            "mode": self.mode.name,
            "quick": self.mode.name == "quick",
        }
        params = inspect.signature(run_for_results).parameters
        accepts_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        kwargs = {k: v for k, v in offered.items() if accepts_all or k in params}
        records = run_for_results(**kwargs)
        self.state.envoy = tuple(_as_record(r) for r in records)
        self.write()
        self.progress.advance()

    def stop_side(self) -> None:
        """No more side jobs; kill every live worker and let the jobs return."""
        self.side.stop()
        self.procs.kill_all()
        self.side.join()

    # ---------------------------------------------------------------- main
    def execute(self) -> RunOutcome:
        self.out.mkdir(parents=True, exist_ok=True)
        total = self.plan.total_steps() + (1 if self.config.envoy else 0)
        self.progress.start(total)
        previous: Any = None
        try:
            self.write()
            self.probe_startup()
            self.checks()
            self.drain_side()
            self.timing()
            if self.config.envoy:
                self.envoy()
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
            self.stop_side()
            self.state.reason = "interrupted (Ctrl-C); finished benchmarks are kept"
            results = self.write()
            raise RunInterrupted(results, self.results_path) from None
        except GwbenchError as exc:
            previous = _ignore_sigint()
            self.stop_side()
            self.state.reason = f"stopped: {exc}"
            self.write()
            raise
        finally:
            self.stop_side()
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


def envoy_entry_point() -> Callable[..., Sequence[Any]]:
    """``harness.envoy.measure.run_for_results``, or :class:`InputError` (exit 2) when
    this checkout has no real-Envoy driver."""
    try:
        from gwbench.harness.envoy import measure
    except ModuleNotFoundError as exc:
        if exc.name is not None and not exc.name.startswith("gwbench.harness.envoy"):
            raise
        raise InputError("--envoy: the real-Envoy measurement is not available") from None
    func = getattr(measure, "run_for_results", None)
    if not callable(func):
        raise InputError("--envoy: the real-Envoy measurement is not available")
    return func  # type: ignore[no-any-return]


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
