"""The short markdown summary, for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

Built as a list of lines (pyperf's formatters do the same), from the same
:mod:`reports.view` summary as the HTML report: the workload and machine in one line, the
end-to-end speedup, a table of every hot path's speedup at N with its interval and scaling
exponents, and, with a reference, the regression table (regressions first).

GitHub renders HTML inside markdown, so every value from the results is escaped: ``<``,
``>`` and ``&`` as entities, ``|`` (it would split a table cell) and backticks with a
backslash, newlines folded into spaces.
"""

from __future__ import annotations

from gwbench.reports import view as v
from gwbench.reports.mdtext import md_escape
from gwbench.reports.model_check import markdown_lines as model_check_lines
from gwbench.reports.regression import Comparison, ComparisonRow, compare_results
from gwbench.results import Results
from gwbench.verdicts import MARKS

VERDICT_MARK: dict[str, str] = {
    **{str(k): v for k, v in MARKS.items()},
    "warn": "🟠 warn",
    "minor improvement": "🟢 minor improvement",
    "improvement": "🟢 improvement",
}
"""Every verdict a comparison row may carry, the ladder's marks
(:data:`gwbench.verdicts.MARKS`) first."""


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _interval(low: float, high: float) -> str:
    return f"[{v.fmt_speedup(low)}, {v.fmt_speedup(high)}]"


SPEEDUP_MARK: dict[str, str] = {
    "faster": "🟢 faster",
    "no change": "no change",
    "inconclusive": "⚪ inconclusive",
    "slower": "🔴 **slower**",
}
"""Verdicts of ``run``'s speedups; slower is red, as on the HTML cards."""


def _speedup_row(sp: v.SpeedupView) -> str:
    role = "" if sp.role == "fix" else f" ({sp.role})"
    exponents = f"{v.fmt_exponent(sp.baseline_exponent)} → {v.fmt_exponent(sp.exponent)}"
    if sp.fit_caveat:
        exponents += f" ⚠ {md_escape(sp.fit_caveat)}"
    figure = v.fmt_speedup(sp.ratio)
    return _row(
        [
            md_escape(sp.hotpath),
            md_escape(sp.implementation) + role,
            f"{sp.size:,}",
            f"{v.fmt_seconds(sp.baseline_median)} → {v.fmt_seconds(sp.median)}",
            f"**{figure}**",
            sp.ci,
            SPEEDUP_MARK[sp.verdict],
            exponents,
        ]
    )


def stage_lines(stages: v.StageBreakdown) -> list[str]:
    """Where the end-to-end time goes, one line."""
    names = [s.implementation for s in stages.sides]
    parts = []
    for label, cells in stages.rows:
        shares = " → ".join(v.fmt_percent(c.share) if c else "–" for c in cells)
        parts.append(f"{label} {shares}")
    return [
        f"Stages of {md_escape(stages.hotpath)} at N={stages.size:,} "
        f"(share of one call, {' → '.join(md_escape(n) for n in names)}): "
        + ", ".join(parts)
        + ".",
        "",
    ]


def summary_lines(summary: v.Summary) -> list[str]:
    w, m, r = summary.workload, summary.machine, summary.run
    share = v.fmt_percent(w.custom_domain_share) if w.custom_domain_share is not None else "–"
    title = f"### gwbench: {w.ingresses:,} Ingresses"
    if summary.partial:
        title += " (partial run)"
    lines = [title, ""]
    if summary.partial:
        reason = f": {md_escape(r.reason)}" if r.reason else ""
        lines += [f"> **Partial run**{reason}. Only finished benchmarks are shown.", ""]
    lines.append(
        f"Workload: {md_escape(w.source)}, seed {w.seed}, custom-domain share {share}, "
        f"sweep {', '.join(f'{n:,}' for n in w.sizes)}. "
        f"Machine: {md_escape(m.env.cpu_model)}, {m.env.usable_cpus} of {m.env.cpu_count} CPUs, "
        f"Python {md_escape(m.python)}, protobuf {md_escape(m.env.protobuf_backend)}. "
        f"Mode {md_escape(r.mode)}."
    )
    lines.append("")
    for e2e in summary.end_to_end:
        lines.append(
            f"**End to end ({md_escape(e2e.hotpath)}, {md_escape(e2e.implementation)} vs "
            f"{md_escape(e2e.baseline)} at N={e2e.size:,}): {e2e.change}, "
            f"{v.fmt_speedup(e2e.ratio)}, {SPEEDUP_MARK[e2e.verdict]}** ({e2e.ci})"
        )
    if summary.end_to_end:
        lines.append("")
    if summary.stages is not None:
        lines += stage_lines(summary.stages)
    lines += [
        _row(
            [
                "hot path",
                "implementation",
                "N",
                "baseline → implementation",
                "speedup",
                "interval",
                "verdict",
                "exponent (baseline → impl)",
            ]
        ),
        _row(["---", "---", "---:", "---:", "---:", "---", "---", "---"]),
    ]
    for hp in summary.hotpaths:
        if not hp.speedups:
            lines.append(_row([md_escape(hp.name), "–", "–", "–", "–", "–", "–", "–"]))
    lines += [_speedup_row(sp) for sp in (*summary.fixes, *summary.others)]
    lines += ["", f"Verdicts: {md_escape(summary.thresholds)}."]
    if summary.envoy_model is not None:
        lines += ["", "#### Models held against the real Envoy", ""]
        lines += model_check_lines(summary.envoy_model)
    return lines


def comparison_lines(comparison: Comparison, *, limit: int = 30) -> list[str]:
    counts = ", ".join(f"{comparison.count(k)} {k}" for k in VERDICT_MARK if comparison.count(k))
    lines = [
        "",
        f"#### Against {md_escape(comparison.reference_label)}: {counts}",
        "",
        f"Time ratio now / {md_escape(comparison.reference_label)} (above 1: slower), "
        f"{comparison.confidence:.0%} bootstrap interval; regression above "
        f"{comparison.threshold:.2f} with the interval above 1.",
        "",
        _row(
            [
                "verdict",
                "hot path",
                "implementation",
                "N",
                "before",
                "now",
                "ratio",
                "interval",
                "counters changed",
            ]
        ),
        _row(["---", "---", "---", "---:", "---:", "---:", "---:", "---", "---"]),
    ]
    shown: list[ComparisonRow] = list(comparison.rows[:limit])
    for r in shown:
        counters = (
            "; ".join(
                f"{md_escape(c.name)} {v.fmt_int(c.reference)} → {v.fmt_int(c.candidate)}"
                for c in r.counter_changes
            )
            or "none"
        )
        lines.append(
            _row(
                [
                    VERDICT_MARK[r.verdict],
                    md_escape(r.hotpath),
                    md_escape(r.implementation),
                    f"{r.size:,}",
                    v.fmt_seconds(r.reference_median),
                    v.fmt_seconds(r.candidate_median),
                    f"{r.ratio:.3f}",
                    f"[{r.ci_low:.3f}, {r.ci_high:.3f}]",
                    counters,
                ]
            )
        )
    if len(comparison.rows) > limit:
        lines.append(f"\n… and {len(comparison.rows) - limit} more rows in the HTML report.")
    return lines


def render_markdown(
    results: Results,
    compare: Results | Comparison | None = None,
    *,
    reference_label: str = "reference",
) -> str:
    """The summary as markdown (ends with a newline)."""
    lines = summary_lines(v.summarize(results))
    if compare is not None:
        comparison = (
            compare_results(compare, results, reference_label=reference_label)
            if isinstance(compare, Results)
            else compare
        )
        lines += comparison_lines(comparison)
    return "\n".join(lines) + "\n"
