"""A small log-log line chart as static inline SVG (no script, no external reference).

One line per series (an implementation, or an Envoy filter-chain shape), a marker with a
hover title at every point, an optional dashed power-law fit, decade ticks on both axes
(with 2 and 5 between when the range spans fewer than three decades), and a legend that
shows each series' fitted exponent (``N^1.98``), which is what the reader compares.

The same idea as matplotlib's ``loglog`` with ``LogLocator(subs=(1, 2, 5))``, written out
in a page of code so that the report stays one self-contained file without a plotting
dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from gwbench.units import format_seconds

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

Formatter = Callable[[float], str]
GRID = "#e6e9ee"


@dataclass(frozen=True)
class Series:
    """One line: points ``(x, y)``, both positive, plus its fitted exponent if any."""

    name: str
    points: tuple[tuple[float, float], ...]
    exponent: float | None = None
    r_squared: float | None = None
    intercept: float | None = None
    """Natural-log intercept of the fit; with ``exponent``, draws the dashed fit line."""


def format_count(value: float) -> str:
    """1200 -> ``1.2k``; 20000 -> ``20k``."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _tick(
    axis: str,
    line: tuple[float, float, float, float],
    at: tuple[float, float],
    anchor: str,
    label: str,
) -> str:
    """A grid line across the plot and its tick label."""
    x1, y1, x2, y2 = line
    return (
        f'<line class="grid" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        f'stroke="{GRID}"/><text class="tick {axis}-tick" x="{at[0]:.1f}" y="{at[1]:.1f}" '
        f'text-anchor="{anchor}">{escape(label)}</text>'
    )


def log_ticks(low: float, high: float) -> list[float]:
    """Tick positions covering ``[low, high]``: decades when the range spans more than
    three, else 1, 2 and 5 per decade, else every integer multiple; the two ends when even
    those give fewer than two ticks."""
    if low <= 0 or high <= 0:
        raise ValueError("log ticks need positive bounds")
    lo_exp = math.floor(math.log10(low))
    hi_exp = math.ceil(math.log10(high))
    ladder: tuple[tuple[int, ...], ...] = (
        ((1,),) if hi_exp - lo_exp > 3 else ((1, 2, 5), tuple(range(1, 10)))
    )
    ticks: list[float] = []
    for subs in ladder:
        ticks = [
            m * 10.0**e
            for e in range(lo_exp, hi_exp + 1)
            for m in subs
            if low * (1 - 1e-9) <= m * 10.0**e <= high * (1 + 1e-9)
        ]
        if len(ticks) >= 3:
            break
    if len(ticks) < 2:
        ticks = sorted({low, high})
    return ticks


def _padded_range(values: Sequence[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if lo == hi:
        return lo / 2, hi * 2
    pad = (math.log10(hi) - math.log10(lo)) * 0.06
    return lo / 10**pad, hi * 10**pad


def exponent_label(series: Series) -> str:
    if series.exponent is None:
        return series.name
    label = f"{series.name}  N^{series.exponent:.2f}"
    if series.r_squared is not None:
        label += f" (R² {series.r_squared:.3f})"
    return label


def loglog_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str = "Ingresses (N)",
    y_label: str = "time per call",
    x_format: Formatter = format_count,
    y_format: Formatter = format_seconds,
    width: int = 620,
    height: int = 360,
    chart_id: str = "chart",
) -> Markup:
    """The chart as an ``<svg>`` element (safe to embed: every text is escaped).

    Series without a positive point are listed in the legend only.
    """
    drawable = [s for s in series if any(x > 0 and y > 0 for x, y in s.points)]
    xs = [x for s in drawable for x, y in s.points if x > 0 and y > 0]
    ys = [y for s in drawable for x, y in s.points if x > 0 and y > 0]
    legend_rows = len(series)
    left, right, top = 72, 16, 34
    bottom = 46 + 18 * legend_rows
    plot_w = width - left - right
    plot_h = height - top - bottom
    if plot_h < 80:
        height += 80 - plot_h
        plot_h = 80
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text class="chart-title" x="{left}" y="20">{escape(title)}</text>',
    ]
    if not xs:
        out.append(
            f'<text class="chart-empty" x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
            'text-anchor="middle">no data</text>'
        )
    else:
        x_lo, x_hi = _padded_range(xs)
        y_lo, y_hi = _padded_range(ys)

        def px(x: float) -> float:
            span = math.log10(x_hi) - math.log10(x_lo)
            return left + (math.log10(x) - math.log10(x_lo)) / span * plot_w

        def py(y: float) -> float:
            span = math.log10(y_hi) - math.log10(y_lo)
            return top + plot_h - (math.log10(y) - math.log10(y_lo)) / span * plot_h

        out.append(
            f'<rect class="plot" x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
            'fill="#ffffff" stroke="#c9ced6"/>'
        )
        for t in log_ticks(x_lo, x_hi):
            x = px(t)
            out.append(
                _tick("x", (x, top, x, top + plot_h), (x, top + plot_h + 15), "middle", x_format(t))
            )
        for t in log_ticks(y_lo, y_hi):
            y = py(t)
            out.append(
                _tick("y", (left, y, left + plot_w, y), (left - 6, y + 4), "end", y_format(t))
            )
        out.append(
            f'<text class="axis-label" x="{left + plot_w / 2:.1f}" y="{top + plot_h + 32}" '
            f'text-anchor="middle">{escape(x_label)} (log)</text>'
            f'<text class="axis-label" transform="rotate(-90)" x="{-(top + plot_h / 2):.1f}" '
            f'y="14" text-anchor="middle">{escape(y_label)} (log)</text>'
        )
        for i, s in enumerate(series):
            colour = PALETTE[i % len(PALETTE)]
            pts = sorted((x, y) for x, y in s.points if x > 0 and y > 0)
            if not pts:
                continue
            if s.exponent is not None and s.intercept is not None and len(pts) > 1:
                f0, f1 = pts[0][0], pts[-1][0]
                g0 = math.exp(s.intercept + s.exponent * math.log(f0))
                g1 = math.exp(s.intercept + s.exponent * math.log(f1))
                if y_lo <= g0 <= y_hi and y_lo <= g1 <= y_hi:
                    out.append(
                        f'<line class="fit" x1="{px(f0):.1f}" y1="{py(g0):.1f}" '
                        f'x2="{px(f1):.1f}" y2="{py(g1):.1f}" stroke="{colour}" '
                        'stroke-dasharray="5 4" stroke-width="1.2" opacity="0.7"/>'
                    )
            d = " ".join(
                f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y) in enumerate(pts)
            )
            out.append(
                f'<path class="series" data-series="{escape(s.name)}" d="{d}" '
                f'stroke="{colour}" fill="none" stroke-width="2.2" stroke-linejoin="round"/>'
            )
            for x, y in pts:
                out.append(
                    f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.2" '
                    f'fill="{colour}"><title>{escape(s.name)}: N={escape(x_format(x))}, '
                    f"{escape(y_format(y))}</title></circle>"
                )
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        y = top + plot_h + 44 + 18 * i
        out.append(
            f'<g class="legend-item"><line x1="{left}" y1="{y - 4}" x2="{left + 22}" '
            f'y2="{y - 4}" stroke="{colour}" stroke-width="2.5"/>'
            f'<text class="legend" x="{left + 30}" y="{y}">{escape(exponent_label(s))}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))
