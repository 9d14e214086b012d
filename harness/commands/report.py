"""``gwbench report``: render the report of a results file (HTML, or markdown for a PR)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from gwbench.errors import InputError
from gwbench.files import atomic_write_text
from gwbench.harness.cli import OutputPath
from gwbench.harness.commands import options
from gwbench.results import Results

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def resolve_results(path: Path) -> Path:
    """A results file, or a results directory holding ``results.json``."""
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise InputError("no such results file", file=str(path))
    return path


def _load(path: Path) -> tuple[Path, Results]:
    from gwbench.harness.cli import load_results_file

    resolved = resolve_results(path)
    return resolved, load_results_file(resolved)


def _readable(path: Path) -> None:
    """A report is meant to be shared: the usual file mode, not the temporary file's 0600."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


@click.command(name="report")
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--compare",
    "reference",
    type=click.Path(path_type=Path),
    metavar="REFERENCE",
    help="Reference results (file or directory): adds the regression table.",
)
@options.output(
    OutputPath("file"), "Where to write the HTML report (default: report.html beside RESULTS)."
)
@click.option(
    "--markdown",
    is_flag=True,
    help="Also print the markdown summary to stdout (and append it to $GITHUB_STEP_SUMMARY "
    "when set).",
)
def command(results: Path, reference: Path | None, output: Path | None, markdown: bool) -> None:
    """Render the report of RESULTS (a results.json, or the directory holding it).

    Writes one self-contained HTML file (inline CSS and SVG, no network request: it opens
    offline from a CI artefact or a mail) with the workload and machine, speedups with
    confidence intervals, timing and counter tables, scaling charts, flame graphs and
    differential flame graphs, and the command to reproduce. With --compare, adds the
    regression table against REFERENCE (regressions first); two results from different
    workloads are refused (exit 2). With --markdown, prints the short summary for a pull
    request as well.
    """
    from gwbench.harness import reporting
    from gwbench.harness.commands.compare import default_thresholds
    from gwbench.reports import gate_compare
    from gwbench.reports.markdown import render_markdown
    from gwbench.reports.regression import compare_results
    from gwbench.verdicts import Thresholds as Ladder

    results_path, current = _load(results)
    comparison = None
    if reference is not None:
        _, ref = _load(reference)
        th = default_thresholds()
        comparison = compare_results(
            ref,
            current,
            reference_label="reference",
            thresholds=Ladder(no_change=th.time_warn, fail=th.time_fail),
            thresholds_source=th.source,
        )
    out = output if output is not None else results_path.parent / REPORT_FILE
    html = reporting.render_report(
        current, base_dir=results_path.parent, report_dir=out.parent, compare=comparison
    )
    try:
        atomic_write_text(out, html)
        _readable(out)
    except OSError as exc:
        raise InputError(f"cannot write the report: {exc.strerror or exc}", file=str(out)) from None
    if markdown:
        text = render_markdown(current)
        if comparison is not None:
            text += "\n" + "\n".join(gate_compare.markdown_lines(comparison, ())) + "\n"
        click.echo(text, nl=False)
        summary_file = os.environ.get(STEP_SUMMARY_ENV)
        if summary_file:
            try:
                with open(summary_file, "a", encoding="utf-8") as fh:
                    fh.write(text + "\n")
            except OSError as exc:
                raise InputError(
                    f"cannot append to ${STEP_SUMMARY_ENV}: {exc.strerror or exc}",
                    file=summary_file,
                ) from None
        click.echo(f"report: {out}", err=True)
    else:
        click.echo(f"report: {out}")
