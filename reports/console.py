"""The table ``gwbench run`` prints at the end: results in, lines out (80 columns).

One row per hot path and implementation at N: the median time per call, the speedup over
the baseline with its interval at the level the results carry, and the verdict
(:mod:`gwbench.verdicts`); an implementation whose size limit is below N reads ``not run``,
with the limit under the table. A slower
implementation reads ``SLOWER !`` so that it stands out in a plain CI log; the thresholds
behind the verdicts close the table. Built from the same :mod:`reports.view` summary as the
HTML and markdown reports, as a list of lines (pyperf's formatters do the same).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from gwbench.reports import view as v
from gwbench.results import Results

WIDTH = 80
HEADER = ("hot path", "impl", "median", "speedup", "CI", "verdict")
NUMERIC = (False, False, True, True, True, False)
SLOWER_MARK = "SLOWER !"
MIN_NAME = 8
"""Hot path and implementation names shrink to this, no further, when the table would
be wider than :data:`WIDTH`."""


def verdict_text(verdict: str) -> str:
    return SLOWER_MARK if verdict == "slower" else verdict


def _rows(summary: v.Summary) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for hp in summary.hotpaths:
        top = hp.groups[0] if hp.groups else None
        if top is None:
            rows.append((hp.name, "–", "not timed", "", "", ""))
            continue
        for row in top.rows:
            name = hp.name  # on every row: a CI log is read with grep
            if row.not_run_above is not None:
                rows.append((name, row.implementation, "not run", "", "", ""))
                continue
            if row.error is not None:
                rows.append((name, row.implementation, "failed", "", "", ""))
                continue
            sp = row.speedup
            median = v.fmt_seconds(row.median)
            if sp is None:
                rows.append((name, row.implementation, median, "", "", ""))
                continue
            interval = f"{v.fmt_speedup(sp.ci_low)}–{v.fmt_speedup(sp.ci_high)}"
            rows.append(
                (
                    name,
                    row.implementation,
                    median,
                    v.fmt_speedup(sp.ratio),
                    interval,
                    verdict_text(sp.verdict),
                )
            )
    return rows


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: Sequence[tuple[str, ...]], width: int, header: tuple[str, ...]) -> list[str]:
    table = [header, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    gaps = 2 * (len(HEADER) - 1)
    while sum(widths) + gaps > width:  # names give way first, the wider one first
        col = 0 if widths[0] >= widths[1] else 1
        if widths[col] <= MIN_NAME:
            break
        widths[col] -= 1
    lines = []
    for r in table:
        cells = [
            _clip(c, w).rjust(w) if numeric and r is not header else _clip(c, w).ljust(w)
            for c, w, numeric in zip(r, widths, NUMERIC, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def render_console(results: Results, *, width: int = WIDTH) -> list[str]:
    """The run's summary table, each line at most ``width`` columns (names are clipped
    before anything else)."""
    summary = v.summarize(results)
    w = summary.workload
    levels = ", ".join(v.fmt_level(c) for c in summary.confidence_levels)
    header = (
        *HEADER[:4],
        f"{levels} CI" if len(summary.confidence_levels) == 1 else "CI",
        HEADER[5],
    )
    lines = [
        _clip(
            f"gwbench: {w.ingresses:,} Ingresses ({summary.run.mode}"
            f"{', partial' if summary.partial else ''}); at N = {w.ingresses:,}:",
            width,
        ),
    ]
    for e2e in summary.end_to_end:
        lines.append(
            _clip(
                f"end to end ({e2e.hotpath}): {e2e.change}, {v.fmt_speedup(e2e.ratio)}, "
                f"{e2e.ci}, {verdict_text(e2e.verdict)}",
                width,
            )
        )
    lines.append("")
    lines += _table(_rows(summary), width, header)
    lines += [
        _clip(f"{hp.name} {impl}: not run above N={limit:,} (its size limit)", width)
        for hp in summary.hotpaths
        for impl, limit in hp.limits
    ]
    lines.append("")
    lines += textwrap.wrap(
        f"speedup = baseline median / implementation median, with its {levels or '–'} "
        f"CI over the paired rounds. Verdicts: {summary.thresholds}.",
        width,
    )
    return lines
