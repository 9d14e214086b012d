"""Error rates and cost of the gate's time check, by simulation (no benchmark runs).

    python benchmarks/gate_power.py [--trials 100] [--spread 0.03,0.05,0.1]
        [--effect 0.25] [--seed 1] [--resamples 2000]
    python benchmarks/gate_power.py --replay DIR... [--trials 20]

Each simulated gate runs the gate's own decision path for one row: the sequential rounds
(:func:`harness.gate.sequential.run`, the committed thresholds' ``rounds``,
``step_rounds`` and ``max_rounds``), the looks (:func:`harness.gate.checks.time_check`),
the confirmation batch of a regression and the row's verdict (:func:`checks.row`). Only
the rounds are fake:

- ``--spread``: each round's ``r_i`` drawn from a heavy-tailed distribution (Student-like
  t with 3 degrees of freedom, scaled by the spread) centred on 0 (identical code) or on
  ``ln(1 + effect)`` (a slowdown);
- ``--replay DIR...``: each round is a round recorded by a real gate (the per-value times
  in ``DIR/base/results.json`` and ``DIR/head/results.json``), drawn with replacement from
  the row's recorded rounds and combined by the gate's own round statistic
  (:func:`harness.gate.rounds.pair_log_ratio`), the head's values scaled so that the
  row's recorded median ``r_i`` is 0 (identical code) or ``ln(1 + effect)``. Recorded
  A/A gates replay identical code under the load they met; drawing from 10 or 20
  recorded rounds understates how varied the rounds of a long gate can be.

Prints, per spread (or per recorded row): the share of gates whose verdict was no change,
inconclusive, slower or faster, a regression, the mean number of rounds, and the share
that detected the slowdown.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from gwbench.harness.gate import checks, rounds, sequential
from gwbench.harness.gate.protocol import PointKey
from gwbench.harness.gate.thresholds import THRESHOLDS_PATH, Thresholds, load
from gwbench.stats import median

KEY = PointKey("simulated", "optimized", 0)
Draw = Callable[[random.Random], float]
"""One round's ``r_i``."""


def simulate(draw: Draw, th: Thresholds, rng: random.Random, resamples: int) -> tuple[str, int]:
    """One gate's verdict of one row, and the rounds it took (confirmation included)."""
    fail, warn = th.time_limits(KEY.hotpath)
    seed = rng.randrange(1 << 30)  # one bootstrap seed for every look, as the gate's

    def batch(
        keys: tuple[PointKey, ...], count: int, first: int, stop: Callable[[], bool] | None
    ) -> rounds.Batch:
        made = []
        for index in range(first, first + count):
            if stop is not None and stop():
                break
            made.append(rounds.Round(index, {k: draw(rng) for k in keys}, {}, {}, {}))
        return rounds.Batch(tuple(made))

    def look(b: rounds.Batch) -> checks.TimeCheck:
        return checks.time_check(
            b.ratios(KEY), fail=fail, warn=warn, seed=seed, resamples=resamples
        )

    policy = sequential.Policy(th.rounds, th.step_rounds, th.max_rounds, th.max_seconds)
    staged = sequential.run([KEY], batch, lambda b, _k: checks.undecided(look(b)), policy)
    first = look(staged.batch.first(KEY, th.rounds))
    n = staged.batch.rounds_of(KEY)
    pooled = look(staged.batch) if n > th.rounds else None
    eq = checks.Equivalence(None, None)
    confirmation = None
    if checks.needs_confirmation(eq, (), (), pooled or first):
        confirmation = look(batch((KEY,), th.confirm_rounds, n, None))
        n += th.confirm_rounds
    row = checks.row(
        KEY, "optimized", eq, (), (), first, confirmation, pooled, staged.stopped.get(KEY)
    )
    return row.verdict, n


def t3(spread: float, shift: float) -> Draw:
    def draw(rng: random.Random) -> float:
        return shift + spread * rng.gauss(0.0, 1.0) / math.sqrt(rng.gammavariate(1.5, 1 / 1.5))

    return draw


