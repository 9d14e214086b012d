"""``gwbench gate``: the pull-request regression gate (docs/gate.md; :mod:`harness.gate`)."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, cast

import click

from gwbench.errors import EXIT_HARNESS, GwbenchError, HarnessError, InputError
from gwbench.files import atomic_write_text
from gwbench.harness.cli import OutputPath, output_problem, style_verdict
from gwbench.harness.commands import options
from gwbench.harness.gate import (
    engine,
    profiles,
    report,
    sideresults,
    thresholds,
    worktree,
)
from gwbench.harness.summary_file import append_step_summary as _append_step_summary
from gwbench.reports import gate_summary, gate_view
from gwbench.results import write_results

if TYPE_CHECKING:
    from gwbench.reports.regression import Comparison

GATE_FILE = "gate.json"
SUMMARY_FILE = "summary.md"
REPORT_FILE = "report.html"
DEFAULT_SIZE = 2000

P = ParamSpec("P")


def default_output_dir() -> Path:
    root = Path.cwd() / "gwbench-results"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"gate-{stamp}"
    k = 2
    while candidate.exists():
        candidate = root / f"gate-{stamp}-{k}"
        k += 1
    return candidate


def _crash_is_harness_failure(gate: Callable[P, None]) -> Callable[P, None]:
    """A crash of the gate is a harness failure (exit 3), never a pass."""

    @functools.wraps(gate)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            gate(*args, **kwargs)
        except (GwbenchError, click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            raise HarnessError(f"the gate crashed: {type(exc).__name__}: {exc}") from exc

    return guarded


def _sizes(values: tuple[int, ...]) -> tuple[int, ...]:
    for n in values:
        if n <= 0:
            raise InputError(f"--ingresses must be a positive number of Ingresses, got {n}")
    return tuple(sorted(set(values))) if values else (DEFAULT_SIZE,)


@click.command(name="gate")
@click.option(
    "--base",
    "base_ref",
    metavar="REF",
    help="Compare with the merge base of REF and the head (default: the default branch, "
    "origin/HEAD, main or master).",
)
@click.option(
    "--head",
    "head_ref",
    metavar="REF",
    default="HEAD",
    show_default=True,
    help="The commit under test (committed code only).",
)
@click.option(
    "-n",
    "--ingresses",
    "sizes",
    type=int,
    multiple=True,
    metavar="N",
    help=f"N (repeatable: one row per N; two or more also form the scaling sweep). "
    f"Default {DEFAULT_SIZE}.",
)
@click.option(
    "--hotpath",
    "hotpaths",
    multiple=True,
    metavar="NAME",
    help="Gate only this hot path (repeatable; default every hot path both sides have).",
)
@options.rounds(
    "--rounds",
    "Interleaved rounds before the first look and of a confirmation batch (default from "
    "the thresholds file, 10).",
)
@options.rounds(
    "--max-rounds",
    "Cap on a row's rounds: rows that cannot yet say get more rounds up to this (default "
    "from the thresholds file, 40).",
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on an inconclusive result too.")
@options.seed("Workload seed.")
@options.thresholds("Thresholds TOML (default: ci/thresholds.toml as committed in the base).")
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="The git repository holding both refs.",
)
@options.output(OutputPath("dir"), "Output directory (default ./gwbench-results/gate-<timestamp>).")
@click.option(
    "--no-profile",
    is_flag=True,
    help="Skip the py-spy profiles (differential flame graphs) of regressed rows.",
)
@options.as_json("Print the gate's JSON instead of markdown.")
@_crash_is_harness_failure
def command(
    base_ref: str | None,
    head_ref: str,
    sizes: tuple[int, ...],
    hotpaths: tuple[str, ...],
    rounds: int | None,
    max_rounds: int | None,
    strict: bool,
    seed: int,
    thresholds_file: Path | None,
    repo: Path,
    output: Path | None,
    no_profile: bool,
    as_json: bool,
) -> None:
    """Compare the head with its merge base, in one job, and fail on a regression.

    Both commits are checked out as temporary git worktrees; each side runs its own code
    in fresh processes. Checks, in order: equivalence of every implementation on both
    sides; deterministic counters at each N against the thresholds; the scaling exponent
    of each counter over a sweep; time (process CPU time by default, wall time where the
    thresholds say so), as the median paired log-ratio over interleaved ABBA/BAAB rounds
    with a seeded 99% bootstrap interval; rows that cannot yet say get more rounds, up to
    a cap; a regression is confirmed by a second batch before it is reported.

    Writes DIR/summary.md (also appended to $GITHUB_STEP_SUMMARY when set), DIR/gate.json,
    DIR/base/results.json, DIR/head/results.json, DIR/report.html, and for each regressed
    row a differential flame graph of base against head (DIR/flamediff/, py-spy).

    Exit codes: 0 pass (an inconclusive result passes unless --strict), 1 regression,
    2 usage or input error, 3 harness failure (a side crashed or cannot import its code).
    """
    from gwbench.harness.progress import RichProgress

    ns = _sizes(sizes)
    th = thresholds.load(thresholds_file) if thresholds_file is not None else None
    root = worktree.repo_root(repo.resolve())
    out_dir = (output if output is not None else default_output_dir()).resolve()
    problem = output_problem(out_dir, "dir")
    if problem is not None:
        raise InputError(f"{out_dir}: {problem}; choose another -o directory")
    if (out_dir / GATE_FILE).exists():
        raise InputError(f"{out_dir} already holds a gate result; choose another -o directory")
    started = sideresults.now_utc()
    config = engine.GateConfig(
        repo=root,
        base_ref=base_ref,
        head_ref=head_ref,
        sizes=ns,
        hotpaths=hotpaths,
        thresholds=th,
        seed=seed,
        custom_domain_share=None,
        out_dir=out_dir,
        strict=strict,
        rounds=rounds,
        max_rounds=max_rounds,
        profile=not no_profile,
    )
    outcome = engine.Gate(config, RichProgress()).run()
    document = report.to_json_dict(outcome)
    view = gate_view.from_document(document)
    text = gate_summary.render_markdown(view)
    _write(out_dir / SUMMARY_FILE, text)
    _write(out_dir / GATE_FILE, report.dumps(outcome))
    command_line = ("gwbench", *sys.argv[1:])
    per_side = {}
    for label in ("base", "head"):
        results = sideresults.side_results(
            outcome, label, command_line=command_line, started_at=started
        )
        try:
            write_results(results, out_dir / label / "results.json")
        except OSError as exc:
            raise HarnessError(
                f"cannot write {out_dir / label / 'results.json'}: {exc.strerror or exc}"
            ) from None
        per_side[label] = results
    _append_step_summary(text)
    report_error = _write_html(outcome, view, per_side["head"], out_dir)
    report_error = _write_flame_diffs(outcome, out_dir) or report_error
    if as_json:
        click.echo(report.dumps(outcome), nl=False)
    elif sys.stdout.isatty():
        for line in gate_summary.console_lines(view, style_verdict):
            click.echo(line)
        click.echo(f"\nsummary: {out_dir / SUMMARY_FILE}", err=True)
    else:
        click.echo(text, nl=False)
    click.echo(f"\nresults: {out_dir}", err=True)
    if report_error is not None:
        # the verdict stands (a regression stays exit 1), but a failed report never passes
        click.echo(f"gwbench: error: cannot write the HTML report: {report_error}", err=True)
        sys.exit(outcome.exit_code or EXIT_HARNESS)
    sys.exit(outcome.exit_code)


def _write(path: Path, text: str) -> None:
    """An output file; the directory was checked up front, so a failure here is the
    machine's (a full disk): exit 3 naming the file."""
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise HarnessError(f"cannot write {path}: {exc.strerror or exc}") from None


