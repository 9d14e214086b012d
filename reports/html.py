"""The HTML report: one self-contained file (inline CSS and SVG, no request to anything).

``render_html(results, artefacts=..., compare=...)`` summarizes the results
(:mod:`reports.view`), takes the profile artefacts the caller read (py-spy flame graphs,
folded stacks: :func:`artefact_paths` names them, :class:`Artefacts` holds them; the
renderer reads no file), draws the scaling charts (:mod:`reports.svgchart`) and
differential flame graphs (:mod:`reports.flamediff`), optionally compares against a
reference (:mod:`reports.regression`), and fills ``templates/report.html.j2``.

The page leads with what matters: the end-to-end speedup, one card per hot path's fix with
its absolute times and verdict, the stage breakdown of the end-to-end push; variants and
ablations follow, and the long tables (every counter, every fit) sit behind disclosures.

Everything from the results (and so from the user's manifests and command line) goes
through jinja2's autoescaping; only SVG this package generated itself, from escaped text,
and its own flame-graph script are marked safe. The page carries a Content-Security-Policy
that forbids every network fetch and every script but the flame graphs' own, by hash: the
zoom and search script of :mod:`reports.flamegraph`.

Flame graphs are the bulk of the file. When the report would exceed
:data:`MAX_REPORT_BYTES`, they are drawn again with coarser detail until it fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from gwbench.folded import FoldedStackError, parse_folded
from gwbench.reports import view as v
from gwbench.reports.churn import churn_section
from gwbench.reports.flamediff import DiffSummary, ProfileSide, describe, render_diff_svg
from gwbench.reports.flamegraph import SCRIPT as FLAME_SCRIPT
from gwbench.reports.flamegraph import FlameGraph, csp_hash, render_flamegraph
from gwbench.reports.model_check import section as model_check_section
from gwbench.reports.regression import Comparison, compare_results
from gwbench.reports.svgchart import format_count, loglog_chart
from gwbench.results import Results

TEMPLATES = Path(__file__).parent / "templates"
MAX_REPORT_BYTES = 9_500_000
"""The report stays below 10 MB (mail and CI artefact limits): when the flame graphs make
it larger, they are drawn again with coarser detail (:data:`COARSEN_STEPS`)."""
COARSEN_STEPS = (1.0, 4.0, 16.0, 64.0)
FLAME_MIN_WIDTH_PX = 0.25
DIFF_MIN_WIDTH_PX = 0.6

if "</" in FLAME_SCRIPT:  # it is inlined in a <script> element
    raise RuntimeError("gwbench.reports.flamegraph.SCRIPT must not contain '</'")


@dataclass(frozen=True)
class FlameView:
    """One implementation's py-spy flame graph, or the reason it is not drawn."""

    ref: v.ProfileRef
    """Its artefacts and what they cover (samples, seconds, calls)."""
    graph: FlameGraph | None
    """Drawn from the folded stacks, inline."""
    note: str | None
    primary: bool = True
    """The baseline's and the fix's are shown; variants' and ablations' are disclosed."""

    @property
    def graph_id(self) -> str:
        return self.graph.graph_id if self.graph is not None else ""


@dataclass(frozen=True)
class DiffView:
    before: str
    after: str
    svg: Markup | None
    summary: DiffSummary | None
    unit_text: str
    before_total: str
    after_total: str
    note: str | None
    primary: bool = True


@dataclass(frozen=True)
class HotPathSection:
    hp: v.HotPathView
    chart: Markup
    flames: tuple[FlameView, ...]
    diffs: tuple[DiffView, ...]


@dataclass(frozen=True)
class EnvoySection:
    envoy: v.EnvoyView
    chart: Markup


@dataclass(frozen=True)
class Artefacts:
    """The profile artefacts the caller read for the report, by their path relative to
    the results directory (as results.json names them)."""

    texts: Mapping[str, str] = field(default_factory=dict)
    problems: Mapping[str, str] = field(default_factory=dict)
    """Path -> why it was not read (missing, too large, outside the results directory)."""
    link_prefix: str | None = None
    """The results directory as a URL relative to the report (``""`` when the report sits
    in it); ``None``: artefact paths are shown without links."""

    def read(self, rel: str | None) -> tuple[str | None, str | None]:
        """(text, None) or (None, why not)."""
        if rel is None:
            return None, "not recorded"
        if rel in self.texts:
            return self.texts[rel], None
        return None, self.problems.get(rel, "results directory not given")

    def url(self, rel: str) -> str | None:
        if self.link_prefix is None:
            return None
        prefix = self.link_prefix.rstrip("/")
        return quote(f"{prefix}/{rel}" if prefix and prefix != "." else rel)


def artefact_paths(results: Results) -> tuple[str, ...]:
    """The artefacts :func:`render_html` draws from: each profile's folded stacks."""
    paths: list[str] = []
    for hp in results.hotpaths:
        for impl in hp.implementations:
            prof = impl.profile
            if prof is not None and prof.folded_stacks is not None:
                paths.append(prof.folded_stacks)
    return tuple(dict.fromkeys(paths))


def _flame(hp: v.HotPathView, ref: v.ProfileRef, artefacts: Artefacts, coarsen: float) -> FlameView:
    """The graph drawn from the folded stacks (zoom and search by
    :data:`reports.flamegraph.SCRIPT`), or the reason there is none."""
    graph: FlameGraph | None = None
    notes: list[str] = []
    if ref.folded_stacks is not None:
        text, why = artefacts.read(ref.folded_stacks)
        if text is not None:
            try:
                stacks = parse_folded(text)
            except FoldedStackError as exc:
                notes.append(f"{ref.folded_stacks}: {exc}")
            else:
                if stacks:
                    graph = render_flamegraph(
                        stacks,
                        graph_id=f"flame-{v.anchor(hp.name + '-' + ref.implementation)}",
                        title=f"{hp.name}/{ref.implementation}",
                        min_width_px=FLAME_MIN_WIDTH_PX * coarsen,
                    )
                else:
                    notes.append(f"{ref.folded_stacks}: no samples")
        elif why:
            notes.append(why)
    if graph is None and ref.missing_reason:
        notes.insert(0, ref.missing_reason)
    return FlameView(
        ref=ref,
        graph=graph,
        note="; ".join(notes) if graph is None else None,
        primary=ref.kind == "baseline" or ref.implementation == hp.fix,
    )


