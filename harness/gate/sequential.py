"""Sequential rounds: more rounds only for the rows that cannot yet say, up to a cap.

The gate first runs ``rounds`` rounds of every timed row, then looks: a row whose interval
is decisive (no change, slower, faster, or a regression to confirm) is done; a row whose
interval is inconclusive gets ``step_rounds`` more rounds, and is looked at again with all
its rounds, until it is decisive or a cap is reached: ``max_rounds`` rounds, or
``max_seconds`` seconds since the first round (the first batch always runs in full). A
round times only the rows still open, so rounds get cheaper as rows are decided.

Why this keeps the error rates (docs/gate.md): a regression still needs a confirmation
batch of fresh rounds that says regression on its own, at 99%, whatever the looks before
it; the looks (at 10, 20, 30 and 40 rounds by default) can only stop a row early as no
change, slower or faster, and with so few looks the chance that one of them calls slower
or faster on identical code stays a few times the single look's.

Pure control flow: the rounds come from the ``batch`` callable the caller passes, the
decision from ``undecided``, the time from ``clock``; tests drive it with fake ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gwbench.harness.gate.protocol import PointKey
from gwbench.harness.gate.rounds import Batch

RunBatch = Callable[[tuple[PointKey, ...], int, int, Callable[[], bool] | None], Batch]
"""``batch(keys, rounds, first_index, stop)``: that many rounds of those rows, numbered
from ``first_index``, fewer when ``stop()`` says so before a round."""


@dataclass(frozen=True)
class Policy:
    """When to look and when to stop (``ci/thresholds.toml``)."""

    rounds: int
    step_rounds: int
    max_rounds: int
    max_seconds: float

    @property
    def cap(self) -> int:
        return max(self.rounds, self.max_rounds)


@dataclass(frozen=True)
class Sequential:
    """All the rounds of the sequential stage, and why each undecided row stopped."""

    batch: Batch
    stopped: Mapping[PointKey, str]
    """For each row still undecided at the end: the cap that stopped it."""
    seconds: float


def run(
    keys: Sequence[PointKey],
    batch: RunBatch,
    undecided: Callable[[Batch, PointKey], bool],
    policy: Policy,
    clock: Callable[[], float] = time.monotonic,
) -> Sequential:
    """The first ``policy.rounds`` rounds of ``keys``, then more for the undecided ones."""
    started = clock()

    def out_of_time() -> bool:
        return clock() - started >= policy.max_seconds

    done = batch(tuple(keys), policy.rounds, 0, None)
    stopped: dict[PointKey, str] = {}
    while True:
        still = [k for k in keys if k not in stopped and undecided(done, k)]
        if not still:
            break
        at_cap = [k for k in still if done.rounds_of(k) >= policy.cap]
        for k in at_cap:
            stopped[k] = f"{policy.cap} rounds"
        pending = tuple(k for k in still if k not in at_cap)
        if not pending:
            break
        if out_of_time():
            for k in pending:
                stopped[k] = f"{policy.max_seconds:g} s of rounds"
            break
        have = max(done.rounds_of(k) for k in pending)
        step = min(policy.step_rounds, policy.cap - have)
        more = batch(pending, step, len(done.rounds), out_of_time)
        done = done.then(more)
    return Sequential(done, stopped, clock() - started)