def comparison(outcome: engine.GateOutcome) -> Comparison:
    """The gate's rows as the report's regression table (timed rows; paired statistics)."""
    from gwbench.reports.regression import Comparison, ComparisonRow, CounterChange
    from gwbench.verdicts import Shown
    from gwbench.verdicts import Thresholds as Ladder

    rows = []
    skipped = []
    for r in outcome.rows:
        check = r.decisive_time
        if check is None or check.base_median is None or check.head_median is None:
            skipped.append(f"{r.key.label()}: not timed ({r.kind}); counters and scaling checked")
            continue
        rows.append(
            ComparisonRow(
                hotpath=r.key.hotpath,
                implementation=r.key.implementation,
                kind=r.kind,
                size=r.key.size,
                reference_median=check.base_median,
                candidate_median=check.head_median,
                reference_values=2 * check.rounds,
                candidate_values=2 * check.rounds,
                ratio=check.ratio,
                ci_low=check.ratio_low,
                ci_high=check.ratio_high,
                verdict=cast(Shown, r.verdict),
                counter_changes=tuple(
                    CounterChange(c.name, c.base, c.head) for c in r.counters if c.base != c.head
                ),
            )
        )
    th = outcome.thresholds or thresholds.DEFAULTS
    return Comparison(
        reference_label=f"base {worktree.short(outcome.base.commit)}",
        candidate_label=f"head {worktree.short(outcome.head.commit)}",
        confidence=0.99,
        thresholds=Ladder(no_change=th.time_warn, fail=th.time_fail),
        rows=tuple(rows),
        skipped=tuple(skipped),
        thresholds_source=th.source,
    )


