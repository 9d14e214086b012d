"""The two Istio control-plane hot paths side by side in one process: gateway_lookup and
envoyfilter_patch, baseline against optimized, at one N.

    python benchmarks/bench_hotpaths_istio.py                  # N = 20,000
    python benchmarks/bench_hotpaths_istio.py -n 2000 --repeat 5

Each implementation runs on the same inputs (the hot path's ``prepare`` before every call,
untimed); the first results are checked for equivalence, the counters of every call must be
identical, and the median wall and CPU times give the speedup, printed next to the target
(issue 3: gateway_lookup >= 50x, envoyfilter_patch >= 1.5x). The verdict uses CPU time
(``time.process_time``; the work is single-threaded), which a machine shared with other jobs
disturbs far less than wall time. The gateway_lookup baseline is
O(N^2) (about 12 s at N = 20,000 on a 2-core machine), so it runs ``--slow-repeat`` times
(default 1). Exit 1 on a mismatch or a missed target.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gwbench.harness import registry
from gwbench.harness.registry import HotPath, Implementation
from gwbench.workloads.counters import Counters
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec

TARGETS: dict[str, float] = {"gateway_lookup": 50.0, "envoyfilter_patch": 1.5}


@dataclass
class Measured:
    impl: Implementation
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    result: Any = None
    counters_stable: bool = True


def run_once(hp: HotPath, m: Measured, inputs: Any) -> None:
    prepared = hp.prepare(inputs) if hp.prepare is not None else inputs
    counters = Counters()
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    result = m.impl.func(prepared, counters)
    m.wall.append(time.perf_counter() - w0)
    m.cpu.append(time.process_time() - c0)
    if m.result is None:
        m.result, m.counters = result, counters.as_dict()
    elif counters.as_dict() != m.counters:
        m.counters_stable = False


def measure(hp: HotPath, inputs: Any, repeat: int, slow_repeat: int) -> list[Measured]:
    runs = [Measured(impl) for impl in hp.implementations]
    for r in range(repeat):
        for m in runs:
            slow = hp.name == "gateway_lookup" and m.impl.kind == "baseline"
            if r < (slow_repeat if slow else repeat):
                run_once(hp, m, inputs)
    return runs


def report(hp: HotPath, runs: list[Measured], n: int) -> tuple[list[str], list[str]]:
    lines = [f"{hp.name} (N={n:,})  models: {hp.models}"]
    failures = []
    base = runs[0]
    for m in runs:
        wall, cpu = statistics.median(m.wall), statistics.median(m.cpu)
        lines.append(
            f"  {m.impl.name:<10} median {wall:9.4f} s wall {cpu:9.4f} s cpu"
            f"  ({len(m.wall)} run{'s' if len(m.wall) > 1 else ''})"
        )
        lines.append("             " + ", ".join(f"{k}={v:,}" for k, v in m.counters.items()))
        if not m.counters_stable:
            failures.append(f"{hp.name}/{m.impl.name}: counters differ between runs")
        if m is not base:
            difference = hp.compare(base.result, m.result)
            if difference is not None:
                failures.append(f"{hp.name}/{m.impl.name}: not equivalent: {difference}")
    for m in runs[1:]:
        speedup = statistics.median(base.wall) / statistics.median(m.wall)
        speedup_cpu = statistics.median(base.cpu) / statistics.median(m.cpu)
        target = TARGETS.get(hp.name)
        verdict = ""
        if target is not None:
            met = speedup_cpu >= target
            verdict = f"  target >= {target:g}x (cpu): {'met' if met else 'MISSED'}"
            if not met:
                failures.append(f"{hp.name}: speedup {speedup_cpu:.2f}x cpu < {target:g}x")
        lines.append(
            f"  speedup {m.impl.name} over {base.impl.name}: {speedup:.2f}x wall,"
            f" {speedup_cpu:.2f}x cpu{verdict}"
        )
    return lines, failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--ingresses", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3, help="calls per implementation")
    parser.add_argument(
        "--slow-repeat", type=int, default=1, help="calls of the O(N^2) gateway_lookup baseline"
    )
    parser.add_argument("--hotpath", action="append", choices=sorted(TARGETS), help="default: both")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    workload = generate(WorkloadSpec(args.ingresses, seed=args.seed))
    print(f"generated {len(workload):,} Ingresses in {time.perf_counter() - t0:.2f} s")
    all_failures: list[str] = []
    for hp in registry.select(args.hotpath or sorted(TARGETS, reverse=True)):
        t0 = time.perf_counter()
        inputs = hp.make_inputs(workload)
        print(f"{hp.name}: inputs built in {time.perf_counter() - t0:.2f} s")
        runs = measure(hp, inputs, max(1, args.repeat), max(1, args.slow_repeat))
        lines, failures = report(hp, runs, args.ingresses)
        print("\n".join(lines))
        all_failures.extend(failures)
    for failure in all_failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if all_failures else 0


if __name__ == "__main__":
    sys.exit(main())
