"""The gate's summary: markdown (a pull-request comment, ``$GITHUB_STEP_SUMMARY``) and
console lines. Pure functions of a :class:`~reports.gate_view.GateView`.

Both state the thresholds, give every row a verdict of the one ladder
(:mod:`gwbench.verdicts`) and say for each row why: the counter that changed and by how
much, the exponent that moved and by how much, the interval of the time ratio and where
it lies against the band.

Everything from the repository (refs, hot path names, differences) is escaped in the
markdown, since GitHub renders HTML inside markdown.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from gwbench.reports.gate_view import GateView, RowView, TimeView, short
from gwbench.reports.mdtext import md_escape as esc
from gwbench.verdicts import MARKS, Thresholds

ROW_MARKS: dict[str, str] = {**{str(k): v for k, v in MARKS.items()}, "pass": "✅ pass"}
"""A row's verdict in markdown; ``pass``: not timed, the exact checks pass."""

HEADLINE_MARKS: dict[str, str] = {
    **ROW_MARKS,
    "slower": "🔴 slower (below the regression threshold: passes)",
}

Style = Callable[[str, str], str]
"""``style(text, verdict)``: the console's colouring of a verdict (identity by default)."""


def _plain(text: object) -> str:
    return str(text)


def fmt_change(change: float | None) -> str:
    if change is None:
        return "n/a"
    if math.isinf(change):
        return "from 0"
    return f"{change:+.1%}"


def _count(x: int | None) -> str:
    return "–" if x is None else f"{x:,}"


# ------------------------------------------------------------------ the three reasons


def counters_why(row: RowView, e: Callable[[object], str] = _plain) -> str:
    """``counter dict_builds 1 → 2,000 (from 0, limit +2%)``, or that they are equal."""
    if not row.counters:
        return "no counters"
    changed = row.changed_counters
    if not changed:
        return f"all {len(row.counters)} counters equal"
    worst = row.worst_counter()
    if worst is None:
        return f"{len(changed)} counters on one side only"
    limit = "not checked" if worst.limit is None else f"limit +{worst.limit:.0%}"
    text = (
        f"counter {e(worst.name)} {_count(worst.base)} → {_count(worst.head)} "
        f"({fmt_change(worst.change)}, {limit})"
    )
    if len(changed) > 1:
        text += f" and {len(changed) - 1} more changed"
    return text


def slope_why(row: RowView, e: Callable[[object], str] = _plain) -> str:
    """``exponent of X moved +1.00 (1.00 → 2.00, limit +0.15)``, or that none moved."""
    worst = row.worst_slope()
    if worst is None or worst.delta is None or worst.base is None or worst.head is None:
        return "no exponent fitted"
    if abs(worst.delta) < 0.005:
        return "exponents unchanged (±0.00)"
    return (
        f"exponent of {e(worst.counter)} moved {worst.delta:+.2f} "
        f"({worst.base:.2f} → {worst.head:.2f}, limit +{worst.limit:.2f})"
    )


def _where(t: TimeView, ladder: Thresholds) -> str:
    band = ladder.no_change
    lo, hi = 1.0 / (1.0 + band), 1.0 + band
    if t.verdict == "no change":
        return f"inside the ±{band:.0%} band"
    if t.regression:
        return f"above +{ladder.fail:.0%} with the interval above 1"
    if t.verdict == "slower":
        return f"above +{band:.0%} with the interval above 1"
    if t.verdict == "faster":
        return f"below −{band:.0%} with the interval below 1"
    if t.low < lo or t.high > hi:
        return f"the interval reaches outside ±{band:.0%} and includes 1"
    return "inconclusive"


def _hint(t: TimeView, ladder: Thresholds) -> str:
    """For an inconclusive statistic: how many rounds its spread would need."""
    needed = t.rounds_to_resolve(ladder.no_change)
    if t.verdict != "inconclusive" or needed is None or t.spread is None or needed <= t.rounds:
        return ""
    return (
        f" (the rounds spread by {t.spread:.3f} in ln(ratio): about {needed} rounds would "
        f"resolve ±{ladder.no_change:.0%}; raise max_rounds or max_seconds, or use "
        'time_metric = "cpu" on a shared machine)'
    )


