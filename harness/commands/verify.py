"""``gwbench verify``: only the equivalence checks."""

from __future__ import annotations

import json

import click

from gwbench.errors import EquivalenceError
from gwbench.harness import equivalence
from gwbench.harness.commands import options
from gwbench.harness.selection import resolve_source, select_hotpaths
from gwbench.units import format_seconds

JSON_VERSION = 1


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


@click.command(name="verify")
@click.option("-n", "--ingresses", type=int, default=None, help="Number of Ingresses N.")
@click.option("--hotpath", "hotpaths", multiple=True, metavar="NAME", help="Repeatable.")
@options.seed(help="Random seed.")
@options.custom_domains()
@options.from_file("Check on your own Ingresses (a seeded subset of N of them).")
@options.from_cluster("Check on the current cluster's Ingresses.")
@options.as_json()
def command(
    ingresses: int | None,
    hotpaths: tuple[str, ...],
    seed: int,
    custom_domains: float,
    from_file: str | None,
    from_cluster: bool,
    as_json: bool,
) -> None:
    """Run every implementation of the hot paths once at N and compare each result with
    the baseline's. Exits 1 on a mismatch, naming the hot path, the implementations and
    the first difference."""
    selected = select_hotpaths(hotpaths)
    provider, n = resolve_source(
        ingresses=ingresses,
        from_file=from_file,
        from_cluster=from_cluster,
        seed=seed,
        custom_domain_share=custom_domains,
    )
    workload = provider.at(n)
    checks: list[equivalence.Check] = []
    for hp in selected:
        check = equivalence.check(hp, workload)
        checks.append(check)
        if not as_json:
            for line in check_lines(check):
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
