"""Self-check of the gate: repeated A/A runs (false alarms) and injected regressions
(detection), on a temporary git repository made from this project's working tree.

    python benchmarks/gate_aa.py [--runs 10] [--ingresses 500] [--rounds R] [--max-rounds M]
        [--scenario aa|slow25|quadratic] [--hotpath H]... [--thresholds FILE] [--keep DIR]

``aa``: the head changes only a text file (identical code; every hot path unless
``--hotpath`` names some). ``slow25``: the optimized
``deterministic`` filterchain hash does a quarter of its chains again (about 25% more real
work). ``quadratic``: the optimized gateway lookup rebuilds its map for every lookup (O(N)
to O(N^2)). Each run is a fresh ``gwbench gate`` process against the same two commits.

Prints one line per run (exit code, wall time, load average, verdict, time ratio and
interval per timed row with its rounds, the smallest and largest standard deviation of the
rows' round log-ratios ``r_i``), then per timed row how many runs gave each verdict, and
the count of runs with the expected exit code: 0 for ``aa``, 1 otherwise.
Exits 1 when any run had another exit code. Times are wall clock on whatever else the
machine is doing; the load average is printed with each run for that reason.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from project_repo import copy_as_base, git

SCENARIOS: dict[str, tuple[str, str, str] | None] = {
    "aa": None,
    "slow25": (
        "optimized/filterchain_hash.py",
        "    return partition_of(hash_chains_deterministic(inputs.chains, counters))",
        "    hash_chains_deterministic(inputs.chains[::4], Counters())  # a quarter again\n"
        "    return partition_of(hash_chains_deterministic(inputs.chains, counters))",
    ),
    "quadratic": (
        "optimized/gateway_lookup.py",
        "        gateway = get_gateway_by_name(cfg_cache, key, counters)",
        "        cfg_cache = build_cfg_cache(list(cfg_cache.values()), counters)\n"
        "        gateway = get_gateway_by_name(cfg_cache, key, counters)",
    ),
}
DEFAULT_HOTPATHS: dict[str, list[str]] = {"aa": [], "slow25": ["filterchain_hash"],
                                          "quadratic": ["gateway_lookup"]}  # fmt: skip


def make_repo(path: Path, scenario: str) -> tuple[str, str]:
    """(base commit, head commit) of a new repository at ``path``."""
    base = copy_as_base(path)
    edit = SCENARIOS[scenario]
    if edit is None:
        (path / "NOTES.txt").write_text("identical code\n", encoding="utf-8")
        git(path, "add", "NOTES.txt")
    else:
        rel, old, new = edit
        text = (path / rel).read_text(encoding="utf-8")
        if old not in text:
            raise SystemExit(f"{rel} no longer contains the text the {scenario} scenario edits")
        (path / rel).write_text(text.replace(old, new, 1), encoding="utf-8")
    git(path, "commit", "-q", "-am", scenario)
    return base, git(path, "rev-parse", "HEAD")


def load_gate(out: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((out / "gate.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def describe(data: dict[str, Any] | None) -> str:
    if data is None:
        return "no gate.json"
    parts = [data["verdict"]]
    for row in data["rows"]:
        t = row["pooled"] or row["time"]
        if t is None:
            continue
        text = f"{row['hotpath']}/{row['implementation']} x{t['ratio']:.3f} "
        text += f"[{t['ratio_low']:.3f}, {t['ratio_high']:.3f}] {t['rounds']}r {row['verdict']}"
        if row.get("stopped"):
            text += f" (cap {row['stopped']})"
        c = row["confirmation"]
        if c is not None:
            text += f" (confirm x{c['ratio']:.3f} [{c['ratio_low']:.3f}, {c['ratio_high']:.3f}])"
        parts.append(text)
    failed = [
        f"{row['implementation']}: {c['name']}"
        for row in data["rows"]
        for c in row["counters"]
        if c["failed"]
    ]
    if failed:
        parts.append("counters failed: " + ", ".join(failed))
    spreads = [
        statistics.stdev(t["round_log_ratios"])
        for row in data["rows"]
        for t in [row["pooled"] or row["time"]]
        if t is not None and len(t["round_log_ratios"]) > 1
    ]
    if spreads:
        parts.append(f"spread of r_i {min(spreads):.3f} to {max(spreads):.3f}")
    for metric in ("wall", "cpu"):
        other = [
            statistics.stdev(t[f"round_{metric}_log_ratios"])
            for row in data["rows"]
            for t in [row["pooled"] or row["time"]]
            if t is not None and len(t.get(f"round_{metric}_log_ratios") or ()) > 1
        ]
        if other:
            parts.append(f"({metric} time: {min(other):.3f} to {max(other):.3f})")
    return "; ".join(parts)


def tally(runs: list[dict[str, Any] | None]) -> list[str]:
    """Per timed row: how many runs gave each verdict."""
    counts: dict[str, Counter[str]] = {}
    for data in runs:
        for row in data["rows"] if data else ():
            if row["time"] is not None:
                name = f"{row['hotpath']}/{row['implementation']} N={row['size']}"
                counts.setdefault(name, Counter())[row["verdict"]] += 1
    return [
        f"  {name:45} " + ", ".join(f"{v} {n}" for v, n in sorted(c.items()))
        for name, c in counts.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--ingresses", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--max-rounds", type=int, default=None)
    parser.add_argument("--thresholds", type=Path, default=None, help="instead of the base's")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="aa")
    parser.add_argument("--hotpath", action="append", default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep outputs in this directory")
    args = parser.parse_args(argv)
    hotpaths: list[str] = args.hotpath or DEFAULT_HOTPATHS[args.scenario]
    expected = 0 if args.scenario == "aa" else 1

    with tempfile.TemporaryDirectory(prefix="gwbench-gate-selfcheck-") as tmp:
        work = Path(tmp)
        base, head = make_repo(work / "repo", args.scenario)
        outputs = args.keep or work / "out"
        print(
            f"scenario {args.scenario}: base {base[:10]} head {head[:10]}, N={args.ingresses}, "
            f"rounds {args.rounds or 'from the thresholds'}, "
            f"hot paths {', '.join(hotpaths) or 'all'}"
        )
        good = 0
        found: list[dict[str, Any] | None] = []
        walls: list[float] = []
        for i in range(1, args.runs + 1):
            out = outputs / f"run-{i:02d}"
            cmd = [sys.executable, "-m", "gwbench", "gate", "--repo", str(work / "repo"),
                   "--base", base, "--head", head, "-n", str(args.ingresses),
                   "-o", str(out)]  # fmt: skip
            if args.rounds is not None:
                cmd += ["--rounds", str(args.rounds)]
            if args.max_rounds is not None:
                cmd += ["--max-rounds", str(args.max_rounds)]
            if args.thresholds is not None:
                cmd += ["--thresholds", str(args.thresholds.resolve())]
            for h in hotpaths:
                cmd += ["--hotpath", h]
            t0 = time.monotonic()
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            seconds = time.monotonic() - t0
            good += done.returncode == expected
            load = os.getloadavg()
            data = load_gate(out)
            found.append(data)
            walls.append(seconds)
            print(
                f"run {i:2d}: exit {done.returncode} in {seconds:5.1f} s, load "
                f"{load[0]:.1f} (5 min {load[1]:.1f}): {describe(data)}",
                flush=True,
            )
            if done.returncode not in (0, 1):
                print(done.stderr.strip(), file=sys.stderr)
        print("verdicts per timed row over the runs:")
        print("\n".join(tally(found)))
        print(f"wall time per run: {min(walls):.0f} to {max(walls):.0f} s, "
              f"median {statistics.median(walls):.0f} s")  # fmt: skip
        print(f"{good} of {args.runs} runs exited {expected} (expected for {args.scenario})")
    return 0 if good == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
