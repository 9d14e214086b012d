"""Real-Envoy domain activation per shape and transport, and the checks docs/envoy.md reports.

    python benchmarks/bench_envoy.py          # N = 1,000, 5,000, 20,000; scoped also at 50,000
    python benchmarks/bench_envoy.py -n 1000 -n 5000 --large 0 --repeat 5 -o envoy.json
    python benchmarks/bench_envoy.py --shape scoped -n 1000 -n 20000 --rounds 3

Every shape over its ``auto`` transports (per-host over files and gRPC SotW, consolidated and
wildcard over SotW, scoped over delta) at each N, plus the scoped shape alone at ``--large``.
Prints the table, how activation grows with N per (shape, transport) (exponent k of
time ~ N^k), the load average, and the checks:

- nothing rejected, every probe answered with the host's own certificate;
- scoped over delta: median activation <= 50 ms at 20,000 and at the largest N, the
  20,000/1,000 ratio <= 1.5, bytes per activation flat in N (max/min <= 1.1);
- its price against per-host: initial load and RSS per host;
- per-host over SotW against per-host from files at the same N: within noise. In rounds
  (below): the difference of the pooled medians is no larger than the largest difference
  between two rounds of the same transport (what a fresh Envoy of the same transport moves
  on this machine). In one pass: the two activation ranges overlap, or the medians differ
  by under 20%.

``--rounds R`` measures the scoped shape R times at every N, interleaved (1,000, 20,000,
50,000, 1,000, ...: each on a fresh Envoy, every N translated once), so that the sizes share
the machine's load; its checks then use the median of every activation pooled per N. It
measures per-host R times per transport too, alternating files, sotw, sotw, files, ... (each
on a fresh Envoy, every N translated once), so that both transports share the machine's
drift.

``-o FILE`` is rewritten (atomically) after every case, so Ctrl-C keeps what finished (exit
130). Exit 1 when a check fails. Wall times include waiting for a core on a shared machine; the
CPU column does not.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gwbench.files import atomic_write_text
from gwbench.harness.envoy.measure import (
    EnvoyOptions,
    EnvoyResult,
    iter_measure,
    measure_case,
    results_document,
)
from gwbench.harness.envoy.plan import SHAPES, CasePlan, Shape, plan_case
from gwbench.harness.envoy.session import Transport
from gwbench.reports.envoy_table import format_table
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec

BEST = ("scoped", "delta")
BEST_LIMIT_S = 0.050
FLAT_RATIO = 1.5
BYTES_FLAT = 1.1
NOISE = 0.20
TRANSPORT_PAIR: tuple[Transport, Transport] = ("files", "sotw")


def _key(r: EnvoyResult) -> tuple[str, str]:
    return r.shape, r.transport


def growth_lines(results: list[EnvoyResult]) -> list[str]:
    lines = ["", "activation growth with N (time ~ N^k), per shape and transport:"]
    for key in dict.fromkeys(_key(r) for r in results):
        cases = sorted((r for r in results if _key(r) == key), key=lambda r: r.ingresses)
        if cases[0].ingresses == cases[-1].ingresses:
            continue  # one N (rounds at a single size): nothing to fit
        low, high = cases[0], cases[-1]
        k = math.log(high.activation_s / low.activation_s) / math.log(
            high.ingresses / low.ingresses
        )
        lines.append(
            f"  {key[0]:<12} {key[1]:<5} {low.activation_s * 1e3:8.1f} ms at {low.ingresses:,}"
            f" -> {high.activation_s * 1e3:8.1f} ms at {high.ingresses:,}: k = {k:.2f}; bytes "
            f"{low.activation_bytes:,} -> {high.activation_bytes:,}"
        )
    return lines if len(lines) > 2 else []


def price_lines(results: list[EnvoyResult]) -> list[str]:
    lines = ["", "price of scoped (delta) against per-host (sotw), per host:"]
    for n in sorted({r.ingresses for r in results}):
        at = {_key(r): r for r in results if r.ingresses == n}
        best, per_host = at.get(BEST), at.get(("per-host", "sotw"))
        if best is None or per_host is None:
            continue
        lines.append(
            f"  N={n:,}: initial load {best.initial_load_s / best.hosts * 1e3:.3f} ms/host "
            f"vs {per_host.initial_load_s / per_host.hosts * 1e3:.3f}; RSS "
            f"{best.rss_bytes / best.hosts / 1e3:.1f} kB/host vs "
            f"{per_host.rss_bytes / per_host.hosts / 1e3:.1f}; initial bytes "
            f"{best.initial_bytes / best.hosts:,.0f} B/host vs "
            f"{per_host.initial_bytes / per_host.hosts:,.0f}"
        )
    return lines if len(lines) > 2 else []


def pooled_samples(
    results: Sequence[EnvoyResult], key: tuple[str, str] = BEST
) -> dict[int, list[float]]:
    """N -> every activation of ``key`` (shape, transport) at N, all rounds pooled."""
    pooled: dict[int, list[float]] = {}
    for r in sorted((r for r in results if _key(r) == key), key=lambda r: r.ingresses):
        pooled.setdefault(r.ingresses, []).extend(r.activation_samples_s)
    return pooled


def pooled_lines(results: Sequence[EnvoyResult]) -> list[str]:
    lines = ["", "scoped (delta), every round pooled: median [min-max] of the activations:"]
    for n, samples in pooled_samples(results).items():
        rounds = [
            f"{r.activation_s * 1e3:.1f}" for r in results if _key(r) == BEST and r.ingresses == n
        ]
        lines.append(
            f"  N={n:,}: {statistics.median(samples) * 1e3:.1f} ms "
            f"[{min(samples) * 1e3:.1f}-{max(samples) * 1e3:.1f}] of {len(samples)}; "
            f"per round {', '.join(rounds)} ms"
        )
    return lines if len(lines) > 2 else []


def _plan(n: int, shape: Shape, options: EnvoyOptions, progress: Callable[[str], None]) -> CasePlan:
    progress(f"N={n} {shape}: generating and translating")
    return plan_case(
        generate(WorkloadSpec(n, seed=options.seed)),
        shape,
        repeat=options.repeat,
        seed=options.seed,
        probe_sample=options.probe_sample,
    )


def scoped_rounds(
    sizes: Sequence[int],
    rounds: int,
    options: EnvoyOptions,
    progress: Callable[[str], None],
) -> Iterator[EnvoyResult]:
    """The scoped shape over delta ``rounds`` times at every N, interleaved, each N
    translated once; each result yielded as soon as it is measured."""
    plans = [_plan(n, "scoped", options, progress) for n in sizes]
    for index in range(rounds):
        for plan in plans:
            progress(f"round {index + 1}/{rounds}")
            yield measure_case(plan, options, progress, transport="delta")


def per_host_rounds(
    sizes: Sequence[int],
    rounds: int,
    options: EnvoyOptions,
    progress: Callable[[str], None],
) -> Iterator[EnvoyResult]:
    """Per-host over files and over SotW ``rounds`` times each at every N, alternating
    (files, sotw, sotw, files, ...), each on a fresh Envoy, every N translated once; each
    result yielded as soon as it is measured."""
    for n in sizes:
        plan = _plan(n, "per-host", options, progress)
        for index in range(rounds):
            order = TRANSPORT_PAIR if index % 2 == 0 else TRANSPORT_PAIR[::-1]
            for transport in order:
                progress(f"N={n} per-host round {index + 1}/{rounds}")
                yield measure_case(plan, options, progress, transport=transport)


@dataclass(frozen=True)
class TransportNoise:
    """Per-host over SotW against per-host from files at one N."""

    ingresses: int
    files: tuple[float, ...]
    """Each files round's median activation, in order."""
    sotw: tuple[float, ...]
    files_median: float
    """Median of every files activation, all rounds pooled."""
    sotw_median: float
    files_cpu: float
    """Median Envoy CPU per activation, all files rounds pooled."""
    sotw_cpu: float
    overlap: bool
    """The pooled activation ranges overlap."""

    @property
    def difference(self) -> float:
        """SotW's pooled median against files', relative (+0.10: SotW 10% slower)."""
        return self.sotw_median / self.files_median - 1

    @property
    def spread(self) -> float | None:
        """The largest relative difference between two rounds of the same transport; None
        with a single round of either."""
        spreads = [max(m) / min(m) - 1 for m in (self.files, self.sotw) if len(m) > 1]
        return max(spreads) if len(spreads) == 2 else None

    @property
    def within_noise(self) -> bool:
        if self.spread is not None:
            return abs(self.difference) <= self.spread
        return self.overlap or abs(self.difference) < NOISE

    def line(self) -> str:
        def rounds(medians: tuple[float, ...]) -> str:
            return ", ".join(f"{m:.3f}" for m in medians)

        rule = (
            f"fresh Envoys of one transport differ by up to {self.spread:.0%}"
            if self.spread is not None
            else ("ranges overlap" if self.overlap else f"noise rule {NOISE:.0%}")
        )
        verdict = "within noise" if self.within_noise else "outside noise"
        return (
            f"  N={self.ingresses:,}: sotw {self.sotw_median:.3f} s (rounds {rounds(self.sotw)};"
            f" CPU {self.sotw_cpu:.3f} s) vs files {self.files_median:.3f} s (rounds "
            f"{rounds(self.files)}; CPU {self.files_cpu:.3f} s): {self.difference:+.0%}; "
            f"{rule}: {verdict}"
        )


