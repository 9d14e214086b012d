"""The one verdict ladder of every time comparison: ``run``'s speedups, ``compare`` rows
and the gate's rows.

A comparison is an estimate of ``r = ln(t_new / t_old)`` (positive: the new side is slower)
with a confidence interval ``[low, high]``. With the band ``b = ln(1 + no_change)``:

- **no change**: the whole interval lies inside ``[-b, +b]``;
- **slower**: the estimate is above ``+b`` and the interval lies above 0;
- **faster**: the estimate is below ``-b`` and the interval lies below 0;
- **inconclusive**: anything else (an interval too wide to say).

The gate's *regression* is a slower verdict whose estimate is also above ``ln(1 + fail)``
(and confirmed by a second batch); :func:`is_regression` says so. Thresholds come from
``ci/thresholds.toml`` (``time_warn`` is the band, ``time_fail`` the regression), and every
output states them (:func:`describe_thresholds`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["faster", "no change", "slower", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("slower", "inconclusive", "no change", "faster")
"""Worst first: the order tables sort by."""

DEFAULT_NO_CHANGE = 0.05
DEFAULT_FAIL = 0.10


@dataclass(frozen=True)
class Thresholds:
    """Relative thresholds: ``no_change`` the half-width of the "no change" band,
    ``fail`` the slowdown the gate calls a regression."""

    no_change: float = DEFAULT_NO_CHANGE
    fail: float = DEFAULT_FAIL


def classify(estimate: float, low: float, high: float, thresholds: Thresholds) -> Verdict:
    """The verdict of a log-ratio ``estimate`` with interval ``[low, high]``."""
    band = math.log1p(thresholds.no_change)
    if -band <= low and high <= band:
        return "no change"
    if estimate > band and low > 0:
        return "slower"
    if estimate < -band and high < 0:
        return "faster"
    return "inconclusive"


def is_regression(estimate: float, low: float, thresholds: Thresholds) -> bool:
    """Slower by more than the failure threshold, with the interval above 0."""
    return estimate > math.log1p(thresholds.fail) and low > 0


def describe_thresholds(thresholds: Thresholds) -> str:
    """One sentence that states the thresholds, for every output that gives verdicts."""
    band = thresholds.no_change * 100
    fail = thresholds.fail * 100
    return (
        f"no change: the whole interval within ±{band:g}%; "
        f"slower/faster: estimate beyond ±{band:g}% and the interval clear of 0; "
        f"regression: slower by more than {fail:g}%"
    )