def _write_html(
    outcome: engine.GateOutcome, view: gate_view.GateView, head_results: object, out_dir: Path
) -> str | None:
    """Write DIR/report.html (the gate's page, verdict first) and DIR/head/report.html
    (the head's full report against the base); the error text when that fails."""
    try:
        from gwbench.harness import reporting
        from gwbench.reports.gate_html import render_html as render_gate
        from gwbench.results import Results

        assert isinstance(head_results, Results)
        links: list[tuple[str, str]] = []
        try:
            html = reporting.render_report(
                head_results,
                base_dir=out_dir / "head",
                report_dir=out_dir / "head",
                compare=comparison(outcome),
                reference_label="base",
            )
            atomic_write_text(out_dir / "head" / REPORT_FILE, html)
            links.append(("the head against the base", f"head/{REPORT_FILE}"))
        finally:
            atomic_write_text(out_dir / REPORT_FILE, render_gate(view, side_reports=links))
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.startswith("reports"):
            return None  # the report renderer is not installed: the summary is enough
        return f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _write_flame_diffs(outcome: engine.GateOutcome, out_dir: Path) -> str | None:
    """One page per profiled row: the differential flame graph, base -> head."""
    if not outcome.profiles:
        return None
    try:
        from markupsafe import escape

        from gwbench.folded import parse_folded
        from gwbench.reports.flamediff import ProfileSide, render_diff_svg

        for p in outcome.profiles:
            if p.base.folded is None or p.head.folded is None:
                continue
            sides = []
            for prof, commit in ((p.base, outcome.base.commit), (p.head, outcome.head.commit)):
                assert prof.folded is not None
                text = (out_dir / prof.folded).read_text(encoding="utf-8")
                sides.append(
                    ProfileSide(
                        label=f"{prof.label} {worktree.short(commit)}",
                        stacks=parse_folded(text),
                        calls=prof.calls,
                        seconds=prof.seconds,
                    )
                )
            svg, diff = render_diff_svg(sides[0], sides[1])
            title = escape(f"{p.key.label()}: {sides[0].label} -> {sides[1].label}")
            caption = escape(
                f"Red: slower in the head, blue: faster. Unit: {diff.unit} ({diff.basis}); "
                f"base {diff.before_total:.4g}, head {diff.after_total:.4g}; "
                f"{diff.frames_drawn} frames drawn, {diff.frames_hidden} too narrow to draw. "
                f"Hover a frame for both values."
            )
            page = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f'<title>{title}</title></head><body style="font-family: sans-serif">'
                f'<h1 style="font-size: 1.1em">{title}</h1><p>{caption}</p>{svg}</body></html>\n'
            )
            atomic_write_text(out_dir / profiles.diff_page(p.key), page)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
