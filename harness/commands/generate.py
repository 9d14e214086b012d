"""``gwbench generate``: write N seeded Ingresses and their Secrets as YAML.

The manifests are what :func:`workloads.generate.generate` makes (docs/workload.md), dumped by
:mod:`workloads.yamlio`: Namespaces, then TLS Secrets (real certificates), then Ingresses,
ready for ``kubectl apply -f``. The same options always write the same bytes.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import click

from gwbench.errors import InputError
from gwbench.files import atomic_write_text
from gwbench.harness.cli import OutputPath
from gwbench.harness.commands import options
from gwbench.workloads.model import (
    DEFAULT_DOMAIN,
    WorkloadSpec,
)

PROGRESS_THRESHOLD = 2000  # Ingresses; below this generation takes well under a second

_DNS_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})+$")


def _check_domain(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if len(value) > 200 or not _DOMAIN.match(value):
        raise click.BadParameter(
            f"{value!r} is not a lowercase DNS domain such as cloud.example.com"
        )
    return value


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory.

    A reader never sees a half-written file; an interrupted write leaves the old file.
    """
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("the output directory does not exist", file=str(path))
    atomic_write_text(path, text)


@click.command(name="generate")
@click.option(
    "-n",
    "--ingresses",
    type=click.IntRange(min=1),
    required=True,
    help="Number of Ingresses to generate (>= 1).",
)
@options.seed()
@options.custom_domains("Share of Ingresses on a custom domain with its own certificate (0 to 1).")
@click.option(
    "--domain",
    default=DEFAULT_DOMAIN,
    show_default=True,
    callback=_check_domain,
    help="Cloud domain of the subdomain hosts and of the wildcard certificate.",
)
@options.output(OutputPath("file"), "Write to FILE (atomically) instead of standard output.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: when stderr is a terminal and N >= 2000).",
)
def command(
    ingresses: int,
    seed: int,
    custom_domains: float,
    domain: str,
    output: Path | None,
    progress: bool | None,
) -> None:
    """Write N seeded, Sealos-like Ingresses and their TLS Secrets as multi-document YAML.

    Hosts, annotations, paths and backends follow what App Launchpad, the app templates,
    devbox and the terminal create; subdomain hosts share the wildcard certificate, custom
    domains each get their own (real EC P-256 certificates). The output (Namespaces,
    Secrets, Ingresses) is accepted by `kubectl apply -f`; the same options give the same
    bytes.
    """
    from gwbench.workloads.generate import generate
    from gwbench.workloads.yamlio import dump

    show = (
        progress
        if progress is not None
        else (ingresses >= PROGRESS_THRESHOLD and sys.stderr.isatty())
    )
    spec = WorkloadSpec(
        ingresses=ingresses, seed=seed, custom_domain_share=custom_domains, domain=domain
    )
    started = time.perf_counter()
    workload = generate(spec, progress=show)
    if show:
        from rich.console import Console

        with Console(stderr=True).status("writing YAML"):
            text = dump(workload)
    else:
        text = dump(workload)
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomically(output, text)
    elapsed = time.perf_counter() - started
    click.echo(
        f"wrote {len(workload.ingresses)} Ingresses and {len(workload.secrets)} Secrets to "
        f"{output} ({len(text.encode()) / 1e6:.1f} MB) in {elapsed:.1f} s",
        err=True,
    )
