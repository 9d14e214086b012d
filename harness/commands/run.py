"""``gwbench run``: the main job (verify, time, profile, sweep, report)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.core import ParameterSource

from gwbench import folded
from gwbench.errors import EXIT_HARNESS, InputError
from gwbench.files import atomic_write_text
from gwbench.harness import plan, reporting, runner
from gwbench.harness import shard as sharding
from gwbench.harness.cli import OutputPath
from gwbench.harness.commands import options
from gwbench.harness.progress import progress_for
from gwbench.harness.selection import resolve_source, select_hotpaths
from gwbench.reports.console import render_console
from gwbench.reports.flamegraph import flamegraph_document
from gwbench.reports.speedscope import render_speedscope
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
    "--sizes",
    metavar="A,B,C",
    help="Sweep sizes (default N/16, N/4, N; --rigorous adds N/8 and N/2).",
)
@click.option("--quick", is_flag=True, help="Fewer values, sweep N/8, N/4, N: a first look, CI.")
@click.option("--rigorous", is_flag=True, help="40 paired rounds, as pyperf --rigorous.")
@click.option("--no-profile", is_flag=True, help="Skip the py-spy flame graphs.")
@click.option("--no-memory", is_flag=True, help="Skip the memray peak-memory pass.")
@click.option("--envoy", is_flag=True, help="Also measure activation latency on a real Envoy.")
@click.option(
    "--envoy-sizes",
    metavar="A,B,C",
    help="With --envoy: measure Envoy and its model at these generated sizes (e.g. "
    "1000,5000,20000) instead of at N, so the report fits both exponents.",
)
@click.option(
    "--churn",
    is_flag=True,
    help="Also measure activation latency under a stream of changes (gwbench churn at N, "
    "60 changes a minute, every control plane).",
)
@options.from_file("Benchmark your own Ingresses (multi-document YAML or a kind: List).")
@options.from_cluster("Benchmark the current cluster's Ingresses.")
@options.seed()
@options.custom_domains()
@click.option(
    "--budget",
    type=click.FloatRange(min=1.0),
    default=None,
    metavar="SECONDS",
    help="Time budget of the whole run (default: 1080 s, quick 210 s, rigorous 7200 s).",
)
@options.output(OutputPath("dir"), "Results directory (default ./gwbench-results/<timestamp>).")
@click.option(
    "--shard",
    metavar="I/K",
    help="Run only the I-th of K parts of the plan (whole hot paths, balanced by cost); "
    "`gwbench merge` joins the parts.",
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
    envoy_sizes: str | None,
    churn: bool,
    from_file: str | None,
    from_cluster: bool,
    seed: int,
    custom_domains: float,
    budget: float | None,
    output: Path | None,
    shard: str | None,
) -> None:
    """Verify, time, profile and sweep the hot paths at N Ingresses.

    Checks that every implementation agrees with the baseline (exit 1 otherwise), times
    the baseline and its twins interleaved in paired rounds of fresh worker processes at
    each sweep size (speedups with a 99% interval and a verdict; pyperf JSON beside),
    profiles each with py-spy and memray at N, fits the scaling exponent, and writes
    DIR/results.json and DIR/report.html. Ctrl-C stops cleanly and keeps what finished
    (marked partial).
    """
    if quick and rigorous:
        raise InputError("choose one of --quick and --rigorous")
    mode = plan.MODES["quick" if quick else "rigorous" if rigorous else "default"]
    selected = select_hotpaths(hotpaths)
    shard_spec = sharding.parse(shard) if shard is not None else None
    provider, n = resolve_source(
        ingresses=ingresses,
        from_file=from_file,
        from_cluster=from_cluster,
        seed=seed,
        custom_domain_share=custom_domains,
    )
    selected, shard_info = sharding.select(shard_spec, selected, provider)
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
        envoy=envoy and sharding.measures_envoy(shard_info),
        envoy_sizes=parse_envoy_sizes(envoy_sizes, envoy),
        churn=churn and sharding.measures_envoy(shard_info),
        shard=shard_info,
        command_line=command_line(click.get_current_context()),
    )
    report_path = out_dir / "report.html"
    try:
        outcome = runner.execute(config, provider, progress_for())
    except runner.RunInterrupted as exc:
        _report(exc.results, report_path)
        click.echo(f"interrupted: partial results in {exc.path}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    for line in render_console(outcome.results):
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
    for problem in write_flame_artefacts(results, path.parent):
        click.echo(f"gwbench: warning: {problem}", err=True)
    _, warning = reporting.write_report(results, path)
    if warning:
        click.echo(f"gwbench: warning: {warning}", err=True)
    from gwbench.harness.summary_file import append_step_summary
    from gwbench.reports.markdown import render_markdown

    append_step_summary(render_markdown(results))


def write_flame_artefacts(results: Results, out_dir: Path) -> list[str]:
    """Draw each profile's flame graph SVG (interactive: zoom, search) and speedscope JSON
    (weights in seconds) from its folded stacks, at the paths the results name. Returns
    what could not be drawn."""
    problems: list[str] = []
    for hp in results.hotpaths:
        for impl in hp.implementations:
            prof = impl.profile
            if prof is None or prof.folded_stacks is None or not prof.samples:
                continue
            label = f"{hp.name}/{impl.name} N={prof.size}"
            try:
                stacks = folded.parse_folded(
                    (out_dir / prof.folded_stacks).read_text(encoding="utf-8")
                )
            except (OSError, folded.FoldedStackError) as exc:
                problems.append(f"{label}: no flame graph drawn: {exc}")
                continue
            if prof.flamegraph_svg is not None:
                atomic_write_text(
                    out_dir / prof.flamegraph_svg, flamegraph_document(stacks, title=label)
                )
            if prof.speedscope_json is not None:
                per_sample = prof.seconds / prof.samples
                atomic_write_text(
                    out_dir / prof.speedscope_json,
                    render_speedscope(stacks, name=label, seconds_per_sample=per_sample),
                )
    return problems


def parse_envoy_sizes(text: str | None, envoy: bool) -> tuple[int, ...]:
    """``--envoy-sizes A,B,C``: distinct positive sizes in increasing order (needs --envoy)."""
    if text is None:
        return ()
    if not envoy:
        raise InputError("needs --envoy", field="--envoy-sizes")
    sizes = plan.size_list(text, "--envoy-sizes")
    if not sizes:
        raise InputError("give at least one size", field="--envoy-sizes")
    return tuple(sorted(sizes))
