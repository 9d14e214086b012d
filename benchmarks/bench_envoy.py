"""Real-Envoy domain activation per shape and transport, and the checks docs/envoy.md reports.

    python benchmarks/bench_envoy.py          # N = 1,000, 5,000, 20,000; scoped also at 50,000
    python benchmarks/bench_envoy.py -n 1000 -n 5000 --large 0 --repeat 5 -o envoy.json

Every shape over its ``auto`` transports (per-host over files and gRPC SotW, consolidated and
wildcard over SotW, scoped over delta) at each N, plus the scoped shape alone at ``--large``.
Prints the table, how activation grows with N per (shape, transport) (exponent k of
time ~ N^k), the load average, and the checks:

- nothing rejected, every probe answered with the host's own certificate;
- scoped over delta: median activation <= 50 ms at 20,000 and at the largest N, the
  20,000/1,000 ratio <= 1.5, bytes per activation flat in N (max/min <= 1.1);
- its price against per-host: initial load and RSS per host;
- per-host over SotW against per-host from files at the same N: within noise (the two
  activation ranges overlap, or the medians differ by under 20%).

Exit 1 when a check fails. Wall times include waiting for a core on a shared machine; the
CPU column does not.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from gwbench.harness.envoy.measure import EnvoyOptions, EnvoyResult, measure, results_document
from gwbench.harness.envoy.plan import SHAPES
from gwbench.reports.envoy_table import format_table

BEST = ("scoped", "delta")
BEST_LIMIT_S = 0.050
FLAT_RATIO = 1.5
BYTES_FLAT = 1.1
NOISE = 0.20


def _key(r: EnvoyResult) -> tuple[str, str]:
    return r.shape, r.transport


def growth_lines(results: list[EnvoyResult]) -> list[str]:
    lines = ["", "activation growth with N (time ~ N^k), per shape and transport:"]
    for key in dict.fromkeys(_key(r) for r in results):
        cases = sorted((r for r in results if _key(r) == key), key=lambda r: r.ingresses)
        if len(cases) < 2:
            continue
        low, high = cases[0], cases[-1]
        k = math.log(high.activation_s / low.activation_s) / math.log(
            high.ingresses / low.ingresses
        )
        lines.append(
            f"  {key[0]:<12} {key[1]:<5} {low.activation_s * 1e3:8.1f} ms at {low.ingresses:,}"
            f" -> {high.activation_s * 1e3:8.1f} ms at {high.ingresses:,}: k = {k:.2f}; bytes "
            f"{low.activation_bytes:,} -> {high.activation_bytes:,}"
        )
    return lines


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
    return lines


def problems(results: list[EnvoyResult]) -> list[str]:
    found = []
    for r in results:
        label = f"N={r.ingresses} {r.shape} {r.transport}"
        if r.update_rejected:
            found.append(f"{label}: {r.update_rejected} update(s) rejected")
        if r.probes_ok != r.probes:
            found.append(f"{label}: {r.probes - r.probes_ok} probe(s) failed")
    best = sorted((r for r in results if _key(r) == BEST), key=lambda r: r.ingresses)
    for r in best:
        if r.ingresses >= 20_000 and r.activation_s > BEST_LIMIT_S:
            found.append(
                f"N={r.ingresses} scoped delta: median activation {r.activation_s * 1e3:.0f} ms"
                f" > {BEST_LIMIT_S * 1e3:.0f} ms"
            )
    by_n = {r.ingresses: r for r in best}
    if 1000 in by_n and 20_000 in by_n:
        ratio = by_n[20_000].activation_s / by_n[1000].activation_s
        if ratio > FLAT_RATIO:
            found.append(f"scoped delta: 20,000/1,000 activation ratio {ratio:.2f} > {FLAT_RATIO}")
    if best:
        sizes = [r.activation_bytes for r in best]
        if max(sizes) > BYTES_FLAT * min(sizes):
            found.append(f"scoped delta: bytes per activation not flat in N: {sizes}")
    for n in sorted({r.ingresses for r in results}):
        at = {_key(r): r for r in results if r.ingresses == n}
        files, sotw = at.get(("per-host", "files")), at.get(("per-host", "sotw"))
        if files is None or sotw is None:
            continue
        overlap = min(sotw.activation_samples_s) <= max(files.activation_samples_s) and min(
            files.activation_samples_s
        ) <= max(sotw.activation_samples_s)
        close = abs(sotw.activation_s / files.activation_s - 1) < NOISE
        if not (overlap or close):
            found.append(
                f"N={n}: per-host over sotw {sotw.activation_s:.3f} s vs files "
                f"{files.activation_s:.3f} s: outside noise"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--ingresses", type=int, action="append")
    parser.add_argument("--large", type=int, default=50_000, help="scoped only; 0: skip")
    parser.add_argument("--shape", action="append", choices=SHAPES, help="default: every shape")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    sizes = args.ingresses or [1000, 5000, 20_000]
    options = EnvoyOptions(repeat=args.repeat, seed=args.seed)
    start = time.perf_counter()

    def progress(message: str) -> None:
        load = os.getloadavg()[0]
        print(f"[{time.perf_counter() - start:7.1f} s, load {load:.1f}] {message}", file=sys.stderr)

    load_before = os.getloadavg()
    results = measure(sizes, args.shape or list(SHAPES), options, progress)
    if args.large and "scoped" in (args.shape or SHAPES):
        results += measure([args.large], ["scoped"], options, progress)
    load_after = os.getloadavg()
    lines = format_table([r.to_dict() for r in results])
    lines += growth_lines(results) + price_lines(results)
    lines.append(
        f"\nload average (1, 5, 15 min) before {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} "
        f"{load_after[2]:.2f} ({os.cpu_count()} CPUs); wall times include waiting for a core, "
        "CPU times do not"
    )
    print("\n".join(lines))
    if args.output is not None:
        document = results_document(
            results, {"ingresses": sizes, "large": args.large, "repeat": args.repeat}
        )
        args.output.write_text(json.dumps(document, indent=2) + "\n")
    found = problems(results)
    for problem in found:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
