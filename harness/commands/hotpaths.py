"""``gwbench hotpaths``: the registry, as text or JSON."""

from __future__ import annotations

import json
import textwrap

import click

from gwbench.harness import registry
from gwbench.harness.commands import options
from gwbench.harness.registry import HotPath

JSON_VERSION = 1


def hotpath_lines(hp: HotPath) -> list[str]:
    lines = [f"{hp.name}: {hp.title}"]
    lines += textwrap.wrap(
        f"models: {hp.models}", width=96, initial_indent="  ", subsequent_indent="    "
    )
    for impl in hp.implementations:
        lines.append(f"  - {impl.name:<14} {impl.kind:<10} {impl.module}")
    if hp.counters:
        lines.append(f"  counters: {', '.join(hp.counters)}")
    return lines


def hotpath_json(hp: HotPath) -> dict[str, object]:
    return {
        "name": hp.name,
        "title": hp.title,
        "models": hp.models,
        "implementations": [
            {"name": i.name, "kind": i.kind, "module": i.module} for i in hp.implementations
        ],
        "counters": list(hp.counters),
        "prepare": hp.prepare is not None,
        "specialize": getattr(hp, "specialize", None) is not None,
        "tags": list(hp.tags),
    }


@click.command(name="hotpaths")
@options.as_json()
def command(as_json: bool) -> None:
    """List the registered hot paths, their implementations (name, kind, module), the real
    code each models and the counters it reports."""
    hotpaths = registry.all_hotpaths()
    if as_json:
        doc = {"schema_version": JSON_VERSION, "hotpaths": [hotpath_json(h) for h in hotpaths]}
        click.echo(json.dumps(doc, indent=1))
        return
    if not hotpaths:
        click.echo("no hot paths registered")
        return
    for k, hp in enumerate(hotpaths):
        if k:
            click.echo("")
        for line in hotpath_lines(hp):
            click.echo(line)
