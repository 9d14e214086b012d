"""Paired timing of ``gwbench run``: in which order a round takes its values, and the
speedup with its interval from the rounds' paired log-ratios.

A *round* is one fresh worker process that builds one hot path's inputs at one size and
takes the values of every implementation interleaved: each implementation's values are
spread evenly over the round, and values due at the same moment alternate which one goes
first (A B B A ...; the next round starts the other way round). The baseline and a twin
are then timed in the same moments of the same process, so drift of the machine lands on
both and leaves their ratio alone (docs/run.md).

Per round ``i`` and twin, ``r_i = ln(t_twin / t_baseline)``: the mean over the round's two
halves of the log-ratio of the halves' medians (:func:`gwbench.stats.round_log_ratio`, as
the gate does), or of the round's medians when a side has one value. The speedup is
``exp(-median r_i)``. Its 99% interval must hold from one run to the next, so it carries
the variation between processes (a fresh process per round) as well as within, twice:

- the percentile bootstrap of the median that resamples whole rounds (the gate's);
- widened, where that is narrower, to the normal-theory interval of a median of R rounds,
  ``median ± t(0.995, R-1) * 1.2533 * s / sqrt(R)`` with ``s`` the standard deviation of
  the ``r_i``. With few rounds a bootstrap interval is often narrower than the spread of
  estimates from one run to the next (the rounds can agree by chance); Student's t with
  R-1 degrees of freedom is what a small sample warrants. Measured in docs/run.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gwbench import stats
from gwbench.verdicts import Thresholds, Verdict, classify

CONFIDENCE = stats.GATE_CONFIDENCE
RESAMPLES = stats.GATE_RESAMPLES
MEDIAN_EFFICIENCY = math.sqrt(math.pi / 2.0)
"""Standard error of a median over that of a mean, for normal data (1.2533)."""
T_995 = {
    1: 63.657, 2: 9.925, 3: 5.841, 4: 4.604, 5: 4.032, 6: 3.707, 7: 3.499, 8: 3.355,
    9: 3.250, 10: 3.169, 11: 3.106, 12: 3.055, 13: 3.012, 14: 2.977, 15: 2.947,
    16: 2.921, 17: 2.898, 18: 2.878, 19: 2.861, 20: 2.845, 25: 2.787, 30: 2.750,
    40: 2.704, 60: 2.660, 120: 2.617,
}  # fmt: skip
"""Student's t, 0.995 quantile (a two-sided 99% interval), by degrees of freedom."""


def t_995(df: int) -> float:
    """Student's t 0.995 quantile for ``df`` degrees of freedom (the table's entry at or
    below ``df``: never narrower than the exact value)."""
    if df < 1:
        raise ValueError("Student's t needs at least one degree of freedom")
    return T_995[max(k for k in T_995 if k <= df)]


def value_order(index: int, counts: Mapping[str, int]) -> list[str]:
    """The order in which round ``index`` takes ``counts[name]`` values of each
    implementation (given in plan order): value ``j`` of ``k`` is due at ``(j + 0.5) / k``
    of the round; values due together alternate direction (ABBA), starting with the
    plan's order in even rounds and the reverse in odd ones."""
    names = list(counts)
    slots: list[tuple[float, int, int, str]] = []
    for pos, name in enumerate(names):
        k = counts[name]
        for j in range(k):
            forward = (index + j) % 2 == 0
            tie = pos if forward else len(names) - 1 - pos
            slots.append(((j + 0.5) / k, j, tie, name))
    return [name for *_, name in sorted(slots)]


def _halves(values: Sequence[float]) -> tuple[float, float]:
    if len(values) < 2:
        m = stats.median(values)
        return m, m
    h = len(values) // 2
    return stats.median(values[:h]), stats.median(values[h:])


def round_log_ratio(baseline: Sequence[float], twin: Sequence[float]) -> float:
    """``r_i`` of one round: ``ln(t_twin / t_baseline)`` over the round's halves."""
    b, t = _halves(baseline), _halves(twin)
    if len(baseline) < 2 or len(twin) < 2:
        return stats.log_ratio(stats.median(baseline), stats.median(twin))
    return stats.round_log_ratio([(b[0], t[0]), (b[1], t[1])])


@dataclass(frozen=True)
class PairedSpeedup:
    ratio: float
    """``t_baseline / t_twin``: above 1, the twin is faster."""
    low: float
    high: float
    log_ratios: tuple[float, ...]
    """``r_i`` per round (``ln(t_twin / t_baseline)``)."""
    verdict: Verdict
    confidence: float
    resamples: int
    seed: int


def speedup(
    rounds: Sequence[tuple[Sequence[float], Sequence[float]]],
    thresholds: Thresholds,
    seed: int,
) -> PairedSpeedup | None:
    """The speedup over ``rounds`` of (baseline values, twin values); ``None`` without a
    round where both sides have values."""
    ratios = [round_log_ratio(b, t) for b, t in rounds if b and t]
    if not ratios:
        return None
    iv = stats.bootstrap_median(ratios, confidence=CONFIDENCE, resamples=RESAMPLES, seed=seed)
    low, high = iv.low, iv.high
    if len(ratios) > 1:
        sd = stats.spread(ratios).stdev
        half = t_995(len(ratios) - 1) * MEDIAN_EFFICIENCY * sd / math.sqrt(len(ratios))
        low, high = min(low, iv.estimate - half), max(high, iv.estimate + half)
    return PairedSpeedup(
        ratio=math.exp(-iv.estimate),
        low=math.exp(-high),
        high=math.exp(-low),
        log_ratios=tuple(ratios),
        verdict=classify(iv.estimate, low, high, thresholds),
        confidence=iv.confidence,
        resamples=iv.resamples,
        seed=iv.seed,
    )
