"""``gwbench compare``'s output: the regression table of two stored results as console
lines and as markdown. Pure functions of a :class:`~reports.regression.Comparison` and the
exact findings (counters and exponents above their thresholds, as sentences).

Both state the thresholds (:func:`gwbench.verdicts.describe_thresholds`) and give every
row a verdict of the one ladder; "slower" and "regression" are red (the markdown mark, and
the console ``style``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gwbench.reports.mdtext import md_escape
from gwbench.reports.regression import Comparison, ComparisonRow
from gwbench.units import format_seconds
from gwbench.verdicts import MARKS, Shown

Style = Callable[[str, Shown], str]


def counts_line(comparison: Comparison) -> str:
    order: tuple[Shown, ...] = ("regression", "slower", "inconclusive", "no change", "faster")
    parts = [f"{comparison.count(v)} {v}" for v in order if comparison.count(v)]
    return ", ".join(parts)


def interval_text(row: ComparisonRow) -> str:
    if row.identical:
        return "[1, 1] (same values)"
    return f"[{row.ci_low:.3f}, {row.ci_high:.3f}]"


def threshold_line(comparison: Comparison) -> str:
    return (
        f"thresholds ({comparison.thresholds_source}): {comparison.describe()}. Time: "
        f"candidate / reference median (above 1: slower), {comparison.confidence:.0%} "
        "bootstrap interval over each side's stored values."
    )


def console_lines(
    comparison: Comparison,
    exact: Sequence[str],
    style: Style = lambda text, _verdict: text,
) -> list[str]:
    header = (
        f"{'verdict':<12} {'hot path':<18} {'implementation':<14} {'N':>7} "
        f"{'ratio':>6}  {'99% interval':<16} counters changed"
    )
    lines = [
        threshold_line(comparison),
        f"rows: {counts_line(comparison)}",
        "",
        header,
        "-" * len(header),
    ]
    for r in comparison.rows:
        changed = ", ".join(f"{c.name} {c.reference}->{c.candidate}" for c in r.counter_changes)
        verdict = style(f"{r.verdict:<12}", r.verdict)
        lines.append(
            f"{verdict} {r.hotpath:<18} {r.implementation:<14} {r.size:>7,} "
            f"{r.ratio:>6.3f}  {interval_text(r):<16} {changed or '='}"
        )
    untimed = [s for s in comparison.skipped if s.endswith("no timing on one side")]
    for s in comparison.skipped:
        if s not in untimed:
            lines.append(f"skipped: {s}")
    if untimed:
        lines.append(f"skipped {len(untimed)} without timing on one side (counters checked)")
    if exact:
        lines += ["", "counters and scaling above the thresholds:"]
        lines += [f"  {x}" for x in exact]
    return lines


def markdown_lines(comparison: Comparison, exact: Sequence[str]) -> list[str]:
    lines = [
        f"#### Against {md_escape(comparison.reference_label)}: {counts_line(comparison)}",
        "",
        md_escape(threshold_line(comparison)),
        "",
        "| verdict | hot path | implementation | N | before | now | ratio | interval |"
        " counters changed |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in comparison.rows:
        counters = (
            "; ".join(
                f"{md_escape(c.name)} {c.reference} → {c.candidate}" for c in r.counter_changes
            )
            or "none"
        )
        cells = [
            MARKS[r.verdict],
            md_escape(r.hotpath),
            md_escape(r.implementation),
            f"{r.size:,}",
            format_seconds(r.reference_median),
            format_seconds(r.candidate_median),
            f"{r.ratio:.3f}",
            md_escape(interval_text(r)),
            counters,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if exact:
        lines += ["", "**Counters and scaling above the thresholds**", ""]
        lines += [f"- {md_escape(x)}" for x in exact]
    return lines