def _pooled_cpu(rounds: Sequence[EnvoyResult]) -> float:
    return statistics.median(
        c for r in rounds for c in (r.activation_cpu_samples_s or (r.activation_cpu_s,))
    )


def transport_noise(results: Sequence[EnvoyResult]) -> list[TransportNoise]:
    """Per-host over SotW against files at every N measured over both."""
    found = []
    pooled_files, pooled_sotw = (pooled_samples(results, ("per-host", t)) for t in TRANSPORT_PAIR)
    for n in sorted(pooled_files.keys() & pooled_sotw.keys()):
        files, sotw = (
            [r for r in results if r.ingresses == n and _key(r) == ("per-host", t)]
            for t in TRANSPORT_PAIR
        )
        found.append(
            TransportNoise(
                ingresses=n,
                files=tuple(r.activation_s for r in files),
                sotw=tuple(r.activation_s for r in sotw),
                files_median=statistics.median(pooled_files[n]),
                sotw_median=statistics.median(pooled_sotw[n]),
                files_cpu=_pooled_cpu(files),
                sotw_cpu=_pooled_cpu(sotw),
                overlap=min(pooled_sotw[n]) <= max(pooled_files[n])
                and min(pooled_files[n]) <= max(pooled_sotw[n]),
            )
        )
    return found


