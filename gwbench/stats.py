"""Statistics over benchmark values: median, spread, seeded bootstrap intervals.

Pure functions over sequences of floats (no numpy). Two consumers:

- ``gwbench run``: the speedup of an implementation over its baseline at one size is the
  ratio of medians, with a percentile-bootstrap interval obtained by resampling each
  side's values independently (:func:`bootstrap_ratio_of_medians`).
- the regression gate (docs/gate.md): per interleaved round i, ``r_i = ln(t_head / t_base)``
  (the halves of an ABBA round averaged, :func:`round_log_ratio`); the estimate is the
  median of the ``r_i`` and its interval a 99% percentile bootstrap that resamples whole
  rounds (:func:`paired_log_ratio`, :func:`bootstrap_median`).

Every bootstrap takes an explicit seed, so a report reproduces bit for bit.
"""

from __future__ import annotations

import math
import random
import statistics
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DEFAULT_RESAMPLES = 2000
GATE_RESAMPLES = 10000
GATE_CONFIDENCE = 0.99


@dataclass(frozen=True)
class Spread:
    """Location and spread of one sample of values (seconds per call)."""

    n: int
    median: float
    mean: float
    stdev: float
    """Sample standard deviation; 0.0 for a single value."""
    iqr: float
    """Interquartile range (linear interpolation between order statistics)."""
    mad: float
    """Median absolute deviation from the median (unscaled)."""
    minimum: float
    maximum: float


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile-bootstrap confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    resamples: int
    seed: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def median(values: Sequence[float]) -> float:
    """The median; raises ``ValueError`` on an empty sequence."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0 <= q <= 1), linear interpolation between order statistics
    (the default of R and numpy)."""
    if not values:
        raise ValueError("quantile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    frac = pos - lo
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


def spread(values: Sequence[float]) -> Spread:
    """Median, mean, standard deviation, IQR, MAD, minimum and maximum of ``values``."""
    if not values:
        raise ValueError("spread of no values")
    med = median(values)
    return Spread(
        n=len(values),
        median=med,
        mean=float(statistics.fmean(values)),
        stdev=float(statistics.stdev(values)) if len(values) > 1 else 0.0,
        iqr=quantile(values, 0.75) - quantile(values, 0.25),
        mad=median([abs(v - med) for v in values]),
        minimum=float(min(values)),
        maximum=float(max(values)),
    )


def stable_seed(*parts: object) -> int:
    """A seed derived from ``parts`` that is the same in every process and Python
    version (``hash()`` of strings is randomized per process)."""
    text = "\x1f".join(str(p) for p in parts)
    return zlib.crc32(text.encode("utf-8"))


def _percentile_interval(
    statistic: float,
    replicates: list[float],
    confidence: float,
    resamples: int,
    seed: int,
) -> Interval:
    alpha = 1.0 - confidence
    return Interval(
        estimate=statistic,
        low=quantile(replicates, alpha / 2.0),
        high=quantile(replicates, 1.0 - alpha / 2.0),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )


def _check_confidence(confidence: float, resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence {confidence} outside (0, 1)")
    if resamples < 1:
        raise ValueError("resamples must be >= 1")


def bootstrap(
    values: Sequence[float],
    statistic: Callable[[Sequence[float]], float],
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> Interval:
    """Percentile bootstrap of ``statistic`` over ``values`` (resampled with replacement)."""
    _check_confidence(confidence, resamples)
    if not values:
        raise ValueError("bootstrap of no values")
    rng = random.Random(seed)
    k = len(values)
    replicates = [statistic(rng.choices(values, k=k)) for _ in range(resamples)]
    return _percentile_interval(statistic(values), replicates, confidence, resamples, seed)


def bootstrap_median(
    values: Sequence[float],
    *,
    confidence: float = GATE_CONFIDENCE,
    resamples: int = GATE_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Median of ``values`` with a percentile-bootstrap interval."""
    return bootstrap(values, median, confidence=confidence, resamples=resamples, seed=seed)


def bootstrap_ratio_of_medians(
    numerator: Sequence[float],
    denominator: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """``median(numerator) / median(denominator)`` with a percentile-bootstrap interval;
    both samples are resampled independently (they are not paired).

    For a speedup, pass the baseline's times as ``numerator`` and the candidate's as
    ``denominator``. All values must be positive.
    """
    _check_confidence(confidence, resamples)
    if not numerator or not denominator:
        raise ValueError("ratio of medians needs values on both sides")
    if min(numerator) <= 0.0 or min(denominator) <= 0.0:
        raise ValueError("ratio of medians needs positive values")
    rng = random.Random(seed)
    kn, kd = len(numerator), len(denominator)
    replicates = [
        median(rng.choices(numerator, k=kn)) / median(rng.choices(denominator, k=kd))
        for _ in range(resamples)
    ]
    estimate = median(numerator) / median(denominator)
    return _percentile_interval(estimate, replicates, confidence, resamples, seed)


def log_ratio(base: float, head: float) -> float:
    """``ln(head / base)``: positive when head is slower."""
    if base <= 0.0 or head <= 0.0:
        raise ValueError("log ratio needs positive times")
    return math.log(head / base)


def round_log_ratio(halves: Sequence[tuple[float, float]]) -> float:
    """The log ratio of one interleaved round: the mean over its halves of
    ``ln(head / base)``. For an ABBA round, pass ``[(a1, b1), (a2, b2)]`` with the base
    (A) time first in each pair."""
    if not halves:
        raise ValueError("a round needs at least one (base, head) pair")
    return statistics.fmean(log_ratio(b, h) for b, h in halves)


def paired_log_ratio(
    base: Sequence[float],
    head: Sequence[float],
    *,
    confidence: float = GATE_CONFIDENCE,
    resamples: int = GATE_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The gate's wall-time statistic over paired rounds: ``r_i = ln(head_i / base_i)``,
    estimate the median of the ``r_i``, interval a percentile bootstrap over rounds.

    ``exp(estimate)`` is the typical head/base time ratio.
    """
    if len(base) != len(head):
        raise ValueError(f"paired rounds differ in length: {len(base)} base, {len(head)} head")
    ratios = [log_ratio(b, h) for b, h in zip(base, head, strict=True)]
    return bootstrap_median(ratios, confidence=confidence, resamples=resamples, seed=seed)
