"""Equivalence checks: every implementation of a hot path, once, on the same inputs,
compared with the baseline by the hot path's own ``compare``.

Each call gets ``prepare(inputs_for(make_inputs(workload), name))`` as the registry's
contract says; ``make_inputs`` runs once, ``specialize`` and ``prepare`` are never timed.

Runs in the calling process, before any timing. The same calls yield each
implementation's deterministic counters and a first duration (the calibration the time
budget starts from).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gwbench.errors import EquivalenceError, HarnessError
from gwbench.harness.registry import HotPath, Implementation
from gwbench.workloads.counters import Counters
from gwbench.workloads.model import Workload


@dataclass(frozen=True)
class Outcome:
    """One implementation's call at one size."""

    implementation: str
    kind: str
    counters: dict[str, int]
    seconds: float
    difference: str | None
    """``None`` when the result equals the baseline's (always ``None`` for the baseline)."""
    specialize_seconds: float = 0.0
    """Time of the hot path's ``specialize`` for this implementation (untimed set-up)."""


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


Invoke = Callable[[Implementation, Any, Counters], Any]
"""How a check calls one implementation (default ``impl.func(arg, counters)``); a worker
passes one that calls through a frame named after the implementation, so that a sampling
profiler of the check tells the implementations' calls apart."""


def _direct(impl: Implementation, arg: Any, counters: Counters) -> Any:
    return impl.func(arg, counters)


def _call(
    hotpath: HotPath, impl: Implementation, inputs: Any, invoke: Invoke = _direct
) -> tuple[Any, Counters, float, float]:
    """(result, counters, seconds of the call, seconds of ``specialize``)."""
    counters = Counters()
    try:
        t0 = time.perf_counter()
        own = hotpath.inputs_for(inputs, impl.name)
        specialize_seconds = time.perf_counter() - t0
        arg = hotpath.prepare(own) if hotpath.prepare is not None else own
        t0 = time.perf_counter()
        result = invoke(impl, arg, counters)
        seconds = time.perf_counter() - t0
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:
        raise HarnessError(
            f"hot path {hotpath.name}: implementation {impl.name} raised "
            f"{type(exc).__name__}: {exc}{_where(exc)}"
        ) from exc
    return result, counters, seconds, specialize_seconds


def check(
    hotpath: HotPath,
    workload: Workload,
    *,
    on_inputs: Callable[[Any], None] | None = None,
    invoke: Invoke = _direct,
) -> Check:
    """Run every implementation of ``hotpath`` once on ``workload`` and compare each
    result with the baseline's. Does not raise on a mismatch (see
    :meth:`Check.raise_for_mismatch`); raises :class:`HarnessError` when an
    implementation itself fails. ``on_inputs`` sees the inputs before any call;
    ``invoke`` makes each call (see :data:`Invoke`)."""
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
    base = hotpath.baseline
    ordered = [base, *(i for i in hotpath.implementations_at(size) if i is not base)]
    outcomes: list[Outcome] = []
    expected: Any = None
    for impl in ordered:
        result, counters, seconds, specialize_seconds = _call(hotpath, impl, inputs, invoke)
        difference: str | None = None
        if impl is base:
            expected = result
        else:
            difference = hotpath.compare(expected, result)
        del result
        outcomes.append(
            Outcome(
                impl.name, impl.kind, counters.as_dict(), seconds, difference, specialize_seconds
            )
        )
    # report in registry order
    order = {i.name: k for k, i in enumerate(hotpath.implementations)}
    outcomes.sort(key=lambda o: order[o.implementation])
    return Check(hotpath.name, size, base.name, inputs_seconds, tuple(outcomes))
