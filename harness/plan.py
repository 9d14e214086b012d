"""The plan of a run and the time budget: which benchmarks, at which sizes, how many
pyperf processes and values each gets.

A benchmark is one (hot path, implementation, N). Each mode names ideal pyperf settings;
when the ideal plan would overrun the run's time budget, :func:`allocate` shares the
remaining time out (water-filling: cheap benchmarks keep their ideal settings, expensive
ones are cut) and :func:`settings_for` picks, for each benchmark, the richest settings
that fit its share. Nothing ever gets fewer than :data:`MIN_VALUES` timed values.

Cost model of one benchmark (seconds), from one calibration call of ``call`` seconds and
the measured ``setup`` (load the workload, build the hot path's inputs) per process:
``startup + processes * (startup + setup + (warmups + values) * loops * call)``. The
runner scales these estimates by how much slower than estimated the finished benchmarks
ran (a busy machine), so the remaining ones are cut in time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from gwbench.errors import InputError
from gwbench.harness.registry import HotPath
from gwbench.results import Mode

MIN_VALUES = 3
MAX_LOOPS = 1_000_000


@dataclass(frozen=True)
class ModeSettings:
    name: Mode
    processes: int
    """Ideal pyperf worker processes per benchmark."""
    values: int
    """Ideal timed values per process."""
    warmups: int
    min_time: float
    """Minimum seconds per value: calls per value (loops) are raised to reach it."""
    budget_seconds: float
    """Default time budget of the whole run."""
    profile_seconds: float
    """py-spy sampling time per implementation."""
    memory_seconds: float
    """Longest estimated memray run per implementation; beyond it, a smaller N is used."""
    sweep: tuple[int, ...]
    """Divisors of N that make the default sweep."""
    max_benchmark_seconds: float
    """No benchmark is planned longer than this (beyond the 3-value floor): a baseline
    at many seconds per call gets fewer values, not minutes of repeats."""
    warmup_below_seconds: float | None
    """Values at least this long get no warmup (``None``: always warm up)."""


MODES: dict[str, ModeSettings] = {
    "quick": ModeSettings(
        name="quick",
        processes=1,
        values=5,
        warmups=1,
        min_time=0.05,
        budget_seconds=210.0,
        profile_seconds=2.0,
        memory_seconds=15.0,
        sweep=(8, 4, 1),
        max_benchmark_seconds=30.0,
        warmup_below_seconds=1.0,
    ),
    "default": ModeSettings(
        name="default",
        processes=3,
        values=5,
        warmups=1,
        min_time=0.1,
        budget_seconds=1080.0,
        profile_seconds=4.0,
        memory_seconds=60.0,
        # N/2 is left out: it costs half of N's time and adds little to a fit that
        # N/16..N/4 and N already span (--sizes, --rigorous: all five).
        sweep=(16, 8, 4, 1),
        max_benchmark_seconds=150.0,
        warmup_below_seconds=1.0,
    ),
    # pyperf --rigorous: twice pyperf's default 20 processes, 3 values each.
    "rigorous": ModeSettings(
        name="rigorous",
        processes=40,
        values=3,
        warmups=1,
        min_time=0.1,
        budget_seconds=7200.0,
        profile_seconds=10.0,
        memory_seconds=300.0,
        sweep=(16, 8, 4, 2, 1),
        max_benchmark_seconds=3600.0,
        warmup_below_seconds=None,
    ),
}


def sweep_sizes(n: int, mode: ModeSettings) -> tuple[int, ...]:
    """The mode's default sweep up to ``n`` (for example N/16, N/8, N/4, N)."""
    if n <= 0:
        raise InputError(f"the number of Ingresses must be positive, got {n}", field="--ingresses")
    return tuple(sorted({max(1, n // d) for d in mode.sweep}))


def parse_sizes(text: str, n: int) -> tuple[int, ...]:
    """``--sizes A,B,C``: positive integers up to N; N itself is always measured."""
    sizes: set[int] = {n}
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        try:
            size = int(part)
        except ValueError:
            raise InputError(
                f"{part!r} is not a whole number (expected e.g. 1000,5000,20000)", field="--sizes"
            ) from None
        if size <= 0:
            raise InputError(f"size {size} is not positive", field="--sizes")
        if size > n:
            raise InputError(f"size {size} exceeds N={n}", field="--sizes")
        sizes.add(size)
    return tuple(sorted(sizes))


@dataclass(frozen=True)
class BenchSettings:
    """pyperf settings of one benchmark."""

    processes: int
    values: int
    """Per process."""
    warmups: int
    loops: int
    reduced: bool = False

    @property
    def total_values(self) -> int:
        return self.processes * self.values


@dataclass(frozen=True)
class BenchEstimate:
    """What the budget needs to know about one benchmark."""

    call_seconds: float
    setup_seconds: float


def loops_for(call_seconds: float, mode: ModeSettings) -> int:
    if call_seconds <= 0.0:
        return MAX_LOOPS
    return max(1, min(MAX_LOOPS, math.ceil(mode.min_time / call_seconds)))


def estimate_seconds(
    settings: BenchSettings, bench: BenchEstimate, startup_seconds: float
) -> float:
    per_value = settings.loops * bench.call_seconds
    per_process = (
        startup_seconds + bench.setup_seconds + (settings.warmups + settings.values) * per_value
    )
    return startup_seconds + settings.processes * per_process


def _candidates(bench: BenchEstimate, mode: ModeSettings) -> Iterator[BenchSettings]:
    """Settings from richest to poorest; the last is the floor (3 values, no warmup)."""
    loops = loops_for(bench.call_seconds, mode)
    p, v, w = mode.processes, mode.values, mode.warmups
    slow = mode.warmup_below_seconds is not None and (
        loops * bench.call_seconds >= mode.warmup_below_seconds
    )
    if slow:  # a multi-second call is its own warmup; repeating it buys nothing
        w = 0
    yield BenchSettings(p, v, w, loops)
    for procs in range(p - 1, 0, -1):
        vals = max(v, math.ceil(MIN_VALUES / procs))
        yield BenchSettings(procs, vals, w, loops, reduced=True)
    for vals in range(v - 1, MIN_VALUES - 1, -1):
        yield BenchSettings(1, vals, w, loops, reduced=True)
    yield BenchSettings(1, MIN_VALUES, 0, loops, reduced=True)


def ideal_settings(bench: BenchEstimate, mode: ModeSettings) -> BenchSettings:
    """The mode's settings for this benchmark, before any budget."""
    return next(_candidates(bench, mode))


def floor_settings(bench: BenchEstimate, mode: ModeSettings) -> BenchSettings:
    *_, last = _candidates(bench, mode)
    return last


def floor_costs(
    benches: Sequence[BenchEstimate], mode: ModeSettings, startup_seconds: float
) -> list[float]:
    """Estimated seconds of each benchmark at its floor."""
    return [estimate_seconds(floor_settings(b, mode), b, startup_seconds) for b in benches]


def settings_for(
    bench: BenchEstimate, share_seconds: float, mode: ModeSettings, startup_seconds: float
) -> BenchSettings:
    """The richest settings whose estimated cost fits ``share_seconds`` and the mode's
    per-benchmark limit (at worst the floor: one process, 3 values)."""
    limit = min(share_seconds, mode.max_benchmark_seconds)
    last: BenchSettings | None = None
    for cand in _candidates(bench, mode):
        last = cand
        if estimate_seconds(cand, bench, startup_seconds) <= limit:
            return cand
    assert last is not None
    return last


def planned_settings(
    bench: BenchEstimate, mode: ModeSettings, startup_seconds: float
) -> BenchSettings:
    """The mode's settings within its per-benchmark limit: what a generous budget gives."""
    return settings_for(bench, math.inf, mode, startup_seconds)


def allocate(
    benches: Sequence[BenchEstimate],
    budget_seconds: float,
    mode: ModeSettings,
    startup_seconds: float,
) -> list[BenchSettings]:
    """Settings for every benchmark so that the estimated total fits the budget, when
    that is possible at all."""
    if not benches:
        return []
    planned = [planned_settings(b, mode, startup_seconds) for b in benches]
    ideal = [estimate_seconds(s, b, startup_seconds) for s, b in zip(planned, benches, strict=True)]
    floor = floor_costs(benches, mode, startup_seconds)
    if sum(ideal) <= budget_seconds:
        return planned
    if sum(floor) >= budget_seconds:
        return [floor_settings(b, mode) for b in benches]

    def spent(cap: float) -> float:
        return sum(min(i, max(f, cap)) for i, f in zip(ideal, floor, strict=True))

    lo, hi = 0.0, max(ideal)
    for _ in range(60):
        mid = (lo + hi) / 2.0
        if spent(mid) > budget_seconds:
            hi = mid
        else:
            lo = mid
    return [
        settings_for(b, min(i, max(f, lo)), mode, startup_seconds)
        for b, i, f in zip(benches, ideal, floor, strict=True)
    ]


def format_duration(seconds: float) -> str:
    """``45 s``, ``13 min 20 s``, ``18 min``: a wall time as people read it."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    if not minutes:
        return f"{secs} s"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


@dataclass(frozen=True)
class BenchmarkKey:
    hotpath: str
    implementation: str
    size: int

    @property
    def label(self) -> str:
        return f"{self.hotpath}/{self.implementation} N={self.size}"


@dataclass(frozen=True)
class Shortfall:
    """The budget cannot be kept: timing every benchmark at its floor needs more."""

    floor_seconds: float
    """Estimated seconds to time every benchmark with the floor's 3 values."""
    costliest: BenchmarkKey
    costliest_seconds: float


def floor_shortfall(
    floor_seconds: Mapping[BenchmarkKey, float], budget_seconds: float
) -> Shortfall | None:
    """How far the floors (3 values each, :func:`floor_costs`) of the benchmarks overrun
    ``budget_seconds``; ``None`` when they fit, and :func:`allocate` keeps to the budget."""
    total = sum(floor_seconds.values())
    if not floor_seconds or total <= budget_seconds:
        return None
    costliest = max(floor_seconds, key=floor_seconds.__getitem__)
    return Shortfall(total, costliest, floor_seconds[costliest])


def timing_order(floor_seconds: Mapping[BenchmarkKey, float]) -> list[BenchmarkKey]:
    """The order to time the benchmarks in, given each one's floor cost (in plan order):
    hot path by hot path, the costliest hot path first, and within one, N first (sizes
    descending, the implementations in plan order).

    The slow baselines at N cost most and vary most; timed first, what they actually
    took is known while the cheap benchmarks left can still give up their extra values
    to keep the budget. A hot path's sizes, and its baseline and twins at one size, stay
    together in time, so the machine's drift moves its speedups and fits the least.
    """
    cost: dict[str, float] = {}
    for key, seconds in floor_seconds.items():
        cost[key.hotpath] = cost.get(key.hotpath, 0.0) + seconds
    place = {key: i for i, key in enumerate(floor_seconds)}
    return sorted(floor_seconds, key=lambda k: (-cost[k.hotpath], -k.size, place[k]))


@dataclass(frozen=True)
class Plan:
    """Hot paths x implementations x sizes, and which passes run."""

    hotpaths: tuple[HotPath, ...]
    sizes: tuple[int, ...]
    mode: ModeSettings
    profile: bool = True
    memory: bool = True

    @property
    def n(self) -> int:
        return self.sizes[-1]

    def benchmarks(self) -> list[BenchmarkKey]:
        """Plan order: hot path, then size ascending, then implementation (timing goes by
        :func:`timing_order`)."""
        return [
            BenchmarkKey(hp.name, impl.name, size)
            for hp in self.hotpaths
            for size in self.sizes
            for impl in hp.implementations
        ]

    def implementations(self) -> list[tuple[HotPath, str]]:
        return [(hp, impl.name) for hp in self.hotpaths for impl in hp.implementations]

    def total_steps(self) -> int:
        """Steps of the progress bar: one check per hot path and size, one per benchmark,
        profile and memory measurement."""
        checks = len(self.hotpaths) * len(self.sizes)
        impls = len(self.implementations())
        return (
            checks
            + len(self.benchmarks())
            + (impls if self.profile else 0)
            + (impls if self.memory else 0)
        )
