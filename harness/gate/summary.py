"""The gate's markdown summary: for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

Built as a list of lines from a :class:`~harness.gate.engine.GateOutcome` (nothing is
measured here): a verdict line, one line on what was compared and how, a table with one
row per hot path, implementation and N (counters delta, slope delta, time ratio with its
interval, verdict), then why each failing or doubtful row is what it is, and the notes.

Everything from the repository (refs, hot path names, differences) is escaped, since
GitHub renders HTML inside markdown.
"""

from __future__ import annotations

import math
import re

from gwbench.harness.gate.checks import Row, RowVerdict, TimeCheck
from gwbench.harness.gate.engine import GateOutcome
from gwbench.harness.gate.profiles import diff_page
from gwbench.harness.gate.worktree import short

VERDICT_MARK: dict[RowVerdict, str] = {
    "regression": "🔴 regression",
    "warn": "🟠 warn",
    "inconclusive": "⚪ inconclusive",
    "improvement": "🟢 improvement",
    "pass": "✅ pass",
}
_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def esc(text: object) -> str:
    """One table cell or inline value: no HTML, no cell break, no code span, one line."""
    s = str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    s = s.replace("*", "\\*").replace("[", "\\[").replace("]", "\\]")
    s = _EDGE_UNDERSCORE.sub(r"\\_", s)
    return " ".join(s.split())


def _cells(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def fmt_change(change: float | None) -> str:
    if change is None:
        return "n/a"
    if math.isinf(change):
        return "from 0"
    return f"{change:+.1%}"


def counters_cell(row: Row) -> str:
    changed = [c for c in row.counters if c.base != c.head]
    if not row.counters:
        return "–"
    if not changed:
        return "="
    worst = row.worst_counter()
    assert worst is not None
    text = f"{esc(worst.name)} {fmt_change(worst.change)}"
    if worst.failed:
        text = f"**{text}**"
    if len(changed) > 1:
        text += f" (+{len(changed) - 1} more)"
    return text


def slope_cell(row: Row) -> str:
    worst = row.worst_slope()
    if worst is None or worst.delta is None:
        return "–"
    if abs(worst.delta) < 0.005:
        return "+0.00"
    text = f"{worst.delta:+.2f} ({esc(worst.counter)})"
    return f"**{text}**" if worst.failed else text


def time_text(check: TimeCheck) -> str:
    return f"×{check.ratio:.3f} [{check.ratio_low:.3f}, {check.ratio_high:.3f}]"


def time_cell(row: Row) -> str:
    if row.time is None:
        return f"not timed ({esc(row.kind)})"
    text = time_text(row.time)
    if row.confirmation is not None:
        text += f"; confirm {time_text(row.confirmation)}"
    return text


def headline(outcome: GateOutcome) -> str:
    mark = VERDICT_MARK[outcome.verdict]
    if outcome.verdict == "inconclusive":
        mark += " (fails under --strict)" if not outcome.strict else " (--strict: fails)"
    return f"### gwbench gate: {mark}"


def summary_lines(outcome: GateOutcome) -> list[str]:
    s = outcome.settings
    base, head = outcome.base, outcome.head
    sizes = ", ".join(f"{n:,}" for n in s.sizes)
    sweep = ", ".join(f"{n:,}" for n in s.sweep)
    confirm = f" (+{s.confirm_rounds} confirmation rounds where the first batch says regression)"
    lines = [
        headline(outcome),
        "",
        f"Base `{short(base.commit)}` ({esc(outcome.base_ref_named)}) vs head "
        f"`{short(head.commit)}` ({esc(head.ref)}). N = {sizes}; counters fitted over "
        f"{sweep}; seed {s.seed}; {s.rounds} interleaved ABBA/BAAB rounds{confirm}, "
        f"{esc(s.time_metric)} time, a fresh process per side and round, the sides "
        f"alternating value by value on one CPU; thresholds: {esc(s.thresholds_source)}. "
        f"Exit code {outcome.exit_code}.",
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
    for row in outcome.rows:
        lines.append(
            _cells(
                [
                    VERDICT_MARK[row.verdict],
                    esc(row.key.hotpath),
                    esc(row.key.implementation),
                    f"{row.key.size:,}",
                    counters_cell(row),
                    slope_cell(row),
                    time_cell(row),
                ]
            )
        )
    if not outcome.rows:
        lines.append(_cells(["–", "nothing compared", "–", "–", "–", "–", "–"]))
    explained = [r for r in outcome.rows if r.reasons and r.verdict != "pass"]
    if explained:
        lines += ["", "**Why**", ""]
        for r in explained:
            lines.append(
                f"- {esc(r.key.label())} ({VERDICT_MARK[r.verdict]}): "
                + "; ".join(esc(x) for x in r.reasons)
            )
    if outcome.profiles:
        lines += ["", "**Differential flame graphs** (base → head, in the output directory)", ""]
        for p in outcome.profiles:
            if p.base.folded is not None and p.head.folded is not None:
                lines.append(f"- {esc(p.key.label())}: `{diff_page(p.key)}`")
            else:
                reason = p.base.missing_reason or p.head.missing_reason or "no samples"
                lines.append(f"- {esc(p.key.label())}: none ({esc(reason)})")
    if outcome.notes:
        lines += ["", "**Notes**", ""]
        lines += [f"- {esc(n)}" for n in outcome.notes]
    lines += [
        "",
        "Counters Δ: the counter that changed most (head vs base, at N). Slope Δ: change of "
        "the fitted exponent log(counter) ~ log(N). Time: median over rounds of "
        "ln(t_head / t_base), shown as a ratio with its 99% bootstrap interval.",
    ]
    return lines


def render(outcome: GateOutcome) -> str:
    return "\n".join(summary_lines(outcome)) + "\n"