def noise_lines(results: Sequence[EnvoyResult]) -> list[str]:
    found = transport_noise(results)
    if not found:
        return []
    return ["", "per-host over sotw against files (activation, all rounds pooled):"] + [
        t.line() for t in found
    ]


def problems(results: list[EnvoyResult]) -> list[str]:
    found = []
    for r in results:
        label = f"N={r.ingresses} {r.shape} {r.transport}"
        if r.update_rejected:
            found.append(f"{label}: {r.update_rejected} update(s) rejected")
        if r.probes_ok != r.probes:
            found.append(f"{label}: {r.probes - r.probes_ok} probe(s) failed")
    best = sorted((r for r in results if _key(r) == BEST), key=lambda r: r.ingresses)
    pooled = {n: statistics.median(s) for n, s in pooled_samples(results).items()}
    for n, median in pooled.items():
        if n >= 20_000 and median > BEST_LIMIT_S:
            found.append(
                f"N={n} scoped delta: median activation {median * 1e3:.0f} ms"
                f" > {BEST_LIMIT_S * 1e3:.0f} ms"
            )
    if 1000 in pooled and 20_000 in pooled:
        ratio = pooled[20_000] / pooled[1000]
        if ratio > FLAT_RATIO:
            found.append(f"scoped delta: 20,000/1,000 activation ratio {ratio:.2f} > {FLAT_RATIO}")
    if best:
        sizes = [r.activation_bytes for r in best]
        if max(sizes) > BYTES_FLAT * min(sizes):
            found.append(f"scoped delta: bytes per activation not flat in N: {sizes}")
    for noise in transport_noise(results):
        if not noise.within_noise:
            found.append(f"per-host over sotw against files, outside noise:{noise.line()}")
    return found


