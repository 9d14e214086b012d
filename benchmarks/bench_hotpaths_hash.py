"""Side-by-side timing of the hashing hot paths at N Ingresses, in one process.

    python benchmarks/bench_hotpaths_hash.py [--ingresses 20000] [--seed 42] [--repeat 3]
        [--only filterchain_hash|listener_update] [--no-deterministic] [--no-gc-freeze]

For ``filterchain_hash`` (one pass over the listener's chains, freshly decoded before each
call by the hot path's untimed ``prepare``, so the cached strategy starts from an empty
cache) and ``listener_update`` (one LDS update adding one domain to the active listener,
decoded from the wire inside the call), every implementation runs ``--repeat`` times,
interleaved, after an equivalence check against the baseline. Prints wall-clock medians,
per-chain times, speedups over the baseline (wall clock, and process CPU time, which a
shared machine disturbs less) and the first run's counters, plus the cached hash's
warm-cache pass for reference.

After setup the Ingress objects are dropped and the setup heap is frozen (``gc.freeze``;
``--no-gc-freeze`` keeps it collected), so that Python's full collections during a timed
call traverse what the call allocates rather than the inputs.

Exit status 1 when a speed target is missed (filterchain_hash ``cached`` >= 5x,
listener_update ``cached`` >= 10x, on wall-clock medians) or an equivalence check fails.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gwbench.harness import registry
from gwbench.harness.hotpaths import listener_update as lu_hotpath
from gwbench.harness.registry import HotPath
from gwbench.optimized import filterchain_hash as optimized_hash
from gwbench.workloads.counters import Counters
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec
from gwbench.workloads.protohash import ChainsInput

TARGETS = {("filterchain_hash", "cached"): 5.0, ("listener_update", "cached"): 10.0}


@dataclass
class Timing:
    """The timings and first-run counters of one implementation."""

    hotpath: str
    implementation: str
    kind: str
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)


def _timed(
    func: Callable[[Any, Counters], Any], inputs: Any, counters: Counters
) -> tuple[Any, float, float]:
    """(result, wall seconds, process CPU seconds) of one call."""
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    result = func(inputs, counters)
    wall = time.perf_counter() - start
    return result, wall, time.process_time() - cpu


def run_hotpath(
    hotpath: HotPath, inputs: Any, repeat: int, skip: Sequence[str] = ()
) -> list[Timing]:
    """Every implementation ``repeat`` times, interleaved; the first round checks results."""
    impls = [i for i in hotpath.implementations if i.name not in skip]
    timings = [Timing(hotpath.name, i.name, i.kind) for i in impls]
    expected: Any = None
    for round_ in range(repeat):
        for impl, timing in zip(impls, timings, strict=True):
            own = hotpath.inputs_for(inputs, impl.name)
            call_inputs = hotpath.prepare(own) if hotpath.prepare else own
            counters = Counters()
            result, seconds, cpu = _timed(impl.func, call_inputs, counters)
            timing.seconds.append(seconds)
            timing.cpu_seconds.append(cpu)
            if round_ == 0:
                timing.counters = counters.as_dict()
                if impl.kind == "baseline":
                    expected = result
                else:
                    difference = hotpath.compare(expected, result)
                    if difference is not None:
                        raise SystemExit(
                            f"{hotpath.name}: {impl.name} differs from baseline: {difference}"
                        )
            print(
                f"  {hotpath.name} {impl.name} run {round_ + 1}/{repeat}: {seconds:.3f} s",
                file=sys.stderr,
            )
    return timings


def warm_cache_pass(inputs: ChainsInput, repeat: int) -> Timing:
    """The cached strategy over chains it has already hashed (every chain a cache hit)."""
    timing = Timing("filterchain_hash", "cached (warm cache)", "reference")
    for _ in range(repeat):
        fresh = inputs.fresh()
        cache = optimized_hash.HashCache()
        optimized_hash.hash_chains(fresh.chains, Counters(), cache)
        counters = Counters()

        def again(x: ChainsInput, c: Counters, cache: optimized_hash.HashCache = cache) -> Any:
            return optimized_hash.hash_chains(x.chains, c, cache)

        _, seconds, cpu = _timed(again, fresh, counters)
        timing.seconds.append(seconds)
        timing.cpu_seconds.append(cpu)
        timing.counters = counters.as_dict()
    return timing


def format_table(timings: Sequence[Timing], chains: int) -> list[str]:
    """Lines: wall and CPU medians, per-chain time, speedups over the baseline, counters."""
    base = next(t for t in timings if t.kind == "baseline")
    lines = [
        f"{timings[0].hotpath} ({chains} chains)",
        f"  {'implementation':22s} {'kind':10s} {'median s':>9s} {'us/chain':>9s} "
        f"{'speedup':>8s} {'cpu s':>8s} {'cpu x':>7s}  wall runs",
    ]
    for t in timings:
        runs = ", ".join(f"{s:.3f}" for s in t.seconds)
        lines.append(
            f"  {t.implementation:22s} {t.kind:10s} {t.median:9.4f} "
            f"{t.median / chains * 1e6:9.1f} {base.median / t.median:7.1f}x "
            f"{t.cpu_median:8.4f} {base.cpu_median / t.cpu_median:6.1f}x  [{runs}]"
        )
    lines.append("  counters (first run):")
    for t in timings:
        counts = " ".join(f"{k}={v}" for k, v in t.counters.items() if v)
        lines.append(f"    {t.implementation}: {counts}")
    return lines


def target_lines(timings: Sequence[Timing]) -> tuple[list[str], bool]:
    base = {t.hotpath: t.median for t in timings if t.kind == "baseline"}
    base_cpu = {t.hotpath: t.cpu_median for t in timings if t.kind == "baseline"}
    lines, ok = [], True
    for t in timings:
        target = TARGETS.get((t.hotpath, t.implementation))
        if target is None:
            continue
        speedup = base[t.hotpath] / t.median
        met = speedup >= target
        ok = ok and met
        verdict = "met" if met else "MISSED"
        cpu = base_cpu[t.hotpath] / t.cpu_median
        lines.append(
            f"{t.hotpath} {t.implementation}: {speedup:.1f}x wall, {cpu:.1f}x CPU "
            f"(target >= {target:g}x on the wall-clock median) {verdict}"
        )
    return lines, ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingresses", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=("filterchain_hash", "listener_update"),
        help="measure one hot path only",
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the setup heap in the collected generations (full collections during "
        "timed calls then traverse the decoded listeners and initial states)",
    )
    parser.add_argument(
        "--no-deterministic",
        action="store_true",
        help="skip listener_update's deterministic implementation (slow at large N)",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    workload = generate(WorkloadSpec(args.ingresses, args.seed))
    print(f"generated {len(workload)} Ingresses in {time.perf_counter() - start:.1f} s")

    fch = registry.get("filterchain_hash")
    lu = registry.get("listener_update")
    start = time.perf_counter()
    chains_input: ChainsInput = fch.make_inputs(workload)
    chains = len(chains_input.chains)
    print(f"filterchain_hash inputs: {chains} chains in {time.perf_counter() - start:.1f} s")
    update_inputs = None
    if args.only in (None, "listener_update"):
        start = time.perf_counter()
        # every implementation's state at once, before the heap is frozen
        update_inputs = lu_hotpath.inputs_for(*lu_hotpath.update_bytes(workload))
        elapsed = time.perf_counter() - start
        print(f"listener_update inputs (three initial states) in {elapsed:.1f} s")
    del workload  # the Ingress objects are not needed to time the hot paths
    gc.collect()
    frozen = not args.no_gc_freeze
    print(f"tracked objects after setup: {len(gc.get_objects())}, gc.freeze: {frozen}")
    if frozen:
        # The setup heap (decoded listeners, every implementation's initial state) is moved
        # to the permanent generation: the collector's full passes then do not traverse it
        # during timed calls. What a timed call allocates is collected as usual.
        gc.freeze()

    timings: list[Timing] = []
    if args.only in (None, "filterchain_hash"):
        fch_timings = run_hotpath(fch, chains_input, args.repeat)
        fch_timings.append(warm_cache_pass(chains_input, args.repeat))
        print()
        print("\n".join(format_table(fch_timings, chains)))
        timings.extend(fch_timings)
    if update_inputs is not None:
        skip = ("deterministic",) if args.no_deterministic else ()
        lu_timings = run_hotpath(lu, update_inputs, args.repeat, skip)
        print()
        print("\n".join(format_table(lu_timings, chains + 1)))
        timings.extend(lu_timings)
    print()
    lines, ok = target_lines(timings)
    for line in lines:
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
