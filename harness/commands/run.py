"""``gwbench run``: the main job (verify, time, profile, sweep, report)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource
from gwbench.harness import plan, reporting, runner
from gwbench.harness.cli import OutputPath
from gwbench.harness.progress import RichProgress
from gwbench.harness.selection import resolve_source, select_hotpaths
from gwbench.workloads.model import DEFAULT_CUSTOM_DOMAIN_SHARE, DEFAULT_SEED

from gwbench.errors import EXIT_HARNESS, InputError
from gwbench.results import Results

EXIT_INTERRUPTED = 130


@click.command(name="run")
@click.option(
    "-n",
    "--ingresses",
    type=int,
    default=None,
    help="N, the largest size (default with --from-file/--from-cluster: all their Ingresses).",
)
@click.option(
    "--hotpath",
    "hotpaths",
    multiple=True,
    metavar="NAME",
    help="Measure only this hot path (repeatable; default all, see `gwbench hotpaths`).",
)
@click.option(
    "--sizes", metavar="A,B,C", help="Sweep sizes (default N/16, N/8, N/4, N; --rigorous adds N/2)."
)
@click.option("--quick", is_flag=True, help="Fewer values, sweep N/8, N/4, N: a first look, CI.")
@click.option("--rigorous", is_flag=True, help="pyperf's rigorous settings (40 processes).")
@click.option("--no-profile", is_flag=True, help="Skip the py-spy flame graphs.")
@click.option("--no-memory", is_flag=True, help="Skip the memray peak-memory pass.")
@click.option("--envoy", is_flag=True, help="Also measure activation latency on a real Envoy.")
@click.option(
    "--from-file",
    type=click.Path(exists=True, dir_okay=False, readable=True),
    help="Benchmark your own Ingresses (multi-document YAML or a kind: List).",
)
@click.option("--from-cluster", is_flag=True, help="Benchmark the current cluster's Ingresses.")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@click.option(
    "--custom-domains",
    "custom_domains",
    type=click.FloatRange(0.0, 1.0),
    default=DEFAULT_CUSTOM_DOMAIN_SHARE,
    show_default=True,
    help="Share of generated Ingresses on a custom domain (0 to 1).",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=1.0),
    default=None,
    metavar="SECONDS",
    help="Time budget of the whole run (default: 1080 s, quick 210 s, rigorous 7200 s).",
)
@click.option(
    "-o",
    "--output",
    type=OutputPath("dir"),
    default=None,
    help="Results directory (default ./gwbench-results/<timestamp>).",
)
def command(
    ingresses: int | None,
    hotpaths: tuple[str, ...],
    sizes: str | None,
    quick: bool,
    rigorous: bool,
    no_profile: bool,
    no_memory: bool,
    envoy: bool,
    from_file: str | None,
    from_cluster: bool,
    seed: int,
    custom_domains: float,
    budget: float | None,
    output: Path | None,
) -> None:
    """Verify, time, profile and sweep the hot paths at N Ingresses.

    Checks that every implementation agrees with the baseline (exit 1 otherwise), times
    each one under pyperf in fresh worker processes at each sweep size, profiles it with
    py-spy and memray at N, fits the scaling exponent, and writes DIR/results.json and
    DIR/report.html. Ctrl-C stops cleanly and keeps what finished (marked partial).
    """
    if quick and rigorous:
        raise InputError("choose one of --quick and --rigorous")
    mode = plan.MODES["quick" if quick else "rigorous" if rigorous else "default"]
    selected = select_hotpaths(hotpaths)
    if envoy:
        runner.envoy_entry_point()  # exit 2 now, not after the benchmarks
    provider, n = resolve_source(
        ingresses=ingresses,
        from_file=from_file,
        from_cluster=from_cluster,
        seed=seed,
        custom_domain_share=custom_domains,
    )
    sweep = plan.parse_sizes(sizes, n) if sizes is not None else plan.sweep_sizes(n, mode)
    out_dir = output if output is not None else runner.default_output_dir()
    if (out_dir / runner.RESULTS_FILE).exists():
        raise InputError(f"{out_dir} already holds results; choose another -o directory")
    config = runner.RunConfig(
        plan=plan.Plan(
            hotpaths=tuple(selected),
            sizes=sweep,
            mode=mode,
            profile=not no_profile,
            memory=not no_memory,
        ),
        source=provider.spec,
        out_dir=out_dir,
        budget_seconds=budget if budget is not None else mode.budget_seconds,
        envoy=envoy,
        command_line=command_line(click.get_current_context()),
    )
    report_path = out_dir / "report.html"
    try:
        outcome = runner.execute(config, provider, RichProgress())
    except runner.RunInterrupted as exc:
        _report(exc.results, report_path)
        click.echo(f"interrupted: partial results in {exc.path}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    for line in reporting.summary_lines(outcome.results):
        click.echo(line)
    _report(outcome.results, report_path)
    click.echo(f"\nresults: {outcome.path}\nreport:  {report_path}")
    timing_failures = [f for f in outcome.failures if not f.startswith("memory ")]
    for failure in (*outcome.warnings, *outcome.failures):
        click.echo(f"gwbench: warning: {failure}", err=True)
    if timing_failures:
        sys.exit(EXIT_HARNESS)


def command_line(ctx: click.Context) -> tuple[str, ...]:
    """The command as given: every option not left at its default, in a canonical form
    (equivalent to what was typed, whichever way it was invoked)."""
    words = ["gwbench", "run"]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        if ctx.get_parameter_source(param.name) is not ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[param.name]
        flag = max(param.opts, key=len)
        if param.is_flag:
            words.append(flag)
        elif param.multiple:
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return tuple(words)


def _report(results: Results, path: Path) -> None:
    _, warning = reporting.write_report(results, path)
    if warning:
        click.echo(f"gwbench: warning: {warning}", err=True)
