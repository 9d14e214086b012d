"""The models held against the real Envoy: the same activation, modelled and measured.

For one (N, shape) case, :func:`model_case` replays on the Python model of Envoy 1.40 the
activations the envoy driver performs on the real Envoy (the plan's new hosts, one after the
other, from the same translated config as Envoy receives it over ADS) and times each one in
process CPU seconds:

- ``per-host`` and ``consolidated``: an LDS update of the listener (one more filter chain,
  or one more server name in the shared chain), modelled by
  :func:`optimized.listener_update.apply_update_deterministic`, the ``deterministic``
  strategy (upstream's ``DeterministicProtoHash``, which is all Envoy 1.40 has);
- ``wildcard``: an RDS update of the route configuration (one more virtual host; the
  listener does not change), modelled by :func:`optimized.route_update.apply_route_update`.

Only the update itself is timed: the state before it is built untimed, and the state it
replaces is released after the clock stops (as the listener_update hot path times it).

:func:`compare` sets the model's times beside Envoy's CPU per activation (the envoy
records' ``activation_cpu_s``), fits both exponents over N and checks the goal of issue 16:
exponents within :data:`TOLERANCE` of each other, and the same ordering of shapes at every N
(per-host above consolidated above wildcard).
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from envoy.config.route.v3 import route_pb2

from gwbench.errors import HarnessError
from gwbench.harness.envoy import adapt
from gwbench.harness.envoy.plan import CasePlan
from gwbench.heap import paused_gc
from gwbench.optimized.listener_update import (
    apply_update_deterministic,
    initial_state_deterministic,
)
from gwbench.optimized.route_update import apply_route_update, initial_route_state
from gwbench.results import ModelCheck, ModelShapeCheck
from gwbench.scaling import fit_power_law
from gwbench.workloads.counters import Counters

TOLERANCE = 0.15
ORDER = ("per-host", "consolidated", "wildcard")
"""The modelled shapes, most expensive activation first (the ordering to hold)."""
MODEL_PORT = 10443
"""The listener port in the modelled config (any fixed port: the bytes differ from Envoy's
only in it)."""

LDS_MODEL = "listener_update deterministic (LDS update)"
RDS_MODEL = "route_update deterministic (RDS update)"
ENVOY_CPU = (
    "Envoy's process CPU time (all threads, user + system, from its process CPU clock, "
    "nanoseconds) from the commit of the update until the new host answered, median of "
    "the activations; probes that failed before it answered are included"
)
MODEL_TIME = (
    "CPU time of this process for one modelled update (decode, hash, diff or rebuild), "
    "median of the same activations, garbage collector paused"
)


@dataclass(frozen=True)
class ModelTiming:
    """The model's activations of one (N, shape) case."""

    model: str
    samples_s: tuple[float, ...]
    counters: dict[str, int]
    """Counters of the last activation."""

    @property
    def median_s(self) -> float:
        return statistics.median(self.samples_s)


Clock = Callable[[], float]


def model_case(plan: CasePlan, clock: Clock = time.process_time) -> ModelTiming | None:
    """The plan's activations on the model; None for a shape the model does not cover."""
    if plan.shape == "wildcard":
        return _routes(plan, clock)
    if plan.shape in ("per-host", "consolidated"):
        return _listener(plan, clock)
    return None


def _timed(
    apply: Callable[[Any, bytes, Counters], tuple[Any, Any]],
    state: Any,
    data: bytes,
    clock: Clock,
    samples: list[float],
) -> tuple[Any, Any, Counters]:
    """One model update of ``state`` to ``data``, timed on ``clock`` (appended to
    ``samples``) with the collector paused: (its result, the state after, its counters)."""
    counters = Counters()
    with paused_gc():
        start = clock()
        result, after = apply(state, data, counters)
        samples.append(clock() - start)
    return result, after, counters


def _listener(plan: CasePlan, clock: Clock) -> ModelTiming:
    listener = adapt.localize_listener(plan.translation.listener, MODEL_PORT, ads_routes=set())
    state = initial_state_deterministic(listener.SerializeToString(), Counters())
    samples: list[float] = []
    counters = Counters()
    for new in plan.new_hosts:
        if plan.shape == "consolidated":
            chain = listener.filter_chains[adapt.shared_chain_index(listener, new.chain)]
            adapt.add_host_to_chain(chain, new.host)
        else:
            listener.filter_chains.append(adapt.localize_chain(new.chain, ads_routes=()))
        result, after, counters = _timed(
            apply_update_deterministic, state, listener.SerializeToString(), clock, samples
        )
        if after is None or result.decision != "in-place":
            raise HarnessError(
                f"the model of N={plan.ingresses} {plan.shape} made a {result.decision!r} "
                "update where Envoy updates in place"
            )
        state = after
    return ModelTiming(LDS_MODEL, tuple(samples), counters.as_dict())


