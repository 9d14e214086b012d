"""Quantities as people read them: the one seconds formatter of gwbench.

Every table, chart axis, tooltip and summary that shows a duration goes through
:func:`format_seconds`, so a median reads the same in the console, the markdown summary
and the HTML report.
"""

from __future__ import annotations

import math

MISSING = "–"
"""What a missing or non-finite figure reads as."""

_UNITS = ((1.0, 1.0, "s"), (1e-3, 1e3, "ms"), (1e-6, 1e6, "µs"))


def format_seconds(value: float | None, *, missing: str = MISSING) -> str:
    """Seconds in the unit that keeps three significant digits readable:
    ``12.3 ms``, ``4.2 µs``, ``1.5 s``, ``1,234 s``; ``missing`` for ``None``, NaN or
    infinity. Negative values (a change) keep their sign."""
    if value is None or not math.isfinite(value):
        return missing
    if value == 0:
        return "0 s"
    if abs(value) >= 1000:  # .3g would switch to exponent notation
        return f"{value:,.0f} s"
    for limit, scale, unit in _UNITS:
        if abs(value) >= limit:
            return f"{value * scale:.3g} {unit}"
    return f"{value * 1e9:.3g} ns"