def time_why(row: RowView, ladder: Thresholds) -> str:
    """The interval of the time ratio and where it lies against the thresholds."""
    if row.time is None:
        return f"not timed ({row.kind})"
    first = row.time
    text = f"time {first.text()} over {first.rounds} rounds: {_where(first, ladder)}"
    if row.pooled is not None:
        p = row.pooled
        text += (
            f"; with {p.rounds - first.rounds} more rounds, {p.text()} over {p.rounds} "
            f"rounds: {_where(p, ladder)}"
        )
    if row.confirmation is not None:
        c = row.confirmation
        verdict = "confirmed" if c.regression else "not confirmed"
        text += f"; confirmation batch {c.text()} over {c.rounds} rounds: {verdict}"
    if row.stopped is not None:
        text += f"; stopped at the cap ({row.stopped}), still inconclusive"
    decisive = row.decisive_time
    return text + (_hint(decisive, ladder) if decisive is not None else "")


def row_why(row: RowView, ladder: Thresholds, e: Callable[[object], str] = _plain) -> str:
    parts = []
    if row.head_difference is not None:
        parts.append(f"head result differs from its baseline: {e(row.head_difference)}")
    if row.base_difference is not None:
        parts.append(f"base result differed from its baseline: {e(row.base_difference)}")
    parts += [counters_why(row, e), slope_why(row, e), e(time_why(row, ladder))]
    return "; ".join(parts)


# ------------------------------------------------------------------ cells


def counters_cell(row: RowView) -> str:
    changed = row.changed_counters
    if not row.counters:
        return "–"
    if not changed:
        return "="
    worst = row.worst_counter()
    if worst is None:
        return f"{len(changed)} one side only"
    text = f"{esc(worst.name)} {fmt_change(worst.change)}"
    if worst.failed:
        text = f"**{text}**"
    if len(changed) > 1:
        text += f" (+{len(changed) - 1} more)"
    return text


def slope_cell(row: RowView) -> str:
    worst = row.worst_slope()
    if worst is None or worst.delta is None:
        return "–"
    if abs(worst.delta) < 0.005:
        return "+0.00"
    text = f"{worst.delta:+.2f} ({esc(worst.counter)})"
    return f"**{text}**" if worst.failed else text


def time_cell(row: RowView) -> str:
    if row.time is None:
        return f"not timed ({esc(row.kind)})"
    text = row.time.text()
    if row.pooled is not None:
        text += f"; {row.pooled.rounds} rounds {row.pooled.text()}"
    if row.confirmation is not None:
        text += f"; confirm {row.confirmation.text()}"
    if row.stopped is not None:
        text += f" (cap: {esc(row.stopped)})"
    return text


# ------------------------------------------------------------------ markdown


def headline(view: GateView) -> str:
    mark = HEADLINE_MARKS.get(view.verdict, view.verdict)
    if view.verdict == "inconclusive":
        mark += " (--strict: fails)" if view.strict else " (passes; fails under --strict)"
    return f"### gwbench gate: {mark}"


