"""The gate's HTML page (``report.html`` in the gate's output directory).

It opens with the verdict and the thresholds, then one row per hot path, implementation
and N with its verdict and why, then the differential flame graphs and notes, and links
to each side's full report. A pure function of a :class:`~reports.gate_view.GateView`;
every value from the repository is escaped. Verdicts carry the shared CSS classes
(:func:`gwbench.verdicts.css_class`): ``verdict-slower`` and ``verdict-regression`` are red.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from gwbench.reports.gate_summary import counts_line, rounds_text, row_why
from gwbench.reports.gate_view import GateView, RowView, short

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px;
       padding: 0 16px; color: #1f2328; }
h1 { font-size: 22px; margin: 0 0 8px; }
.banner { padding: 14px 18px; border-radius: 8px; margin-bottom: 16px; }
.verdict { display: inline-block; font-weight: 600; padding: 1px 8px; border-radius: 10px;
           white-space: nowrap; background: #eef1f4; color: #3b444d; }
.verdict-regression, .verdict-slower { background: #ffebe9; color: #cf222e; }
.verdict-inconclusive { background: #fff8c5; color: #7d4e00; }
.verdict-faster { background: #dafbe1; color: #1a7f37; }
.verdict-no-change, .verdict-pass { background: #eef1f4; color: #3b444d; }
table { border-collapse: collapse; width: 100%; margin: 12px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #d0d7de;
         vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.why { font-size: 12px; color: #57606a; }
.small { font-size: 12px; color: #57606a; }
"""


def css(verdict: str) -> str:
    return "verdict-" + verdict.replace(" ", "-")


def _pill(verdict: str) -> Markup:
    return Markup('<span class="verdict {}">{}</span>').format(css(verdict), verdict)


def _row(row: RowView, view: GateView) -> Markup:
    t = row.decisive_time
    time = t.text() if t is not None else f"not timed ({row.kind})"
    return Markup(
        '<tr class="row-{cls}"><td>{pill}</td><td>{hp}</td><td>{impl}</td>'
        '<td class="num">{n}</td><td class="num">{time}</td><td class="why">{why}</td></tr>'
    ).format(
        cls=css(str(row.verdict)),
        pill=_pill(str(row.verdict)),
        hp=row.hotpath,
        impl=row.implementation,
        n=f"{row.size:,}",
        time=time,
        why=row_why(row, view.ladder),
    )


def render_html(view: GateView, *, side_reports: Sequence[tuple[str, str]] = ()) -> str:
    """The page; ``side_reports`` are (label, relative link) of each side's report."""
    title = f"gwbench gate: {view.verdict}"
    rows = Markup("").join(_row(r, view) for r in view.rows) or Markup(
        '<tr><td colspan="6">nothing compared</td></tr>'
    )
    profiles = Markup("").join(
        Markup('<li>{}: <a href="{}">{}</a></li>').format(p.row, p.page, p.page)
        if p.page is not None
        else Markup("<li>{}: none ({})</li>").format(p.row, p.reason or "no samples")
        for p in view.profiles
    )
    notes = Markup("").join(Markup("<li>{}</li>").format(n) for n in view.notes)
    links = Markup(" · ").join(
        Markup('<a href="{}">{}</a>').format(href, label) for label, href in side_reports
    )
    strict = ""
    if view.verdict == "inconclusive":
        strict = " (fails under --strict)" if not view.strict else " (--strict: fails)"
    body = Markup(
        '<div class="banner {cls}"><h1>{title}{strict}</h1>'
        "<div>exit code {exit}; rows: {counts}</div></div>"
        "<p><strong>Thresholds</strong> ({source}): {thresholds}.</p>"
        "<p class=small>Base <code>{base}</code> ({base_named}) vs head <code>{head}</code> "
        "({head_ref}); N = {sizes}; {rounds}, {metric} time. "
        "Time: head/base, median over rounds with its 99% bootstrap interval.</p>"
        "<table><thead><tr><th>verdict</th><th>hot path</th><th>implementation</th>"
        "<th>N</th><th>time head/base [99% CI]</th><th>why</th></tr></thead>"
        "<tbody>{rows}</tbody></table>"
    ).format(
        cls=css(view.verdict),
        title=title,
        strict=strict,
        exit=view.exit_code,
        counts=counts_line(view),
        source=view.thresholds_source,
        thresholds=view.describe_thresholds(),
        base=short(view.base_commit),
        base_named=view.base_named,
        head=short(view.head_commit),
        head_ref=view.head_ref,
        sizes=", ".join(f"{n:,}" for n in view.sizes),
        rounds=rounds_text(view),
        metric=view.time_metric,
        rows=rows,
    )
    if profiles:
        body += Markup("<h2>Differential flame graphs (base → head)</h2><ul>{}</ul>").format(
            profiles
        )
    if notes:
        body += Markup("<h2>Notes</h2><ul>{}</ul>").format(notes)
    if links:
        body += Markup("<p>Full reports: {}</p>").format(links)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
