"""Equivalence checks: every implementation of a hot path, once, on the same inputs,
compared with the baseline by the hot path's own ``compare``.

``make_inputs`` runs once; each call gets ``prepare(inputs_for(inputs, name))`` as the
registry's contract says, through the measurement kernel (:func:`harness.kernel.check`),
with the set-up heap frozen as in a timed call. The same calls yield each implementation's
deterministic counters and a first duration (the calibration the time budget starts from;
a call of a second or more also counts as one timing value).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gwbench.errors import EquivalenceError, HarnessError
from gwbench.harness import kernel
from gwbench.harness.kernel import Outcome
from gwbench.harness.registry import HotPath
from gwbench.workloads.counters import Counters
from gwbench.workloads.model import Workload

__all__ = ["Check", "Outcome", "check"]


@dataclass(frozen=True)
class Check:
    """Every implementation of one hot path at one size."""

    hotpath: str
    size: int
    baseline: str
    inputs_seconds: float
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.difference is None for o in self.outcomes)

    @property
    def first_mismatch(self) -> Outcome | None:
        return next((o for o in self.outcomes if o.difference is not None), None)

    def outcome(self, implementation: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.implementation == implementation), None)

    def error(self) -> EquivalenceError | None:
        bad = self.first_mismatch
        if bad is None or bad.difference is None:
            return None
        return EquivalenceError(
            self.hotpath, self.baseline, bad.implementation, f"{bad.difference} (N={self.size})"
        )

    def raise_for_mismatch(self) -> None:
        err = self.error()
        if err is not None:
            raise err


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" at {last.filename}:{last.lineno} in {last.name}"


def check(
    hotpath: HotPath,
    workload: Workload,
    *,
    on_inputs: Callable[[Any], None] | None = None,
    follow_up: kernel.FollowUp | None = None,
) -> Check:
    """Run every implementation of ``hotpath`` once on ``workload`` and compare each
    result with the baseline's. Does not raise on a mismatch (see
    :meth:`Check.raise_for_mismatch`); raises :class:`HarnessError` when an
    implementation itself fails. ``on_inputs`` sees the inputs before any call;
    ``follow_up`` each implementation after the calls (:func:`harness.kernel.check`)."""
    size = len(workload.ingresses)
    t0 = time.perf_counter()
    try:
        inputs = hotpath.make_inputs(workload)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        raise HarnessError(
            f"hot path {hotpath.name}: building inputs at N={size} failed: "
            f"{type(exc).__name__}: {exc}{_where(exc)}"
        ) from exc
    inputs_seconds = time.perf_counter() - t0
    if on_inputs is not None:
        on_inputs(inputs)
    try:
        outcomes = kernel.check(hotpath, inputs, Counters, size, follow_up)
    except kernel.CallFailed as failed:
        cause = failed.cause
        raise HarnessError(
            f"hot path {hotpath.name}: implementation {failed.implementation} raised "
            f"{type(cause).__name__}: {cause}{_where(cause)}"
        ) from cause
    return Check(hotpath.name, size, hotpath.baseline.name, inputs_seconds, tuple(outcomes))