def _side(ref: v.ProfileRef, artefacts: Artefacts) -> tuple[ProfileSide | None, str | None]:
    text, why = artefacts.read(ref.folded_stacks)
    if text is None:
        return None, f"{ref.implementation}: folded stacks {why}"
    try:
        stacks = parse_folded(text)
    except FoldedStackError as exc:
        return None, f"{ref.folded_stacks}: {exc}"
    if not stacks:
        return None, f"{ref.implementation}: no samples"
    return (
        ProfileSide(
            ref.implementation,
            stacks,
            calls=ref.calls,
            seconds=ref.seconds or None,
            time_per_call=ref.time_per_call,
        ),
        None,
    )


def _diffs(hp: v.HotPathView, artefacts: Artefacts, coarsen: float) -> tuple[DiffView, ...]:
    base_ref = next((p for p in hp.profiles if p.kind == "baseline"), None)
    if base_ref is None:
        return ()
    out = []
    before, before_why = _side(base_ref, artefacts)
    for ref in hp.profiles:
        if ref is base_ref:
            continue
        after, after_why = _side(ref, artefacts)
        if before is None or after is None:
            out.append(
                DiffView(
                    base_ref.implementation,
                    ref.implementation,
                    None,
                    None,
                    "",
                    "",
                    "",
                    before_why or after_why,
                    ref.implementation == hp.fix,
                )
            )
            continue
        svg, summary = render_diff_svg(before, after, min_width_px=DIFF_MIN_WIDTH_PX * coarsen)
        out.append(
            DiffView(
                before=before.label,
                after=after.label,
                svg=svg,
                summary=summary,
                unit_text=summary.basis,
                before_total=describe(summary.before_total, summary.unit),
                after_total=describe(summary.after_total, summary.unit),
                note=None,
                primary=ref.implementation == hp.fix,
            )
        )
    return tuple(out)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        seconds=v.fmt_seconds,
        bytes=v.fmt_bytes,
        int=v.fmt_int,
        speedup=v.fmt_speedup,
        ratio=v.fmt_ratio,
        exponent=v.fmt_exponent,
        percent=v.fmt_percent,
        count=format_count,
        verdict_class=v.verdict_class,
        percent_level=v.fmt_level,
    )
    return env


def content_security_policy(script_hashes: set[str]) -> str:
    scripts = " ".join(sorted(script_hashes)) if script_hashes else "'none'"
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src {scripts}; base-uri 'none'; form-action 'none'"
    )


def render_html(
    results: Results,
    *,
    artefacts: Artefacts | None = None,
    compare: Results | Comparison | None = None,
    reference_label: str = "reference",
) -> str:
    """The report as one HTML document.

    ``artefacts`` are the profile artefacts the caller read (without them the flame graphs
    are left out and the report says why). ``compare`` is the reference results (or a
    ready :class:`~reports.regression.Comparison`): adds the regression table and refuses a
    reference from another workload (:class:`~gwbench.errors.InputError`).
    """
    comparison = (
        compare_results(compare, results, reference_label=reference_label)
        if isinstance(compare, Results)
        else compare
    )
    summary = v.summarize(results)
    artefacts = artefacts if artefacts is not None else Artefacts()
    html = ""
    for coarsen in COARSEN_STEPS:
        html = _render(summary, comparison, artefacts, coarsen)
        if len(html.encode("utf-8")) <= MAX_REPORT_BYTES:
            break
    return html


def _render(
    summary: v.Summary,
    comparison: Comparison | None,
    artefacts: Artefacts,
    coarsen: float,
) -> str:
    sections = []
    hashes: set[str] = set()
    uses_script = False
    for hp in summary.hotpaths:
        flames = tuple(_flame(hp, ref, artefacts, coarsen) for ref in hp.profiles)
        for f in flames:
            if f.graph is not None:
                hashes.add(csp_hash(FLAME_SCRIPT))
                uses_script = True
        chart = loglog_chart(
            hp.series,
            title=f"{hp.name}: median time per call",
            chart_id=f"chart-{hp.anchor}",
        )
        sections.append(HotPathSection(hp, chart, flames, _diffs(hp, artefacts, coarsen)))
    envoy = None
    if summary.envoy is not None:
        envoy = EnvoySection(
            summary.envoy,
            loglog_chart(
                summary.envoy.series,
                title="Envoy: activation of one new host",
                y_label="activation latency",
                chart_id="chart-envoy",
            ),
        )
    template = _environment().get_template("report.html.j2")
    return template.render(
        s=summary,
        sections=sections,
        envoy=envoy,
        churn=churn_section(summary.churn),
        model_check=(
            model_check_section(summary.envoy_model) if summary.envoy_model is not None else None
        ),
        comparison=comparison,
        csp=content_security_policy(hashes),
        flame_script=Markup(FLAME_SCRIPT) if uses_script else None,
        coarsen=coarsen,
        min_width_px=FLAME_MIN_WIDTH_PX * coarsen,
        rendered_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        artefact_url=artefacts.url,
        anchors={hp.name: hp.anchor for hp in summary.hotpaths},
    )
