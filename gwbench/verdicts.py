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

The presentation of a verdict is shared too, so that "slower" is red everywhere: the
markdown mark (:data:`MARKS`), the CSS class of the HTML reports (:func:`css_class`:
``verdict-faster``, ``verdict-no-change``, ``verdict-slower``, ``verdict-inconclusive``,
and ``verdict-regression``) and the console style (:data:`CONSOLE_STYLES`, rich markup).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["faster", "no change", "slower", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("slower", "inconclusive", "no change", "faster")
"""Worst first: the order tables sort by."""

Shown = Literal["regression", "faster", "no change", "slower", "inconclusive"]
"""A verdict as shown: the ladder's, or ``regression`` for a slower row that fails."""

DEFAULT_NO_CHANGE = 0.05
DEFAULT_FAIL = 0.10

MARKS: dict[Shown, str] = {
    "regression": "🔴 regression",
    "slower": "🔴 slower",
    "inconclusive": "⚪ inconclusive",
    "no change": "✅ no change",
    "faster": "🟢 faster",
}
"""The markdown form of each verdict (red circle: slower, and a regression)."""

CONSOLE_STYLES: dict[Shown, str] = {
    "regression": "bold red",
    "slower": "red",
    "inconclusive": "yellow",
    "no change": "",
    "faster": "green",
}
"""The console (rich) style of each verdict."""


@dataclass(frozen=True)
class Thresholds:
    """Relative thresholds: ``no_change`` the half-width of the "no change" band,
    ``fail`` the slowdown the gate calls a regression."""

    no_change: float = DEFAULT_NO_CHANGE
    fail: float = DEFAULT_FAIL

    def __post_init__(self) -> None:
        if not (0.0 <= self.no_change <= self.fail) or not math.isfinite(self.fail):
            raise ValueError(
                f"thresholds need 0 <= no change band ({self.no_change}) <= regression "
                f"({self.fail})"
            )


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


def classify_ratio(ratio: float, low: float, high: float, thresholds: Thresholds) -> Verdict:
    """:func:`classify` of a ratio ``t_new / t_old`` (above 1: slower) and its interval."""
    return classify(math.log(ratio), math.log(low), math.log(high), thresholds)


def is_regression_ratio(ratio: float, low: float, thresholds: Thresholds) -> bool:
    """:func:`is_regression` of a ratio ``t_new / t_old`` and the low end of its interval."""
    return is_regression(math.log(ratio), math.log(low), thresholds)


def css_class(verdict: Shown) -> str:
    """The HTML class of a verdict: ``verdict-no-change`` and so on."""
    return "verdict-" + verdict.replace(" ", "-")


def _pct(x: float) -> str:
    return f"{x * 100:g}%"


def describe_thresholds(thresholds: Thresholds) -> str:
    """One sentence that states the thresholds, for every output that gives verdicts."""
    band = _pct(thresholds.no_change)
    return (
        f"±{band} no change band (the whole interval inside it: no change; "
        f"slower or faster: the estimate beyond ±{band} and the interval clear of ×1), "
        f"regression at +{_pct(thresholds.fail)}"
    )
