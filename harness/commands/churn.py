"""``gwbench churn``: domain activation and disruption under a live stream of Ingress changes.

A seeded Poisson stream (or a replay file) of Ingress changes reaches a control plane that
debounces them as istiod does and, on every push, runs the chosen implementation over the
whole current Ingress set (``incremental``: only what changed) and hands the listener to a
real Envoy. Probes time each change until the data plane shows it and count failures on
hosts no change touches. ``--simulate`` replays the same debounce and queue with measured
costs instead (docs/churn.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gwbench.errors import EXIT_FINDING, InputError
from gwbench.files import atomic_write_text
from gwbench.harness.churn.controlplane import IMPLEMENTATIONS
from gwbench.harness.churn.debounce import DEBOUNCE_AFTER_S, DEBOUNCE_MAX_S, DebounceSettings
from gwbench.harness.churn.events import key_of
from gwbench.harness.churn.live import SHAPES, LiveOptions, run_live
from gwbench.harness.churn.replay import load_replay, write_replay
from gwbench.harness.churn.simulate import load_model, simulate
from gwbench.harness.churn.sink import AUTO, TRANSPORTS
from gwbench.harness.churn.stream import DEFAULT_MIX, Arrival, parse_mix, poisson_stream
from gwbench.harness.churn.summary import ChurnResult, document
from gwbench.harness.commands import options
from gwbench.harness.commands.envoy import _sigterm_as_interrupt
from gwbench.reports.churn_table import table_lines


def _stderr(message: str) -> None:
    click.echo(message, err=True)


def _arrivals(
    replay: Path | None, rate: float | None, duration: float | None, mix: str | None, seed: int
) -> tuple[list[Arrival], float, float]:
    """The stream, its rate per minute and its duration (a replay's are its own)."""
    if replay is not None:
        if mix is not None:
            raise InputError("a replay file fixes the changes; drop --mix", field="--mix")
        arrivals = load_replay(replay, seed)
        span = max(arrivals[-1].at, 1e-9)
        return arrivals, len(arrivals) * 60.0 / span, arrivals[-1].at
    if rate is None:
        raise InputError("give --rate (changes per minute) or --replay FILE", field="--rate")
    if duration is None:
        raise InputError("give --duration (seconds) or --replay FILE", field="--duration")
    weights = parse_mix(mix) if mix is not None else dict(DEFAULT_MIX)
    return poisson_stream(rate, duration, seed, weights), rate, duration


@click.command(name="churn")
@click.option("--ingresses", "-n", type=int, required=True, help="Ingresses before the stream.")
@click.option("--rate", type=float, default=None, help="Changes per minute (Poisson arrivals).")
@click.option("--duration", type=float, default=None, help="Seconds of changes.")
@options.choices(
    "--impl",
    "impls",
    among=IMPLEMENTATIONS,
    help="Control plane; repeat for several (default: all three). baseline and optimized "
    "run istiod's full push; incremental translates and sends only what changed.",
)
@options.choices(
    "--shape",
    "shapes",
    among=SHAPES,
    help="Listener shape fed to Envoy (default: per-host, what Istio and Higress emit; "
    "scoped: scoped routes keyed by host, one scope per subdomain, over ADS only).",
)
@click.option(
    "--transport",
    type=click.Choice([AUTO, *TRANSPORTS]),
    default=AUTO,
    show_default=True,
    help="How pushes reach Envoy: sotw or delta (the gRPC ADS control plane), or files "
    "(filesystem LDS). auto: baseline and optimized over sotw, as istiod pushes; "
    "incremental over delta.",
)
@options.file_path(
    "--replay", help="Replay this file of timestamped changes instead of a generated stream."
)
@click.option(
    "--mix",
    default=None,
    help="Change kinds and weights, e.g. add=5,delete=1,change-path=1 (kinds: add, "
    "add-custom, delete, change-path, change-backend, rotate-certificate).",
)
@options.seed(help=None)
@options.file_path(
    "--simulate",
    "simulate_from",
    help="Do not run Envoy: simulate with the costs measured in this file (a churn JSON "
    "document of a live run, or a gwbench results.json).",
)
@click.option(
    "--update-s",
    type=float,
    default=None,
    help="With --simulate on a results file without Envoy records: seconds Envoy takes "
    "to apply one listener update at the file's N.",
)
@click.option(
    "--check",
    is_flag=True,
    help="After every push, also run the full optimized translation and require the "
    "listener to be equal (slows each push).",
)
@click.option("--debounce-after", type=float, default=DEBOUNCE_AFTER_S, show_default=True)
@click.option("--debounce-max", type=float, default=DEBOUNCE_MAX_S, show_default=True)
@click.option(
    "--probe-sample", type=int, default=20, show_default=True, help="Hosts in the disruption loop."
)
@click.option(
    "--settle",
    type=float,
    default=None,
    help="Seconds to wait after the last push for changes not yet seen "
    "(default: 30 plus five times the longest push).",
)
@options.envoy_binary()
@options.as_json("Print the JSON document, not the table.")
@options.output(
    click.Path(file_okay=False, path_type=Path),
    "Write churn.json (every change and push) and replay.txt (the stream) here.",
)
def command(
    ingresses: int,
    rate: float | None,
    duration: float | None,
    impls: tuple[str, ...],
    shapes: tuple[str, ...],
    transport: str,
    replay: Path | None,
    mix: str | None,
    seed: int,
    simulate_from: Path | None,
    update_s: float | None,
    check: bool,
    debounce_after: float,
    debounce_max: float,
    probe_sample: int,
    settle: float | None,
    envoy_binary: Path | None,
    as_json: bool,
    output: Path | None,
) -> None:
    """Activation latency and disruption under a stream of Ingress changes.

    Prints, per implementation and shape: activation p50/p90/p99/max (change arrival until
    the host answers with its own certificate), pushes, push duration, the largest batch,
    disruption errors and requests to untouched hosts. Exit 1 if an untouched host failed
    or a change never showed on the data plane.
    """
    if ingresses < 1:
        raise InputError(f"must be >= 1, got {ingresses}", field="--ingresses")
    if debounce_after < 0 or debounce_max <= 0:
        raise InputError("debounce times must be positive", field="--debounce-after")
    if "scoped" in shapes and transport == "files":
        raise InputError(
            "the scoped shape is served over ADS only: use sotw, delta or auto",
            field="--transport",
        )
    settings = DebounceSettings(debounce_after, debounce_max)
    arrivals, rate_per_min, span = _arrivals(replay, rate, duration, mix, seed)
    chosen = list(dict.fromkeys(impls)) or list(IMPLEMENTATIONS)
    chosen_shapes = list(dict.fromkeys(shapes)) or [SHAPES[0]]
    results: list[ChurnResult] = []
    existing: set[str] = set()
    if simulate_from is not None:
        for shape in chosen_shapes:
            for impl in chosen:
                model = load_model(simulate_from, impl, shape, update_s)
                results.append(
                    simulate(
                        arrivals,
                        ingresses,
                        model,
                        shape=shape,
                        rate_per_min=rate_per_min,
                        duration_s=span,
                        seed=seed,
                        settings=settings,
                    )
                )
    else:
        from gwbench.workloads.generate import generate
        from gwbench.workloads.model import WorkloadSpec

        workload = generate(WorkloadSpec(ingresses, seed))
        existing = {"/".join(key_of(i)) for i in workload.ingresses}
        existing |= {"/".join(key_of(s)) for s in workload.secrets}
        with _sigterm_as_interrupt():
            for shape in chosen_shapes:
                for impl in chosen:
                    live_options = LiveOptions(
                        impl,
                        rate_per_min,
                        span,
                        seed,
                        shape=shape,
                        settings=settings,
                        probe_sample=probe_sample,
                        check=check,
                        binary=envoy_binary,
                        settle_s=settle,
                        source=str(replay) if replay is not None else None,
                        transport=transport,
                    )
                    results.append(run_live(workload, arrivals, live_options, _stderr))
                    if output is not None:  # each run kept as soon as it ends
                        _write(output, results, arrivals, existing)
    if output is not None:
        _write(output, results, arrivals, existing)
    if as_json:
        click.echo(json.dumps(document(results, details=False), indent=2))
    else:
        click.echo("\n".join(table_lines([r.summary() for r in results])))
    live = [r for r in results if r.mode == "live"]
    disrupted = sum(r.disruption_errors for r in live)
    unseen = sum(r.not_seen() for r in live)
    if disrupted or unseen:
        click.echo(
            f"gwbench: error: {disrupted} request(s) to untouched hosts failed, "
            f"{unseen} change(s) never showed on the data plane",
            err=True,
        )
        sys.exit(EXIT_FINDING)


def _write(
    output: Path, results: list[ChurnResult], arrivals: list[Arrival], existing: set[str]
) -> None:
    """``churn.json`` (every record) and ``replay.txt`` (the stream) into ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(output / "churn.json", json.dumps(document(results), indent=1) + "\n")
    write_replay(output / "replay.txt", _concrete(arrivals, results, existing))


def _concrete(
    arrivals: list[Arrival], results: list[ChurnResult], existing: set[str]
) -> list[Arrival]:
    """The stream with the target each change hit, where that object existed before the
    stream (an object the stream created gets a new name when replayed)."""
    if not results or results[0].mode != "live":
        return arrivals
    targets = {c.event: c.target for c in results[0].changes if c.target in existing}
    return [
        Arrival(
            a.at,
            a.kind,
            a.seed,
            a.target or (None if a.kind in ("add", "add-custom") else targets.get(i)),
            a.line,
        )
        for i, a in enumerate(arrivals)
    ]
