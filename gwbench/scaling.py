"""Empirical complexity: least-squares fit of ``log(metric) = a + b log(N)``.

The exponent ``b`` is what the report shows and the gate compares: a linear scan per
lookup over N servers gives about 2 (O(N^2) per listener build), a map built once about 1.
R^2 says how well one power law describes the sweep; with two sizes it is 1 by
construction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gwbench.results import Point, ScalingFit


@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`fit_power_law`; ``exponent`` is ``None`` when no fit was possible
    and ``reason`` then says why."""

    exponent: float | None
    intercept: float | None
    """``a`` in ``log(metric) = a + b log(N)`` (natural logarithms)."""
    r_squared: float | None
    sizes: tuple[int, ...]
    reason: str | None = None

    def predict(self, size: float) -> float | None:
        """The fitted metric at ``size``."""
        if self.exponent is None or self.intercept is None:
            return None
        return math.exp(self.intercept + self.exponent * math.log(size))


def fit_power_law(sizes: Sequence[int], values: Sequence[float]) -> PowerLawFit:
    """Fit ``values ~ exp(a) * sizes ** b`` by least squares on the logarithms.

    Needs at least two distinct positive sizes and positive values; otherwise returns a
    fit without exponent and with the reason.
    """
    if len(sizes) != len(values):
        raise ValueError(f"{len(sizes)} sizes but {len(values)} values")
    used = tuple(int(n) for n in sizes)
    for n, v in zip(sizes, values, strict=True):
        if n <= 0:
            return PowerLawFit(None, None, None, used, f"size {n} is not positive")
        if not v > 0.0 or math.isinf(v):
            return PowerLawFit(None, None, None, used, f"value {v} at N={n} is not positive")
    if len(set(sizes)) < 2:
        return PowerLawFit(None, None, None, used, "fewer than 2 distinct sizes")
    xs = [math.log(n) for n in sizes]
    ys = [math.log(v) for v in values]
    k = len(xs)
    mx = sum(xs) / k
    my = sum(ys) / k
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    # a flat metric (exponent 0) is fitted perfectly; rounding leaves ss_tot near 0
    r2 = 1.0 if ss_tot < 1e-18 else max(0.0, 1.0 - ss_res / ss_tot)
    return PowerLawFit(exponent=b, intercept=a, r_squared=r2, sizes=used)


def point_fits(points: Sequence[Point]) -> tuple[ScalingFit, ...]:
    """Fits of one implementation's points: time (medians), then every counter."""
    from gwbench.results import COUNTER_METRIC_PREFIX, TIME_METRIC, ScalingFit

    fits: list[ScalingFit] = []
    timed = [p for p in points if p.timing is not None]
    f = fit_power_law([p.size for p in timed], [p.timing.median for p in timed if p.timing])
    fits.append(ScalingFit(TIME_METRIC, f.exponent, f.intercept, f.r_squared, f.sizes, f.reason))
    for name in sorted({c for p in points for c in p.counters}):
        have = [p for p in points if name in p.counters]
        f = fit_power_law([p.size for p in have], [float(p.counters[name]) for p in have])
        fits.append(
            ScalingFit(
                COUNTER_METRIC_PREFIX + name,
                f.exponent,
                f.intercept,
                f.r_squared,
                f.sizes,
                f.reason,
            )
        )
    return tuple(fits)