def recorded_rows(directory: Path) -> dict[str, list[tuple[list[float], list[float]]]]:
    """Per timed row of a recorded gate: its rounds, as (base values, head values)."""
    gate = json.loads((directory / "gate.json").read_text(encoding="utf-8"))
    planned = {(p["hotpath"], p["implementation"]) for p in gate["settings"]["plan"]}
    sides = {}
    for side in ("base", "head"):
        doc = json.loads((directory / side / "results.json").read_text(encoding="utf-8"))
        sides[side] = {
            (hp["name"], impl["name"]): point["timing"]
            for hp in doc["hotpaths"]
            for impl in hp["implementations"]
            for point in impl["points"]
            if point["timing"] and (hp["name"], impl["name"]) in planned
        }
    out = {}
    for key, timing in sorted(sides["base"].items()):
        n = int(timing["values_per_process"])
        b, h = timing["values"], sides["head"][key]["values"]
        out["/".join(key)] = [
            (b[i * n : (i + 1) * n], h[i * n : (i + 1) * n]) for i in range(len(b) // n)
        ]
    return out


def replay(recorded: Sequence[tuple[list[float], list[float]]], factor: float) -> Draw:
    """Rounds drawn from ``recorded``, the head's values scaled so that the median ``r_i``
    of the recorded rounds is ``ln(factor)``: identical code is exactly identical in the
    replay (a recorded offset between two runs of the same code is noise of that run)."""
    offset = median([rounds.pair_log_ratio(b, h) for b, h in recorded])
    scale = factor * math.exp(-offset)

    def draw(rng: random.Random) -> float:
        base, head = rng.choice(recorded)
        return rounds.pair_log_ratio(base, [x * scale for x in head])

    return draw


def line(label: str, tally: Counter[str], spent: int, trials: int, detected: float) -> str:
    share = {v: tally[v] / trials for v in ("no change", "inconclusive", "slower", "faster")}
    return (
        f"{label:40} {share['no change']:9.2f} {share['inconclusive']:7.2f} "
        f"{share['slower'] + share['faster']:9.2f} {tally['regression'] / trials:6.3f} "
        f"{spent / trials:7.1f} {detected:9.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--spread", default="0.03,0.05,0.07,0.1")
    parser.add_argument("--effect", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--thresholds", type=Path, default=Path(THRESHOLDS_PATH))
    parser.add_argument("--replay", type=Path, nargs="+", default=None)
    args = parser.parse_args(argv)
    th = load(args.thresholds)
    rng = random.Random(args.seed)
    print(
        f"{th.source}: first look at {th.rounds} rounds, +{th.step_rounds} at a time up to "
        f"{th.max_rounds}, {th.confirm_rounds} confirmation rounds; {args.trials} gates "
        f"per line, slowdown +{args.effect:.0%}"
    )
    print(
        f"{'rounds of':40} {'no change':>9} {'inconcl':>7} {'slow/fast':>9} {'regr':>6} "
        f"{'rounds':>7} {'detected':>9}"
    )
    cases: list[tuple[str, Draw, Draw]] = []
    if args.replay:
        for directory in args.replay:
            for name, recorded in recorded_rows(directory).items():
                label = f"{directory.name}:{name}"
                cases.append((label, replay(recorded, 1.0), replay(recorded, 1 + args.effect)))
    else:
        effect = math.log1p(args.effect)
        for spread in (float(x) for x in args.spread.split(",")):
            cases.append((f"spread {spread:.2f}", t3(spread, 0.0), t3(spread, effect)))
    for label, same, slowed in cases:
        tally: Counter[str] = Counter()
        spent = 0
        for _ in range(args.trials):
            verdict, used = simulate(same, th, rng, args.resamples)
            tally[verdict] += 1
            spent += used
        hits = sum(
            simulate(slowed, th, rng, args.resamples)[0] == "regression" for _ in range(args.trials)
        )
        print(line(label, tally, spent, args.trials, hits / args.trials), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