def _routes(plan: CasePlan, clock: Clock) -> ModelTiming:
    if len(plan.rds_routes) != 1:
        raise HarnessError(
            f"the wildcard shape at N={plan.ingresses} has {len(plan.rds_routes)} route "
            "configurations served by RDS; the model expects one"
        )
    config: route_pb2.RouteConfiguration = adapt.localize_routes(
        next(iter(plan.rds_routes.values()))
    )
    state = initial_route_state(config.SerializeToString(), Counters())
    samples: list[float] = []
    counters = Counters()
    for new in plan.new_hosts:
        vhost = config.virtual_hosts.add()
        vhost.CopyFrom(new.virtual_host)
        adapt.localize_virtual_host(vhost)
        result, after, counters = _timed(
            apply_route_update, state, config.SerializeToString(), clock, samples
        )
        if result.decision != "rebuilt":
            raise HarnessError(
                f"the model of N={plan.ingresses} wildcard made a {result.decision!r} RDS update"
            )
        state = after
    return ModelTiming(RDS_MODEL, tuple(samples), counters.as_dict())


# ---- comparison ---------------------------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _pick(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """One record per (N, shape): over sotw when there is one (the model's input is the
    config as sent over ADS), else the first."""
    return next((r for r in records if r.get("transport") == "sotw"), records[0])


def compare(
    records: Sequence[Mapping[str, Any]], tolerance: float = TOLERANCE
) -> ModelCheck | None:
    """Model beside Envoy for every modelled shape the envoy ``records`` hold with a model
    time (``model_update_s``); None when none does."""
    cases: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for record in records:
        shape, n = record.get("shape"), record.get("ingresses")
        if shape in ORDER and isinstance(n, int) and _number(record.get("model_update_s")):
            cases.setdefault((str(shape), n), []).append(record)
    if not cases:
        return None
    shapes = []
    for shape in ORDER:
        sizes = sorted(n for s, n in cases if s == shape)
        if not sizes:
            continue
        chosen = [_pick(cases[(shape, n)]) for n in sizes]
        model = tuple(float(r["model_update_s"]) for r in chosen)
        envoy = tuple(_number(r.get("activation_cpu_s")) for r in chosen)
        shapes.append(
            _shape_check(shape, str(chosen[0].get("model", "")), sizes, model, envoy, tolerance)
        )
    version = next(
        (str(r["envoy_version"]) for r in records if isinstance(r.get("envoy_version"), str)),
        None,
    )
    return ModelCheck(
        tolerance=tolerance,
        envoy_version=version,
        envoy_cpu=ENVOY_CPU,
        model_time=MODEL_TIME,
        order=ORDER,
        shapes=tuple(shapes),
        model_ordered=_ordered(shapes, lambda s: s.model_s),
        envoy_ordered=_ordered(shapes, lambda s: s.envoy_cpu_s),
    )


def _shape_check(
    shape: str,
    model_name: str,
    sizes: Sequence[int],
    model: tuple[float, ...],
    envoy: tuple[float | None, ...],
    tolerance: float,
) -> ModelShapeCheck:
    model_fit = fit_power_law(sizes, model)
    measured = [(n, v) for n, v in zip(sizes, envoy, strict=True) if v is not None]
    envoy_fit = fit_power_law([n for n, _ in measured], [v for _, v in measured])
    difference = None
    if model_fit.exponent is not None and envoy_fit.exponent is not None:
        difference = model_fit.exponent - envoy_fit.exponent
    return ModelShapeCheck(
        shape=shape,
        model=model_name,
        sizes=tuple(sizes),
        model_s=model,
        envoy_cpu_s=envoy,
        model_exponent=model_fit.exponent,
        envoy_exponent=envoy_fit.exponent,
        difference=difference,
        within=None if difference is None else abs(difference) <= tolerance,
        reason=model_fit.reason or envoy_fit.reason,
    )


def _ordered(
    shapes: Sequence[ModelShapeCheck],
    values: Callable[[ModelShapeCheck], Sequence[float | None]],
) -> bool | None:
    """Per-host above consolidated above wildcard at every N all three were measured at;
    None when no N has all three."""
    by_shape = {s.shape: dict(zip(s.sizes, values(s), strict=True)) for s in shapes}
    if set(by_shape) != set(ORDER):
        return None
    common = set.intersection(*(set(v) for v in by_shape.values()))
    verdicts = []
    for n in sorted(common):
        row = [by_shape[shape][n] for shape in ORDER]
        present = [v for v in row if v is not None]
        if len(present) == len(row):
            verdicts.append(all(a > b for a, b in itertools.pairwise(present)))
    return all(verdicts) if verdicts else None
