"""``gwbench verify``: only the equivalence checks, or (``--mutants``) the checks held
against the catalogue of broken twins (:mod:`harness.mutants`)."""

from __future__ import annotations

import json

import click

from gwbench.errors import EXIT_FINDING, EquivalenceError, GwbenchError, HarnessError
from gwbench.harness import equivalence, mutants
from gwbench.harness.commands import options
from gwbench.harness.registry import HotPath
from gwbench.harness.selection import resolve_source, select_hotpaths
from gwbench.units import format_seconds
from gwbench.workloads.model import Workload

JSON_VERSION = 1
MUTANTS_JSON_VERSION = 1


def check_lines(check: equivalence.Check) -> list[str]:
    lines = [f"{check.hotpath} (N={check.size}): {'ok' if check.ok else 'MISMATCH'}"]
    for o in check.outcomes:
        verdict = (
            "baseline"
            if o.implementation == check.baseline
            else ("same result" if o.difference is None else f"differs: {o.difference}")
        )
        lines.append(f"  {o.implementation:<14} {format_seconds(o.seconds):>9}  {verdict}")
    return lines


def check_json(check: equivalence.Check) -> dict[str, object]:
    return {
        "hotpath": check.hotpath,
        "size": check.size,
        "baseline": check.baseline,
        "ok": check.ok,
        "inputs_seconds": check.inputs_seconds,
        "implementations": [
            {
                "name": o.implementation,
                "kind": o.kind,
                "equal": o.difference is None,
                "difference": o.difference,
                "seconds": o.seconds,
                "counters": o.counters,
            }
            for o in check.outcomes
        ],
    }


def mutant_line(verdict: mutants.Verdict) -> str:
    m = verdict.mutant
    state = "caught" if verdict.caught else "SURVIVED"
    return f"  {state:<8} {m.name:<40} {m.hotpath}/{m.implementation}: {verdict.by}"


def mutant_json(verdict: mutants.Verdict) -> dict[str, object]:
    m = verdict.mutant
    return {
        "name": m.name,
        "hotpath": m.hotpath,
        "implementation": m.implementation,
        "breaks": m.breaks,
        "caught": verdict.caught,
        "by": verdict.by,
    }


def _checked(hp: HotPath, workload: Workload) -> equivalence.Check:
    """``equivalence.check``, with any failure inside it a harness failure (exit 3): an
    implementation that raises, or a result its hot path's ``compare`` cannot read."""
    try:
        return equivalence.check(hp, workload)
    except GwbenchError:
        raise
    except Exception as exc:
        raise HarnessError(
            f"hot path {hp.name}: the equivalence check failed: {type(exc).__name__}: {exc}"
        ) from exc


def _skipped(hp: HotPath, size: int) -> list[str]:
    return [
        f"  {i.name:<14} skipped: runs up to N={i.max_size} (registry max_size)"
        for i in hp.implementations
        if not i.runs_at(size)
    ]


def run_mutants(workload: Workload, n: int, source: str, seed: int, as_json: bool) -> None:
    """Run the mutant catalogue; exit 1 when one survives."""
    if not as_json:
        click.echo(f"mutants at N={n}: each broken twin must be caught by its hot path's check")

    def show(verdict: mutants.Verdict) -> None:
        if not as_json:
            click.echo(mutant_line(verdict))

    verdicts = mutants.run_catalogue(workload, on_verdict=show)
    survivors = [v for v in verdicts if not v.caught]
    if as_json:
        doc = {
            "schema_version": MUTANTS_JSON_VERSION,
            "ingresses": n,
            "source": source,
            "seed": seed,
            "ok": not survivors,
            "mutants": [mutant_json(v) for v in verdicts],
        }
        click.echo(json.dumps(doc, indent=1))
    else:
        click.echo(f"{len(verdicts) - len(survivors)} of {len(verdicts)} mutants caught")
    if survivors:
        names = ", ".join(v.mutant.name for v in survivors)
        raise MutantsSurvived(f"{len(survivors)} mutant(s) survived the checks: {names}")


class MutantsSurvived(GwbenchError):
    """A broken twin passed the equivalence checks: a hole in the checks."""

    exit_code = EXIT_FINDING


@click.command(name="verify")
@click.option("-n", "--ingresses", type=int, default=None, help="Number of Ingresses N.")
@click.option("--hotpath", "hotpaths", multiple=True, metavar="NAME", help="Repeatable.")
@options.seed(help="Random seed.")
@options.custom_domains()
@options.from_file("Check on your own Ingresses (a seeded subset of N of them).")
@options.from_cluster("Check on the current cluster's Ingresses.")
@options.as_json()
@click.option(
    "--mutants",
    "with_mutants",
    is_flag=True,
    help="Run the catalogue of deliberately broken twins instead; each must be caught.",
)
def command(
    ingresses: int | None,
    hotpaths: tuple[str, ...],
    seed: int,
    custom_domains: float,
    from_file: str | None,
    from_cluster: bool,
    as_json: bool,
    with_mutants: bool,
) -> None:
    """Run every implementation of the hot paths once at N and compare each result with
    the baseline's. Exits 1 on a mismatch, naming the hot path, the implementations and
    the first difference; 3 when an implementation or the check itself fails.

    With --mutants, run the project's catalogue of broken twins (a stale cache, a hash
    blind to a field or to Any payloads, a map handing out the last gateway, a dropped
    patch, a skipped diff, ...) against the same checks: prints each mutant and what caught
    it, and exits 1 if one survives."""
    if with_mutants and hotpaths:
        raise click.UsageError("--mutants runs the whole catalogue; drop --hotpath")
    selected = select_hotpaths(hotpaths)
    provider, n = resolve_source(
        ingresses=ingresses,
        from_file=from_file,
        from_cluster=from_cluster,
        seed=seed,
        custom_domain_share=custom_domains,
    )
    workload = provider.at(n)
    if with_mutants:
        run_mutants(workload, n, provider.describe(), seed, as_json)
        return
    checks: list[equivalence.Check] = []
    for hp in selected:
        check = _checked(hp, workload)
        checks.append(check)
        if not as_json:
            for line in [*check_lines(check), *_skipped(hp, n)]:
                click.echo(line)
    if as_json:
        doc = {
            "schema_version": JSON_VERSION,
            "ingresses": n,
            "source": provider.describe(),
            "seed": seed,
            "ok": all(c.ok for c in checks),
            "hotpaths": [check_json(c) for c in checks],
        }
        click.echo(json.dumps(doc, indent=1))
    first: EquivalenceError | None = next(
        (err for c in checks if (err := c.error()) is not None), None
    )
    if first is not None:
        raise first
