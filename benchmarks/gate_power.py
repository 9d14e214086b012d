"""Power and false-alarm rate of the gate's time check, by simulation (no benchmark runs).

    python benchmarks/gate_power.py [--trials 150] [--rounds 6,8,10,12]
        [--spread 0.05,0.1,0.15,0.2] [--effect 0.25] [--seed 1]

Each simulated gate draws the per-round log-ratios ``r_i`` of two batches (first and
confirmation) from a heavy-tailed distribution (a Student-like t with 3 degrees of
freedom, scaled by the spread) centred on ``ln(1 + effect)``, and applies the gate's own
decision (:func:`harness.gate.checks.time_check` with the default thresholds): a detection
needs both batches to say regression. The same with no effect gives the false-alarm rate.
Measure the spread of ``r_i`` on your runner from ``gate.json`` (``round_log_ratios``) and
pick the rounds where detection is near 1.
"""

from __future__ import annotations

import argparse
import math
import random
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=150)
    parser.add_argument("--rounds", default="6,8,10,12")
    parser.add_argument("--spread", default="0.05,0.1,0.15,0.2")
    parser.add_argument("--effect", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args(argv)

    from gwbench.harness.gate import checks
    from gwbench.harness.gate.thresholds import DEFAULTS

    rng = random.Random(args.seed)

    def batch(mu: float, sd: float, r: int) -> bool:
        ratios = [
            mu + sd * rng.gauss(0.0, 1.0) / math.sqrt(rng.gammavariate(1.5, 1 / 1.5))
            for _ in range(r)
        ]
        check = checks.time_check(
            ratios,
            fail=DEFAULTS.time_fail,
            warn=DEFAULTS.time_warn,
            seed=rng.randrange(1 << 30),
            resamples=args.resamples,
        )
        return check.verdict == "regression"

    effect = math.log1p(args.effect)
    print(f"effect +{args.effect:.0%}, {args.trials} simulated gates per cell")
    print(f"{'spread':>7} {'rounds':>6} {'detected':>9} {'false alarms':>13}")
    for sd in (float(x) for x in args.spread.split(",")):
        for r in (int(x) for x in args.rounds.split(",")):
            hits = sum(batch(effect, sd, r) and batch(effect, sd, r) for _ in range(args.trials))
            false = sum(batch(0.0, sd, r) and batch(0.0, sd, r) for _ in range(args.trials))
            print(
                f"{sd:7.2f} {r:6d} {hits / args.trials:9.2f} {false / args.trials:13.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
