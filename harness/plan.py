"""The plan of a run and its time budget: which benchmarks, at which sizes, and how many
paired rounds and values each gets.

A benchmark is one (hot path, implementation, N); a *group* is every implementation of one
hot path at one N, timed together in paired rounds (docs/run.md): each round is a fresh
worker process that builds the group's inputs once and takes each implementation's values
interleaved (A B B A ...). Each mode names ideal rounds and values per round; when the
ideal plan would overrun the run's time budget, :func:`allocate` shares the budget out once,
after the checks have calibrated every call (water-filling: cheap groups keep their ideal
settings, expensive ones get fewer values per round, then fewer rounds). Nothing ever gets
fewer than :data:`MIN_VALUES` timed values.

Cost model of one group (seconds), from the checks' calls and the measured set-up per
process (load the workload or the pickled inputs, ``make_inputs``, ``specialize``):
``rounds * (startup + setup + sum over implementations of (warmups + values) * loops *
call)``.
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
CHECK_VALUE_SECONDS = 1.0
"""A call at least this long in the equivalence check counts as one timing value of its
benchmark (warm-ups add nothing to a multi-second call)."""


@dataclass(frozen=True)
class ModeSettings:
    name: Mode
    rounds: int
    """Ideal paired rounds (fresh worker processes) per group."""
    values: int
    """Ideal timed values per implementation and round."""
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
    """Values at least this long get no warmup and one value per round (``None``: always
    warm up)."""


# One row per mode, the fields in ModeSettings' order: name, rounds, values, warmups,
# min_time, budget_seconds, profile_seconds, memory_seconds, sweep, max_benchmark_seconds,
# warmup_below_seconds.
_MODES = (
    ModeSettings("quick", 10, 3, 1, 0.05, 165.0, 2.0, 15.0, (8, 4, 1), 30.0, 1.0),
    # N/8 and N/2 are left out of the default sweep: N/2 costs half of N's time, N/8 a
    # paired round's set-up and calls at every round, and both add little to a fit that
    # N/16, N/4 and N already span over a factor of 16 (--sizes, --rigorous: all five).
    ModeSettings("default", 12, 5, 1, 0.1, 1080.0, 4.0, 30.0, (16, 4, 1), 150.0, 1.0),
    # As many fresh processes as pyperf --rigorous (40), 3 values each.
    ModeSettings("rigorous", 40, 3, 1, 0.1, 7200.0, 10.0, 300.0, (16, 8, 4, 2, 1), 3600.0, None),
)
MODES: dict[str, ModeSettings] = {mode.name: mode for mode in _MODES}


def sweep_sizes(n: int, mode: ModeSettings) -> tuple[int, ...]:
    """The mode's default sweep up to ``n`` (for example N/16, N/4, N)."""
    if n <= 0:
        raise InputError(f"the number of Ingresses must be positive, got {n}", field="--ingresses")
    return tuple(sorted({max(1, n // d) for d in mode.sweep}))


def size_list(text: str, field: str) -> set[int]:
    """The positive whole numbers of ``text`` (``A,B,C``; ``_`` allowed as in 20_000);
    errors name ``field``."""
    sizes: set[int] = set()
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        try:
            size = int(part)
        except ValueError:
            raise InputError(
                f"{part!r} is not a whole number (expected e.g. 1000,5000,20000)", field=field
            ) from None
        if size <= 0:
            raise InputError(f"size {size} is not positive", field=field)
        sizes.add(size)
    return sizes


def parse_sizes(text: str, n: int) -> tuple[int, ...]:
    """``--sizes A,B,C``: positive integers up to N; N itself is always measured."""
    sizes = size_list(text, "--sizes")
    over = [s for s in sorted(sizes) if s > n]
    if over:
        raise InputError(f"size {over[0]} exceeds N={n}", field="--sizes")
    return tuple(sorted(sizes | {n}))


@dataclass(frozen=True)
class ImplCost:
    """What the budget knows about one implementation at one size, from its check."""

    name: str
    call_seconds: float
    check_value: bool = False
    """The check's call counts as one timing value: every implementation's check call at
    this size lasted :data:`CHECK_VALUE_SECONDS` or more."""


@dataclass(frozen=True)
class GroupCost:
    """One hot path at one size: its implementations and the set-up of one round."""

    hotpath: str
    size: int
    setup_seconds: float
    """Per round: load the workload or inputs, ``make_inputs``, every ``specialize``."""
    impls: tuple[ImplCost, ...]


@dataclass(frozen=True)
class ImplSettings:
    """One implementation's share of a group's rounds."""

    values: int
    """Timed values per round."""
    warmups: int
    loops: int


@dataclass(frozen=True)
class GroupSettings:
    rounds: int
    impls: Mapping[str, ImplSettings]
    reduced: bool = False
    """True when the time budget cut the mode's rounds or values."""

    def total_values(self, impl: ImplCost) -> int:
        return self.rounds * self.impls[impl.name].values + (1 if impl.check_value else 0)


def loops_for(call_seconds: float, mode: ModeSettings) -> int:
    if call_seconds <= 0.0:
        return MAX_LOOPS
    return max(1, min(MAX_LOOPS, math.ceil(mode.min_time / call_seconds)))


def _slow(impl: ImplCost, mode: ModeSettings) -> bool:
    value = loops_for(impl.call_seconds, mode) * impl.call_seconds
    return mode.warmup_below_seconds is not None and value >= mode.warmup_below_seconds


def _impl(impl: ImplCost, values: int, mode: ModeSettings) -> ImplSettings:
    if _slow(impl, mode):  # a multi-second call is its own warmup
        return ImplSettings(values, 0, loops_for(impl.call_seconds, mode))
    return ImplSettings(values, mode.warmups, loops_for(impl.call_seconds, mode))


def _group_impls(group: GroupCost, values: int, mode: ModeSettings) -> dict[str, ImplSettings]:
    """Every implementation of a group takes as many values per round (one when any of
    them is slow: another round adds more than repeating a multi-second call), so their
    pyperf files hold as many values (``pyperf compare_to`` tests significance only then)."""
    if any(_slow(i, mode) for i in group.impls):
        values = 1
    return {i.name: _impl(i, values, mode) for i in group.impls}


MIN_ROUNDS = 3
"""Fewest paired rounds behind a speedup: an interval over two would rest on Student's t
with one degree of freedom (63.7 standard errors wide), of no use to anyone."""


def floor_rounds(group: GroupCost) -> int:
    """Fewest timing rounds: :data:`MIN_ROUNDS`, or one fewer when every implementation's
    check call counts as a value. The check then is a round of its own: one call of each
    implementation in one process, the heap frozen, every call a second or more (its own
    warm-up), so it pairs like a round, and each benchmark still has 3 values."""
    if group.impls and all(i.check_value for i in group.impls):
        return MIN_ROUNDS - 1
    return MIN_ROUNDS


def _candidates(group: GroupCost, mode: ModeSettings) -> Iterator[GroupSettings]:
    """Settings from richest to poorest: fewer values per round first, then fewer rounds;
    the last is the floor."""
    least = floor_rounds(group)
    rounds = max(mode.rounds, least)
    floor_values = 1
    for values in range(max(mode.values, floor_values), floor_values - 1, -1):
        impls = _group_impls(group, values, mode)
        yield GroupSettings(rounds, impls, reduced=values < mode.values)
    impls = _group_impls(group, floor_values, mode)
    for r in range(rounds - 1, least - 1, -1):
        yield GroupSettings(r, impls, reduced=True)


def estimate_seconds(settings: GroupSettings, group: GroupCost, startup_seconds: float) -> float:
    per_round = startup_seconds + group.setup_seconds
    for impl in group.impls:
        s = settings.impls[impl.name]
        per_round += (s.warmups + s.values) * s.loops * impl.call_seconds
    return settings.rounds * per_round


def floor_settings(group: GroupCost, mode: ModeSettings) -> GroupSettings:
    *_, last = _candidates(group, mode)
    return last


def settings_for(
    group: GroupCost, share_seconds: float, mode: ModeSettings, startup_seconds: float
) -> GroupSettings:
    """The richest settings whose estimated cost fits ``share_seconds`` and the mode's
    per-benchmark limit (at worst the floor)."""
    limit = min(share_seconds, mode.max_benchmark_seconds * len(group.impls))
    last: GroupSettings | None = None
    for cand in _candidates(group, mode):
        last = cand
        if estimate_seconds(cand, group, startup_seconds) <= limit:
            return cand
    assert last is not None
    return last


def allocate(
    groups: Sequence[GroupCost],
    budget_seconds: float,
    mode: ModeSettings,
    startup_seconds: float,
) -> list[GroupSettings]:
    """Settings for every group so that the estimated total fits the budget, when that
    is possible at all: done once, after the checks calibrated every call."""
    if not groups:
        return []
    planned = [settings_for(g, math.inf, mode, startup_seconds) for g in groups]
    ideal = [estimate_seconds(s, g, startup_seconds) for s, g in zip(planned, groups, strict=True)]
    floor = [estimate_seconds(floor_settings(g, mode), g, startup_seconds) for g in groups]
    if sum(ideal) <= budget_seconds:
        return planned
    if sum(floor) >= budget_seconds:
        return [floor_settings(g, mode) for g in groups]

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
        settings_for(g, min(i, max(f, lo)), mode, startup_seconds)
        for g, i, f in zip(groups, ideal, floor, strict=True)
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
    """The budget cannot be kept: timing every group at its floor needs more."""

    floor_seconds: float
    """Estimated seconds to time every group at its floor (3 values per benchmark)."""
    costliest: str
    """The costliest group, e.g. ``listener_update N=20000``."""
    costliest_seconds: float


def floor_shortfall(floor_seconds: Mapping[str, float], budget_seconds: float) -> Shortfall | None:
    """How far the floors of the groups (by label) overrun ``budget_seconds``; ``None``
    when they fit, and :func:`allocate` keeps to the budget."""
    total = sum(floor_seconds.values())
    if not floor_seconds or total <= budget_seconds:
        return None
    costliest = max(floor_seconds, key=floor_seconds.__getitem__)
    return Shortfall(total, costliest, floor_seconds[costliest])


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
        """Plan order: hot path, then size ascending, then implementation; an
        implementation only at the sizes it runs at (its registry ``max_size``)."""
        return [
            BenchmarkKey(hp.name, impl.name, size)
            for hp in self.hotpaths
            for size in self.sizes
            for impl in hp.implementations_at(size)
        ]

    def implementations(self, size: int | None = None) -> list[tuple[HotPath, str]]:
        """Every implementation that runs at ``size`` (``None``: at one size or more)."""
        sizes = self.sizes if size is None else (size,)
        return [
            (hp, impl.name)
            for hp in self.hotpaths
            for impl in hp.implementations
            if any(impl.runs_at(s) for s in sizes)
        ]

    def total_steps(self) -> int:
        """Steps of the progress bar: one check per hot path and size, one per benchmark
        (when its rounds are done), profile (at N) and memory measurement."""
        checks = len(self.hotpaths) * len(self.sizes)
        return (
            checks
            + len(self.benchmarks())
            + (len(self.implementations(self.n)) if self.profile else 0)
            + (len(self.implementations()) if self.memory else 0)
        )
