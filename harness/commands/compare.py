"""``gwbench compare``: regression table of two stored results files.

The gate's statistics where stored results allow them. Counters and scaling exponents are
exact, so they are checked as the gate does (:mod:`harness.gate.checks`, thresholds from
``--thresholds`` or the defaults). Time: two stored runs are not paired rounds, so the
ratio of medians with a 99% percentile bootstrap over each side's stored values
(:mod:`reports.regression`), and no confirmation batch; a regression is a ratio above
``1 + time_fail`` with the interval above 1. Results of different workloads or schema
versions are refused (exit 2).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from gwbench.errors import EXIT_FINDING, EXIT_OK, InputError
from gwbench.harness.gate import checks
from gwbench.harness.gate.thresholds import DEFAULTS, Thresholds
from gwbench.harness.gate.thresholds import load as load_thresholds
from gwbench.results import Results, load_results

KIND = "gwbench-compare"
SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"


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


def resolve(path: Path) -> Path:
    """A results file, or a directory holding ``results.json``."""
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise InputError("no such results file", file=str(path))
    return path


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


def _json(comparison: Any, findings: Sequence[ExactFinding], regression: bool) -> dict[str, Any]:
    def num(x: float | None) -> float | str | None:
        if x is None:
            return None
        return "inf" if math.isinf(x) else x

    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "regression": regression,
        "confidence": comparison.confidence,
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


@click.command(name="compare")
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("candidate", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--markdown", is_flag=True, help="Print a markdown table (for a pull request).")
@click.option(
    "--thresholds",
    "thresholds_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Thresholds TOML (default: the built-in defaults; see ci/thresholds.toml).",
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
    the stored values. Exit 1 on a regression, 2 when the two files measured different
    workloads or have different schema versions.
    """
    from gwbench.reports.markdown import comparison_lines
    from gwbench.reports.regression import compare_results

    if as_json and markdown:
        raise InputError("choose one of --json and --markdown")
    th = load_thresholds(thresholds_file) if thresholds_file is not None else DEFAULTS
    ref = load_results(resolve(reference))
    cand = load_results(resolve(candidate))
    comparison = compare_results(
        ref,
        cand,
        reference_label="reference",
        candidate_label="candidate",
        threshold=1.0 + th.time_fail,
        warn_band=1.0 + th.time_warn,
    )
    findings = exact_findings(ref, cand, th)
    exact = _exact_lines(findings)
    regression = bool(comparison.regressions) or any(f.failed for f in findings)
    if as_json:
        click.echo(json.dumps(_json(comparison, findings, regression), indent=1))
    elif markdown:
        lines = comparison_lines(comparison)
        if exact:
            lines += ["", "**Counters and scaling above the thresholds**", ""]
            lines += [f"- {x}" for x in exact]
        click.echo("\n".join(lines))
    else:
        for line in _text_lines(comparison, exact):
            click.echo(line)
    sys.exit(EXIT_FINDING if regression else EXIT_OK)


def _text_lines(comparison: Any, exact: Sequence[str]) -> list[str]:
    header = (
        f"{'verdict':<18} {'hot path':<20} {'implementation':<14} {'N':>7} "
        f"{'ratio':>7}  {'99% interval':<17} counters changed"
    )
    lines = [
        f"time: candidate / reference median (above 1: slower); regression above "
        f"{comparison.threshold:.2f} with the interval above 1",
        header,
        "-" * len(header),
    ]
    for r in comparison.rows:
        changed = ", ".join(f"{c.name} {c.reference}->{c.candidate}" for c in r.counter_changes)
        lines.append(
            f"{r.verdict:<18} {r.hotpath:<20} {r.implementation:<14} {r.size:>7,} "
            f"{r.ratio:>7.3f}  [{r.ci_low:.3f}, {r.ci_high:.3f}]  {changed or '='}"
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
