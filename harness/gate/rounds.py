"""Interleaved rounds: base (A) and head (B) alternate in ABBA / BAAB order.

A round starts one fresh process per side (same workload, seed, calls per value and
number of values) and keeps both alive while it asks them for timed values in turn, value
by value: even rounds A B B A A B B A ..., odd rounds B A A B B A A B ... (the side that
goes first alternates between rounds and between pairs within a round), both pinned to
the same CPU. While one side measures, the other waits, so both are timed in the same
moments and on the same CPU: on a shared machine the load changes over seconds and
differs between CPUs, and alternating per value (milliseconds apart) pairs the two sides
far more tightly than alternating whole processes. Measured on the 2-core
development machine under load 3 to 6, the spread of A/A round log-ratios was 2 to 10
times smaller this way (docs/gate.md).

A round yields, for each hot path, implementation and N, one paired log-ratio (docs/gate.md):

    r_i = 25%-trimmed mean over j of ln(t_head,j / t_base,j)

where value j of the head and value j of the base are taken back to back (A B or B A) and
``t`` is seconds per call. Pairing each value with its neighbour in time, rather than the
medians of the round's halves, cancels the load that changes within a round: replayed
over the values of nine recorded A/A gates on the loaded 2-core development machine, the
spread of ``r_i`` fell to 0.76 of the halves' (geometric mean over 65 rows), that is 43%
fewer rounds for the same interval. Trimming a quarter at each end drops the pairs a
burst of load hit on one side only. Pure scheduling and arithmetic: the processes are
driven by the ``measure`` callable the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gwbench.harness import paired
from gwbench.harness.gate.protocol import PointKey
from gwbench.harness.gate.sides import SideLabel
from gwbench.stats import log_ratio, median

TimeMetric = Literal["wall", "cpu"]
Value = tuple[float, float]
"""One timed value: (wall seconds per call, process CPU seconds per call)."""
RoundValues = Mapping[PointKey, Mapping[SideLabel, Sequence[Value]]]
"""One round's values per key and side, in the order they were taken."""


def first_side(index: int) -> SideLabel:
    return "base" if index % 2 == 0 else "head"


def value_order(index: int, n_values: int) -> tuple[SideLabel, ...]:
    """The order in which round ``index`` takes ``n_values`` values of each side: pairs
    alternating which side goes first (ABBA ... for even rounds, BAAB ... for odd), the
    same interleaving as ``gwbench run``'s (:func:`harness.paired.value_order`)."""
    sides: dict[str, int] = {"base": n_values, "head": n_values}
    order = paired.value_order(index, sides)
    return tuple("base" if label == "base" else "head" for label in order)


@dataclass(frozen=True)
class Round:
    """One interleaved round."""

    index: int
    log_ratios: Mapping[PointKey, float]
    """``r_i`` per hot path, implementation and N."""
    base_seconds: Mapping[PointKey, tuple[float, float]]
    """The base's per-call time in the two halves of the round."""
    head_seconds: Mapping[PointKey, tuple[float, float]]
    cpu_log_ratios: Mapping[PointKey, float]
    """The same ratio from process CPU time (advisory)."""
    wall_log_ratios: Mapping[PointKey, float] = field(default_factory=dict)
    """The same ratio from wall time (advisory when the metric is CPU time)."""