def _cells(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def counts_line(view: GateView) -> str:
    counts = [f"{view.count(v)} {v}" for v in ROW_MARKS if view.count(v)]
    return ", ".join(counts) if counts else "no rows"


def markdown_lines(view: GateView) -> list[str]:
    sizes = ", ".join(f"{n:,}" for n in view.sizes)
    sweep = ", ".join(f"{n:,}" for n in view.sweep)
    lines = [
        headline(view),
        "",
        f"**Thresholds** ({esc(view.thresholds_source)}): {esc(view.describe_thresholds())}.",
        "",
        f"Rows: {counts_line(view)}. Exit code {view.exit_code}.",
        "",
        _cells(
            [
                "verdict",
                "hot path",
                "implementation",
                "N",
                "counters Δ",
                "slope Δ",
                "time head/base [99% CI]",
            ]
        ),
        _cells(["---", "---", "---", "---:", "---", "---:", "---"]),
    ]
    for row in view.rows:
        lines.append(
            _cells(
                [
                    ROW_MARKS.get(str(row.verdict), esc(row.verdict)),
                    esc(row.hotpath),
                    esc(row.implementation),
                    f"{row.size:,}",
                    counters_cell(row),
                    slope_cell(row),
                    time_cell(row),
                ]
            )
        )
    if not view.rows:
        lines.append(_cells(["–", "nothing compared", "–", "–", "–", "–", "–"]))
    if view.rows:
        lines += ["", "**Why**", ""]
        for r in view.rows:
            mark = ROW_MARKS.get(str(r.verdict), esc(r.verdict))
            lines.append(f"- {esc(r.label())} ({mark}): {row_why(r, view.ladder, esc)}")
    if view.profiles:
        lines += ["", "**Differential flame graphs** (base → head, in the output directory)", ""]
        for p in view.profiles:
            if p.page is not None:
                lines.append(f"- {esc(p.row)}: `{esc(p.page)}`")
            else:
                lines.append(f"- {esc(p.row)}: none ({esc(p.reason or 'no samples')})")
    if view.notes:
        lines += ["", "**Notes**", ""]
        lines += [f"- {esc(n)}" for n in view.notes]
    lines += [
        "",
        f"Base `{short(view.base_commit)}` ({esc(view.base_named)}) vs head "
        f"`{short(view.head_commit)}` ({esc(view.head_ref)}). N = {sizes}; counters fitted "
        f"over {sweep}; seed {view.seed}; {rounds_text(view)}, "
        f"{esc(view.time_metric)} time, a fresh process per side and round. "
        "Counters Δ: the counter that changed most (head vs base, at N). Slope Δ: change of "
        "the fitted exponent log(counter) ~ log(N). Time: median over rounds of "
        "ln(t_head / t_base), shown as a ratio with its 99% bootstrap interval.",
    ]
    return lines


def rounds_text(view: GateView) -> str:
    """How the rounds were run: the first look, the cap, the confirmation batch."""
    text = f"{view.rounds} interleaved ABBA/BAAB rounds"
    if view.max_rounds is not None and view.max_rounds > view.rounds:
        text += f", then more for the rows that cannot yet say, up to {view.max_rounds} rounds"
        if view.max_seconds is not None:
            text += f" or {view.max_seconds:g} s of rounds"
    return text + f" (+{view.confirm_rounds} confirmation rounds where they say regression)"


def render_markdown(view: GateView) -> str:
    return "\n".join(markdown_lines(view)) + "\n"


# ------------------------------------------------------------------ console


def console_lines(view: GateView, style: Style = lambda text, _verdict: text) -> list[str]:
    """Plain lines for a terminal; ``style`` colours each verdict (slower in red)."""
    verdict = style(view.verdict.upper(), view.verdict)
    lines = [
        f"gwbench gate: {verdict}  (exit {view.exit_code})",
        f"thresholds ({view.thresholds_source}): {view.describe_thresholds()}",
        f"base {short(view.base_commit)} ({view.base_named}) vs head "
        f"{short(view.head_commit)} ({view.head_ref}); {view.rounds} rounds per batch",
        "",
    ]
    width = max((len(str(r.verdict)) for r in view.rows), default=7)
    for r in view.rows:
        t = r.decisive_time
        time = t.text() if t is not None else "not timed"
        cell = style(f"{r.verdict!s:<{width}}", str(r.verdict))
        lines.append(f"{cell}  {r.label():<44} {time}")
        lines.append(f"{'':<{width}}    why: {row_why(r, view.ladder)}")
    for p in view.profiles:
        lines.append(f"flame graph {p.row}: {p.page or p.reason}")
    for n in view.notes:
        lines.append(f"note: {n}")
    return lines
