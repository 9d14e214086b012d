"""Time `gwbench generate`'s work at scale: generate N Ingresses and dump them as YAML.

    python benchmarks/bench_generate.py [--ingresses 20000] [--seed 42] [--target 10]

Prints the seconds of each stage and the total (what `gwbench generate -n N -o FILE` spends,
certificates included, measured in this fresh process), the process's CPU time and the load
average (other work on a shared machine stretches wall time, not CPU time), and exits 1 when
the wall-clock total is above the target (10 s at N=20000 on a 2-core machine, issue 2).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingresses", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--target", type=float, default=10.0, help="seconds")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    cpu_started = time.process_time()
    from gwbench.harness.commands.generate import write_atomically
    from gwbench.workloads.generate import generate
    from gwbench.workloads.model import WorkloadSpec
    from gwbench.workloads.yamlio import dump

    imported = time.perf_counter()
    workload = generate(WorkloadSpec(args.ingresses, seed=args.seed))
    generated = time.perf_counter()
    text = dump(workload)
    dumped = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        write_atomically(Path(tmp) / "workload.yaml", text)
    written = time.perf_counter()

    total = written - started
    cpu = time.process_time() - cpu_started
    print(f"N={args.ingresses} seed={args.seed} cpus={os.cpu_count()}")
    print(f"  imports   {imported - started:6.2f} s")
    print(
        f"  generate  {generated - imported:6.2f} s  ({len(workload.ingresses)} Ingresses, "
        f"{len(workload.secrets)} Secrets)"
    )
    print(f"  dump YAML {dumped - generated:6.2f} s  ({len(text.encode()) / 1e6:.1f} MB)")
    print(f"  write     {written - dumped:6.2f} s")
    print(f"  total     {total:6.2f} s  (target < {args.target:g} s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"  cpu time  {cpu:6.2f} s  (1-min load average {load:.1f}: a busy machine slows wall time)"
    )
    if total > args.target:
        print("SLOWER THAN TARGET", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
