"""``gwbench envoy``: domain activation latency on a real Envoy (docs/envoy.md).

Generates N Ingresses, translates them the Higress/Istio way in each shape, loads them into a
fresh local Envoy per (N, shape, transport), fed from files or by gwbench's xDS control plane
over gRPC (state of the world or delta), and measures the initial load, the activation of one
new host (with the bytes delivered for it) and the rotation of one custom certificate. Prints
a table (or JSON) and optionally writes the JSON document to a file.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from gwbench.errors import EXIT_FINDING
from gwbench.files import atomic_write_text
from gwbench.harness.cli import OutputPath
from gwbench.harness.commands import options
from gwbench.harness.envoy.measure import (
    AUTO,
    DEFAULT_REPEAT,
    EnvoyOptions,
    EnvoyResult,
    check_options,
    ingresses_in_order,
    iter_measure,
    results_document,
    shapes_from_option,
    transports_for,
    transports_from_option,
)
from gwbench.harness.envoy.plan import DEFAULT_PROBE_SAMPLE, SHAPES
from gwbench.harness.envoy.process import find_envoy
from gwbench.harness.envoy.session import TRANSPORTS
from gwbench.harness.progress import Notes
from gwbench.progressbar import stderr_bar
from gwbench.reports.envoy_table import format_table


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[tuple[Notes, Notes]]:
    """(describe step, finish case) callbacks drawing a rich bar on stderr when a TTY."""
    if not enabled:
        yield (lambda _: None), (lambda _: None)
        return
    with stderr_bar("Envoy", total) as (bar, task):
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
    "a certificate in one chain; wildcard: one *.<domain> chain, routes by RDS; scoped: "
    "wildcard chains with scoped routes keyed by host (SRDS, Higress enableSRDS).",
)
@options.choices(
    "--transport",
    "transports",
    among=[*TRANSPORTS, AUTO],
    help="How Envoy gets its config: files (filesystem xDS), sotw (gRPC ADS, state of the "
    "world) or delta (gRPC ADS, incremental); repeat for several. Default auto: per-host "
    "over files and sotw, consolidated and wildcard over sotw, scoped over delta.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pb", "yaml"]),
    default="pb",
    show_default=True,
    help="File format of the xDS files Envoy reads (--transport files).",
)
@click.option(
    "--repeat",
    type=int,
    default=DEFAULT_REPEAT,
    show_default=True,
    help="Activations (each a new host) and rotations per case; the median is reported.",
)
@options.seed(help=None)
@click.option(
    "--probe-sample",
    type=int,
    default=DEFAULT_PROBE_SAMPLE,
    show_default=True,
    help="Hosts probed after the initial load (0: every host).",
)
@options.envoy_binary()
@options.as_json("Print the JSON document, not the table.")
@options.output(OutputPath("file"), "Also write the JSON document to this file.")
def command(
    ingresses: tuple[int, ...],
    shape: str,
    transports: tuple[str, ...],
    fmt: str,
    repeat: int,
    seed: int,
    probe_sample: int,
    envoy_binary: Path | None,
    as_json: bool,
    output: Path | None,
) -> None:
    """Measure domain activation latency on a real Envoy.

    For each N, shape and transport: the initial load of the translated config (until the
    last host answers a TLS handshake with its SNI and a 200), the activation of one new host
    (median of --repeat) with the bytes delivered for it, the rotation of one custom
    certificate by SDS, whether Envoy applied the updates in place, and Envoy's memory. A
    config Envoy rejects (a NACK over gRPC) stops with Envoy's message. Exit 1 if a probed
    host was not served correctly.
    """
    sizes = ingresses_in_order(ingresses)
    shapes = shapes_from_option(shape)
    chosen = transports_from_option(transports)
    check_options(sizes, shapes, fmt, repeat, chosen)
    binary = find_envoy(envoy_binary) if envoy_binary is not None else find_envoy()
    envoy_options = EnvoyOptions(
        fmt="yaml" if fmt == "yaml" else "pb",
        repeat=repeat,
        seed=seed,
        probe_sample=probe_sample,
        binary=binary,
        transports=chosen,
    )
    cases = sum(len(transports_for(s, chosen)) for s in shapes)
    results: list[EnvoyResult] = []
    with (
        _sigterm_as_interrupt(),
        _progress(len(sizes) * cases, sys.stderr.isatty()) as (describe, finish),
    ):
        for result in iter_measure(sizes, shapes, envoy_options, describe):
            results.append(result)
            finish("")
    document = results_document(
        results,
        {
            "ingresses": sizes,
            "shapes": list(shapes),
            "format": envoy_options.fmt,
            "transports": list(chosen),
            "repeat": repeat,
            "seed": seed,
            "probe_sample": probe_sample,
        },
    )
    text = json.dumps(document, indent=2)
    if output is not None:
        atomic_write_text(output, text + "\n")
    records = [r.to_dict() for r in results]
    click.echo(text if as_json else "\n".join(format_table(records)))
    failed = sum(r.probes - r.probes_ok for r in results)
    if failed:
        click.echo(f"gwbench: error: {failed} probed host(s) not served as configured", err=True)
        sys.exit(EXIT_FINDING)