def cases(
    args: argparse.Namespace,
    shapes: Sequence[Shape],
    sizes: Sequence[int],
    options: EnvoyOptions,
    progress: Callable[[str], None],
) -> Iterator[EnvoyResult]:
    """Every case the options ask for, in the order they are measured."""
    scoped_sizes = [*sizes, args.large] if args.large else list(sizes)
    if args.rounds > 1:
        once = [s for s in shapes if s not in ("per-host", "scoped")]
        if once:
            yield from iter_measure(sizes, once, options, progress)
        if "per-host" in shapes:
            yield from per_host_rounds(sizes, args.rounds, options, progress)
        if "scoped" in shapes:
            yield from scoped_rounds(scoped_sizes, args.rounds, options, progress)
        return
    yield from iter_measure(sizes, shapes, options, progress)
    if args.large and "scoped" in shapes:
        yield from iter_measure([args.large], ["scoped"], options, progress)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--ingresses", type=int, action="append")
    parser.add_argument("--large", type=int, default=50_000, help="scoped only; 0: skip")
    parser.add_argument("--shape", action="append", choices=SHAPES, help="default: every shape")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help=(
            "measure the scoped shape this many times per N (interleaved across N), and "
            "per-host this many times per transport (files, sotw, sotw, files, ...)"
        ),
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="results JSON, rewritten after every case"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    sizes = args.ingresses or [1000, 5000, 20_000]
    options = EnvoyOptions(repeat=args.repeat, seed=args.seed)
    start = time.perf_counter()

    def progress(message: str) -> None:
        load = os.getloadavg()[0]
        print(f"[{time.perf_counter() - start:7.1f} s, load {load:.1f}] {message}", file=sys.stderr)

    load_before = os.getloadavg()
    shapes = args.shape or list(SHAPES)
    results: list[EnvoyResult] = []

    def save() -> None:
        """Write what has finished so far (atomically), so that an interrupted run keeps it."""
        if args.output is None:
            return
        load_now = os.getloadavg()
        document = results_document(
            results,
            {
                "ingresses": sizes,
                "large": args.large,
                "repeat": args.repeat,
                "rounds": args.rounds,
                "load_before": list(load_before),
                "load_after": list(load_now),
            },
        )
        atomic_write_text(args.output, json.dumps(document, indent=2) + "\n")

    try:
        for result in cases(args, shapes, sizes, options, progress):
            results.append(result)
            save()
    except KeyboardInterrupt:
        saved = f"; {len(results)} finished case(s) kept in {args.output}" if args.output else ""
        print(f"interrupted{saved}", file=sys.stderr)
        return 130
    load_after = os.getloadavg()
    lines = format_table([r.to_dict() for r in results])
    lines += growth_lines(results) + price_lines(results) + pooled_lines(results)
    lines += noise_lines(results)
    lines.append(
        f"\nload average (1, 5, 15 min) before {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} "
        f"{load_after[2]:.2f} ({os.cpu_count()} CPUs); wall times include waiting for a core, "
        "CPU times do not"
    )
    print("\n".join(lines))
    found = problems(results)
    for problem in found:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
