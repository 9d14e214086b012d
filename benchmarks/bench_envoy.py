"""Real-Envoy domain activation at several sizes, side by side with docs/envoy.md's figures.

    python benchmarks/bench_envoy.py                      # N = 1,000, 5,000, 20,000; all shapes
    python benchmarks/bench_envoy.py -n 1000 -n 5000 --repeat 3 -o envoy.json

Prints the measured table, the docs/envoy.md reference for the same (N, shape) where it has one,
and how activation grows with N per shape (the exponent k of time ~ N^k between the smallest
and the largest N). Exit 1 when an update was rejected, a probe failed, an update was not
applied in place, or the wildcard shape's activation is not faster than per-host at the
largest N (the property docs/envoy.md reports).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from gwbench.harness.envoy.measure import EnvoyOptions, EnvoyResult, measure
from gwbench.harness.envoy.table import format_table, results_document
from gwbench.workloads.envoy_config import SHAPES

# docs/envoy.md, "What was measured" (one machine, Envoy 1.40.0, pb): (N, shape) ->
# (filter chains, initial load s, activation s, RSS MB)
REFERENCE: dict[tuple[int, str], tuple[int, float, float, int]] = {
    (1000, "per-host"): (1000, 0.51, 0.20, 113),
    (5000, "per-host"): (5000, 2.4, 1.0, 307),
    (10000, "per-host"): (10000, 4.9, 2.1, 561),
    (20000, "per-host"): (20000, 10.5, 4.2, 1038),
    (1000, "consolidated"): (51, 0.04, 0.025, 70),
    (20000, "consolidated"): (1001, 0.85, 0.48, 150),
    (1000, "wildcard"): (1, 0.013, 0.013, 72),
    (5000, "wildcard"): (1, 0.033, 0.033, 101),
    (20000, "wildcard"): (1, 0.13, 0.14, 205),
}


def reference_lines(results: list[EnvoyResult]) -> list[str]:
    lines = ["", "docs/envoy.md reference (pb):  N  shape  chains  initial s  activation s  RSS MB"]
    for r in results:
        ref = REFERENCE.get((r.ingresses, r.shape))
        if ref is None or r.format != "pb":
            continue
        chains, initial, activation, rss = ref
        lines.append(
            f"  {r.ingresses:>6,} {r.shape:<12} {chains:>6,} {initial:>9.3f} {activation:>12.3f}"
            f" {rss:>6}   measured/reference: initial x{r.initial_load_s / initial:.2f},"
            f" activation x{r.activation_s / activation:.2f}"
        )
    return lines


def growth_lines(results: list[EnvoyResult]) -> list[str]:
    lines = ["", "activation growth with N (time ~ N^k):"]
    for shape in SHAPES:
        cases = sorted((r for r in results if r.shape == shape), key=lambda r: r.ingresses)
        if len(cases) < 2:
            continue
        low, high = cases[0], cases[-1]
        k = math.log(high.activation_s / low.activation_s) / math.log(
            high.ingresses / low.ingresses
        )
        lines.append(
            f"  {shape:<12} {low.activation_s:.4f} s at {low.ingresses:,} -> "
            f"{high.activation_s:.4f} s at {high.ingresses:,}: k = {k:.2f}"
        )
    return lines


def problems(results: list[EnvoyResult]) -> list[str]:
    found = []
    for r in results:
        label = f"N={r.ingresses} {r.shape}"
        if r.update_rejected:
            found.append(f"{label}: {r.update_rejected} update(s) rejected")
        if r.probes_ok != r.probes:
            found.append(f"{label}: {r.probes - r.probes_ok} probe(s) failed")
        if not r.in_place:
            found.append(f"{label}: an update was not applied in place")
    largest = max((r.ingresses for r in results), default=0)
    at_largest = {r.shape: r for r in results if r.ingresses == largest}
    per_host, wildcard = at_largest.get("per-host"), at_largest.get("wildcard")
    if per_host and wildcard and wildcard.activation_s >= per_host.activation_s:
        found.append(f"N={largest}: wildcard activation is not faster than per-host")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--ingresses", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--format", choices=["pb", "yaml"], default="pb")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    sizes = args.ingresses or [1000, 5000, 20000]
    options = EnvoyOptions(
        fmt="yaml" if args.format == "yaml" else "pb", repeat=args.repeat, seed=args.seed
    )
    start = time.perf_counter()
    load_before = os.getloadavg()
    results = measure(
        sizes,
        list(SHAPES),
        options,
        lambda message: print(f"[{time.perf_counter() - start:7.1f} s] {message}", file=sys.stderr),
    )
    load_after = os.getloadavg()
    lines = format_table(results) + reference_lines(results) + growth_lines(results)
    lines.append(
        f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"({os.cpu_count()} CPUs); wall times include waiting for a core, CPU times do not"
    )
    print("\n".join(lines))
    if args.output is not None:
        document = results_document(results, {"ingresses": sizes, "repeat": args.repeat})
        args.output.write_text(json.dumps(document, indent=2) + "\n")
    found = problems(results)
    for problem in found:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