@dataclass(frozen=True)
class Batch:
    """Consecutive rounds over one plan."""

    rounds: tuple[Round, ...]

    def ratios(self, key: PointKey) -> tuple[float, ...]:
        return tuple(r.log_ratios[key] for r in self.rounds if key in r.log_ratios)

    def cpu_ratios(self, key: PointKey) -> tuple[float, ...]:
        return tuple(r.cpu_log_ratios[key] for r in self.rounds if key in r.cpu_log_ratios)

    def wall_ratios(self, key: PointKey) -> tuple[float, ...]:
        return tuple(r.wall_log_ratios[key] for r in self.rounds if key in r.wall_log_ratios)

    def rounds_of(self, key: PointKey) -> int:
        """How many of the batch's rounds timed ``key``."""
        return sum(1 for r in self.rounds if key in r.log_ratios)

    def first(self, key: PointKey, count: int) -> Batch:
        """The first ``count`` rounds that timed ``key`` (the first look)."""
        taken = [r for r in self.rounds if key in r.log_ratios][:count]
        return Batch(tuple(taken))

    def then(self, more: Batch) -> Batch:
        """This batch's rounds followed by ``more``'s."""
        return Batch(self.rounds + more.rounds)

    def seconds(self, key: PointKey, side: SideLabel) -> tuple[float, ...]:
        out: list[float] = []
        for r in self.rounds:
            pair = (r.base_seconds if side == "base" else r.head_seconds).get(key)
            if pair is not None:
                out.extend(pair)
        return tuple(out)


def _halves(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:
        m = median(values)
        return m, m
    h = len(values) // 2
    return median(values[:h]), median(values[h:])


TRIM = 0.25
"""Share of the pairs dropped at each end before averaging a round's log-ratios."""


def trimmed_mean(values: Sequence[float], trim: float = TRIM) -> float:
    """The mean of ``values`` without the ``floor(trim * n)`` smallest and largest."""
    if not values:
        raise ValueError("trimmed mean of no values")
    ordered = sorted(values)
    k = int(trim * len(ordered))
    kept = ordered[k : len(ordered) - k] or ordered
    return sum(kept) / len(kept)


def pair_log_ratio(base: Sequence[float], head: Sequence[float]) -> float:
    """``r_i`` of one round: the trimmed mean over pairs j of ``ln(head[j] / base[j])``,
    value j of each side having been taken back to back (:func:`value_order`)."""
    if not base or not head:
        raise ValueError("a round needs values of both sides")
    return trimmed_mean([log_ratio(b, h) for b, h in zip(base, head, strict=False)])


def _positive(x: float) -> float:
    # process CPU time can read 0 on a coarse clock; keep the logarithm defined
    return max(x, 1e-12)


def pair_round(index: int, values: RoundValues, metric: TimeMetric = "wall") -> Round:
    """Combine one round's values into its log-ratios."""
    ratios: dict[PointKey, float] = {}
    cpu: dict[PointKey, float] = {}
    wall: dict[PointKey, float] = {}
    base_s: dict[PointKey, tuple[float, float]] = {}
    head_s: dict[PointKey, tuple[float, float]] = {}
    for key in sorted(values):
        sides = values[key]
        base, head = sides.get("base", ()), sides.get("head", ())
        if not base or not head:
            raise ValueError(f"round {index}: {key.label()} lacks values of one side")
        pick = 1 if metric == "cpu" else 0
        ratios[key] = pair_log_ratio(
            [_positive(v[pick]) for v in base], [_positive(v[pick]) for v in head]
        )
        cpu[key] = pair_log_ratio([_positive(v[1]) for v in base], [_positive(v[1]) for v in head])
        wall[key] = pair_log_ratio([_positive(v[0]) for v in base], [_positive(v[0]) for v in head])
        base_s[key] = _halves([_positive(v[pick]) for v in base])
        head_s[key] = _halves([_positive(v[pick]) for v in head])
    return Round(index, ratios, base_s, head_s, cpu, wall)


MeasureRound = Callable[[int], RoundValues]
"""Run round ``index`` (fresh processes, values in :func:`value_order`); its values."""


def run_batch(
    measure: MeasureRound,
    rounds: int,
    *,
    first_index: int = 0,
    metric: TimeMetric = "wall",
    stop: Callable[[], bool] | None = None,
) -> Batch:
    """``rounds`` rounds numbered from ``first_index`` (which sets who goes first); fewer
    when ``stop`` says so before a round (a time cap)."""
    done: list[Round] = []
    for index in range(first_index, first_index + rounds):
        if stop is not None and stop():
            break
        done.append(pair_round(index, measure(index), metric))
    return Batch(tuple(done))
