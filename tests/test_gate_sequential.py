"""Sequential rounds with fake timings: the gate's decision path for the time check
(rounds -> looks -> more rounds for undecided rows -> cap -> confirmation -> verdict),
without processes. Each fake round's log-ratio ``r_i`` is drawn from a seeded normal
distribution per row, so the tests are exact and fast."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping

import pytest

from gwbench.harness.gate import checks, rounds, sequential
from gwbench.harness.gate.protocol import PointKey
from gwbench.harness.gate.thresholds import DEFAULTS

QUIET_ROW = PointKey("filterchain_hash", "cached", 500)
NOISY_ROW = PointKey("listener_update", "cached", 500)
POLICY = sequential.Policy(rounds=10, step_rounds=10, max_rounds=40, max_seconds=900.0)


class FakeRounds:
    """Rounds whose ``r_i`` per row are seeded normal draws ``(mean, spread)``; records
    which rows each round timed; each round advances a fake clock by ``seconds``."""

    def __init__(self, rows: Mapping[PointKey, tuple[float, float]], seconds: float = 1.0):
        self.rows = rows
        self.seconds = seconds
        self.now = 0.0
        self.timed: list[tuple[PointKey, ...]] = []

    def clock(self) -> float:
        return self.now

    def __call__(
        self,
        keys: tuple[PointKey, ...],
        count: int,
        first_index: int,
        stop: Callable[[], bool] | None,
    ) -> rounds.Batch:
        made = []
        for index in range(first_index, first_index + count):
            if stop is not None and stop():
                break
            self.now += self.seconds
            self.timed.append(keys)
            ratios = {}
            for k in keys:
                mean, spread = self.rows[k]
                ratios[k] = random.Random(f"{k.label()} {index}").gauss(mean, spread)
            made.append(rounds.Round(index, ratios, {}, {}, {}))
        return rounds.Batch(tuple(made))


def look(batch: rounds.Batch, key: PointKey) -> checks.TimeCheck:
    return checks.time_check(batch.ratios(key), fail=0.10, warn=0.05, seed=3)


def gate_rows(fake: FakeRounds, policy: sequential.Policy = POLICY) -> dict[PointKey, checks.Row]:
    """What the engine does with the rounds: looks, confirmation, verdicts."""
    staged = sequential.run(
        list(fake.rows), fake, lambda b, k: checks.undecided(look(b, k)), policy, fake.clock
    )
    eq = checks.Equivalence(None, None)
    out = {}
    for key in fake.rows:
        first = look(staged.batch.first(key, policy.rounds), key)
        n = staged.batch.rounds_of(key)
        pooled = look(staged.batch, key) if n > policy.rounds else None
        confirmation = None
        if checks.needs_confirmation(eq, (), (), pooled or first):
            more = fake((key,), DEFAULTS.confirm_rounds, len(fake.timed), None)
            confirmation = look(more, key)
        out[key] = checks.row(
            key, "optimized", eq, (), (), first, confirmation, pooled, staged.stopped.get(key)
        )
    return out


def test_a_row_with_a_tight_aa_spread_ends_no_change_at_the_first_look() -> None:
    # GIVEN identical code whose rounds spread by 0.01 in ln(ratio)
    fake = FakeRounds({QUIET_ROW: (0.0, 0.01)})
    # WHEN gated
    row = gate_rows(fake)[QUIET_ROW]
    # THEN no change after the first 10 rounds: no more rounds, no confirmation
    assert row.verdict == "no change"
    assert row.pooled is None and row.confirmation is None and row.stopped is None
    assert len(fake.timed) == 10


def test_a_noisy_row_gets_more_rounds_and_stops_at_the_cap() -> None:
    # GIVEN identical code, one quiet row and one whose rounds spread by 0.3
    fake = FakeRounds({QUIET_ROW: (0.0, 0.01), NOISY_ROW: (0.0, 0.3)})
    # WHEN gated
    rows = gate_rows(fake)
    # THEN the quiet row is decided at the first look and timed no more
    assert rows[QUIET_ROW].verdict == "no change"
    assert all(keys == (NOISY_ROW,) for keys in fake.timed[10:])
    # AND the noisy row got rounds up to the cap, stays inconclusive, and says so
    noisy = rows[NOISY_ROW]
    assert len(fake.timed) == POLICY.max_rounds
    assert noisy.pooled is not None and noisy.pooled.rounds == POLICY.max_rounds
    assert noisy.verdict == "inconclusive" and noisy.stopped == "40 rounds"
    assert "stopped at the cap (40 rounds)" in noisy.reasons[-1]
    assert noisy.confirmation is None  # an inconclusive interval is never a regression


def test_the_seconds_cap_stops_the_rounds_too() -> None:
    # GIVEN a noisy row whose rounds take 10 s each, and a cap of 150 s of rounds
    fake = FakeRounds({NOISY_ROW: (0.0, 0.3)}, seconds=10.0)
    policy = sequential.Policy(rounds=10, step_rounds=10, max_rounds=40, max_seconds=150.0)
    # WHEN gated
    row = gate_rows(fake, policy)[NOISY_ROW]
    # THEN the first 10 rounds run in full, more stop once 150 s have passed
    assert len(fake.timed) == 15
    assert row.verdict == "inconclusive" and row.stopped == "150 s of rounds"


def test_a_row_decided_by_more_rounds_stops_there() -> None:
    # GIVEN identical code whose rounds spread by 0.06: 10 rounds cannot say, 20 to 40 can
    fake = FakeRounds({NOISY_ROW: (0.0, 0.06)})
    row = gate_rows(fake)[NOISY_ROW]
    # THEN it took more rounds, fewer than the cap, and ended no change
    assert row.time is not None and row.time.verdict == "inconclusive"
    assert row.pooled is not None and 10 < row.pooled.rounds < POLICY.max_rounds
    assert row.verdict == "no change" and row.stopped is None


@pytest.mark.parametrize("spread", [0.03, 0.06, 0.1])
def test_a_25_percent_slowdown_is_a_confirmed_regression(spread: float) -> None:
    # GIVEN a head 25% slower, rounds spreading by up to 0.1
    fake = FakeRounds({QUIET_ROW: (math.log(1.25), spread)})
    # WHEN gated
    row = gate_rows(fake)[QUIET_ROW]
    # THEN the rounds say regression, a confirmation batch agrees: a regression
    assert row.verdict == "regression", row.reasons
    assert row.confirmation is not None and row.confirmation.regression
    assert (row.pooled or row.time) is not None
