"""``gwbench compare``: regression table of two stored results files.

The gate's statistics where stored results allow them. Counters and scaling exponents are
exact, so they are checked as the gate does (:mod:`harness.gate.checks`, thresholds from
``--thresholds`` or the defaults). Time: two stored runs are not paired rounds, so the
ratio of medians with a 99% percentile bootstrap over each side's stored values
(:mod:`reports.regression`), and no confirmation batch. Every row gets a verdict of the
one ladder (:mod:`gwbench.verdicts`, thresholds from ``ci/thresholds.toml``: ``time_warn``
is the no-change band, ``time_fail`` the regression); the output states them. Results of
different workloads or schema versions are refused (exit 2).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gwbench.errors import EXIT_FINDING, EXIT_OK, InputError
from gwbench.harness.commands import options
from gwbench.harness.gate import checks
from gwbench.harness.gate.thresholds import DEFAULTS, Thresholds
from gwbench.harness.gate.thresholds import load as load_thresholds
from gwbench.results import Results
from gwbench.verdicts import Thresholds as Ladder

KIND = "gwbench-compare"
SCHEMA_VERSION = 1
THRESHOLDS_FILE = "thresholds.toml"

if TYPE_CHECKING:
    from gwbench.reports.regression import Comparison


@dataclass(frozen=True)
class ExactFinding:
    """Counter and scaling deltas of one hot path, implementation and N."""

    hotpath: str
    implementation: str
    size: int
    counters: tuple[checks.CounterDelta, ...]
    slopes: tuple[checks.SlopeDelta, ...]

    @property
    def failed(self) -> bool:
        return any(c.failed for c in self.counters) or any(s.failed for s in self.slopes)


def exact_findings(
    reference: Results, candidate: Results, thresholds: Thresholds
) -> tuple[ExactFinding, ...]:
    """Counters at every common N and exponents over the common sizes, as the gate checks
    them."""
    out = []
    for cand_hp in candidate.hotpaths:
        ref_hp = reference.hotpath(cand_hp.name)
        if ref_hp is None:
            continue
        for cand_impl in cand_hp.implementations:
            ref_impl = ref_hp.implementation(cand_impl.name)
            if ref_impl is None:
                continue
            ref_pts = {p.size: p.counters for p in ref_impl.points}
            cand_pts = {p.size: p.counters for p in cand_impl.points}
            sizes = sorted(set(ref_pts) & set(cand_pts))
            slopes = checks.slope_deltas(
                cand_hp.name,
                sizes,
                {n: ref_pts[n] for n in sizes},
                {n: cand_pts[n] for n in sizes},
                thresholds,
            )
            for n in sizes:
                counters = checks.counter_deltas(cand_hp.name, ref_pts[n], cand_pts[n], thresholds)
                out.append(
                    ExactFinding(
                        cand_hp.name,
                        cand_impl.name,
                        n,
                        counters,
                        slopes if n == sizes[-1] else (),
                    )
                )
    return tuple(out)


def _exact_lines(findings: Sequence[ExactFinding]) -> list[str]:
    lines = []
    for f in findings:
        for c in f.counters:
            if c.failed:
                change = "from 0" if math.isinf(c.change or 0.0) else f"{c.change:+.1%}"
                lines.append(
                    f"{f.hotpath}/{f.implementation} N={f.size:,}: counter {c.name} "
                    f"{c.base:,} -> {c.head:,} ({change}, limit +{(c.limit or 0.0):.0%})"
                )
        for s in f.slopes:
            if s.failed and s.delta is not None:
                lines.append(
                    f"{f.hotpath}/{f.implementation}: exponent of {s.counter} "
                    f"{s.base:.2f} -> {s.head:.2f} (+{s.delta:.2f}, limit +{s.limit:.2f})"
                )
    return lines


def _json(
    comparison: Comparison, findings: Sequence[ExactFinding], regression: bool
) -> dict[str, Any]:
    def num(x: float | None) -> float | str | None:
        if x is None:
            return None
        return "inf" if math.isinf(x) else x

    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "regression": regression,
        "confidence": comparison.confidence,
        "thresholds": {
            "source": comparison.thresholds_source,
            "no_change": comparison.thresholds.no_change,
            "fail": comparison.thresholds.fail,
            "text": comparison.describe(),
        },
        "threshold": comparison.threshold,
        "warn_band": comparison.warn_band,
        "time": [
            {
                "hotpath": r.hotpath,
                "implementation": r.implementation,
                "kind": r.kind,
                "size": r.size,
                "reference_median": r.reference_median,
                "candidate_median": r.candidate_median,
                "ratio": r.ratio,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "verdict": r.verdict,
                "regression": r.regression,
                "identical": r.identical,
            }
            for r in comparison.rows
        ],
        "exact": [
            {
                "hotpath": f.hotpath,
                "implementation": f.implementation,
                "size": f.size,
                "failed": f.failed,
                "counters": [
                    {
                        "name": c.name,
                        "reference": c.base,
                        "candidate": c.head,
                        "change": num(c.change),
                        "limit": c.limit,
                        "failed": c.failed,
                    }
                    for c in f.counters
                    if c.base != c.head
                ],
                "scaling": [
                    {
                        "counter": s.counter,
                        "reference": s.base,
                        "candidate": s.head,
                        "delta": s.delta,
                        "limit": s.limit,
                        "failed": s.failed,
                    }
                    for s in f.slopes
                    if s.delta is not None and abs(s.delta) > 1e-9
                ],
            }
            for f in findings
        ],
        "skipped": list(comparison.skipped),
    }


def default_thresholds() -> Thresholds:
    """``ci/thresholds.toml`` of the current directory (a repository's root in CI), else of
    the checkout gwbench runs from; the built-in defaults only when neither has one."""
    package_root = Path(__file__).resolve().parents[2]
    for candidate in (Path("ci") / THRESHOLDS_FILE, package_root / "ci" / THRESHOLDS_FILE):
        if candidate.is_file():
            return load_thresholds(candidate)
    return DEFAULTS


@click.command(name="compare")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("candidate", type=click.Path(path_type=Path))
@options.as_json("Print JSON instead of a table.")
@click.option("--markdown", is_flag=True, help="Print a markdown table (for a pull request).")
@options.thresholds(
    "Thresholds TOML (default: ci/thresholds.toml of the current directory, else of "
    "gwbench's own checkout)."
)
def command(
    reference: Path,
    candidate: Path,
    as_json: bool,
    markdown: bool,
    thresholds_file: Path | None,
) -> None:
    """Compare CANDIDATE with REFERENCE (results files or their directories).

    Counters and scaling exponents are checked exactly against the thresholds; time is
    the ratio of medians (candidate over reference) with a 99% bootstrap interval over
    the stored values, and every row gets a verdict: faster, no change (the interval
    inside the time_warn band), slower or inconclusive; a slower row above time_fail is
    a regression. Exit 1 on a regression, 2 when the two files measured different
    workloads or have different schema versions.
    """
    from gwbench.harness.cli import load_results_file, style_verdict
    from gwbench.reports import gate_compare
    from gwbench.reports.regression import compare_results

    if as_json and markdown:
        raise InputError("choose one of --json and --markdown")
    th = load_thresholds(thresholds_file) if thresholds_file is not None else default_thresholds()
    ref = load_results_file(reference)
    cand = load_results_file(candidate)
    comparison = compare_results(
        ref,
        cand,
        reference_label="reference",
        candidate_label="candidate",
        thresholds=Ladder(no_change=th.time_warn, fail=th.time_fail),
        thresholds_source=th.source,
    )
    findings = exact_findings(ref, cand, th)
    exact = _exact_lines(findings)
    regression = bool(comparison.regressions) or any(f.failed for f in findings)
    if as_json:
        click.echo(json.dumps(_json(comparison, findings, regression), indent=1))
    elif markdown:
        click.echo("\n".join(gate_compare.markdown_lines(comparison, exact)))
    else:
        for line in gate_compare.console_lines(comparison, exact, style_verdict):
            click.echo(line)
    sys.exit(EXIT_FINDING if regression else EXIT_OK)
