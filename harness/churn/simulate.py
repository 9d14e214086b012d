"""``--simulate``: the debounce and push queue as a discrete-event simulation.

The loop is :func:`gwbench.harness.churn.debounce.drive`, the one a live run uses, driven
by a :class:`~gwbench.harness.churn.debounce.SimClock`: a push advances the clock by the
push time the cost model gives at the current N, and a change is live on the data plane the
model's apply time after the push carrying it was handed over. Nothing runs or sleeps, so
"50,000 Ingresses at 10 changes a second" takes seconds.

The cost model comes from measurements: a live churn run's JSON (median push duration and
median data-plane apply time of one implementation, at its N), or a results file
(``gwbench run``: the ``ingress_update`` hot path's median at its largest N and its fitted
scaling exponent; the apply time from the file's per-host Envoy activation records, or
given). Away from the measured N, times scale as ``(N / N0) ** exponent``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gwbench.errors import InputError
from gwbench.harness.churn.debounce import DebounceSettings, SimClock, drive
from gwbench.harness.churn.stream import Arrival
from gwbench.harness.churn.summary import ACTIVATING, SCHEMA, ChangeRecord, ChurnResult, PushRecord
from gwbench.results import load_results

DEFAULT_PUSH_EXPONENT: Mapping[str, float] = {
    "baseline": 2.0,
    "optimized": 1.0,
    "incremental": 1.0,
}
"""Push time against N when the source gives no fit: the baseline's gateway lookups are
quadratic, the optimized pipeline linear, the incremental one linear in its list passes."""
APPLY_EXPONENT = 1.0
"""Envoy's per-host listener update is linear in the filter chains (docs/envoy.md)."""
SIZE_CHANGE = {"add": 1, "add-custom": 1, "delete": -1}


@dataclass(frozen=True)
class _Item:
    at: float
    number: int
    arrival: Arrival


@dataclass(frozen=True)
class CostModel:
    impl: str
    ingresses: int
    """N at which the times were measured."""
    push_s: float
    apply_s: float
    push_exponent: float
    apply_exponent: float
    source: str

    def push_seconds(self, n: int) -> float:
        return float(self.push_s * (max(n, 1) / self.ingresses) ** self.push_exponent)

    def apply_seconds(self, n: int) -> float:
        return float(self.apply_s * (max(n, 1) / self.ingresses) ** self.apply_exponent)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc}", file=str(path)) from None


def model_from_churn(data: Mapping[str, Any], impl: str, shape: str, source: str) -> CostModel:
    """The cost model of ``impl`` from a live churn document (``gwbench churn --json``)."""
    for result in data.get("results", []):
        if result.get("impl") != impl or result.get("shape") != shape:
            continue
        if result.get("mode") != "live":
            continue
        push, apply = result.get("push_p50_s"), result.get("apply_p50_s")
        if not isinstance(push, int | float) or not isinstance(apply, int | float):
            raise InputError(f"the {impl} result has no push_p50_s or apply_p50_s", file=source)
        return CostModel(
            impl,
            int(result["ingresses"]),
            float(push),
            float(apply),
            DEFAULT_PUSH_EXPONENT[impl],
            APPLY_EXPONENT,
            f"live churn run in {source} (N={int(result['ingresses']):,})",
        )
    raise InputError(f"holds no live {impl} result for shape {shape}", file=source)


def model_from_results(path: Path, impl: str, apply_s: float | None) -> CostModel:
    """The cost model of ``impl`` from a ``gwbench run`` results file."""
    source = str(path)
    results = load_results(path)
    hotpath = results.hotpath("ingress_update")
    implementation = hotpath.implementation(impl) if hotpath is not None else None
    if implementation is None:
        raise InputError(f"has no ingress_update timing for {impl}", file=source)
    timed = [p for p in implementation.points if p.timing is not None]
    if not timed:
        raise InputError(f"has no ingress_update timing for {impl}", file=source)
    point = max(timed, key=lambda p: p.size)
    assert point.timing is not None
    fit = implementation.fit()
    exponent = fit.exponent if fit is not None and fit.exponent is not None else None
    if apply_s is None:
        apply_s = _envoy_activation(results.envoy or (), point.size)
    if apply_s is None:
        raise InputError(
            "has no per-host Envoy activation to model the data plane; run with --envoy "
            "or give --apply-s",
            file=source,
        )
    return CostModel(
        impl,
        point.size,
        point.timing.median,
        apply_s,
        exponent if exponent is not None else DEFAULT_PUSH_EXPONENT[impl],
        APPLY_EXPONENT,
        f"ingress_update in {source} (N={point.size:,})",
    )


def _envoy_activation(records: Sequence[Mapping[str, Any]], size: int) -> float | None:
    per_host = [r for r in records if r.get("shape") == "per-host" and "activation_s" in r]
    if not per_host:
        return None
    nearest = min(per_host, key=lambda r: abs(int(r.get("ingresses", 0)) - size))
    n = int(nearest["ingresses"])
    return float(nearest["activation_s"]) * float((size / n) ** APPLY_EXPONENT)


def load_model(path: Path, impl: str, shape: str, apply_s: float | None = None) -> CostModel:
    """A churn document or a results file, told apart by their version keys."""
    data = _read_json(path)
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        return model_from_churn(data, impl, shape, str(path))
    if isinstance(data, dict) and "schema_version" in data:
        return model_from_results(path, impl, apply_s)
    raise InputError(
        f"is neither a churn document ({SCHEMA}) nor a gwbench results file", file=str(path)
    )


def simulate(
    arrivals: Sequence[Arrival],
    ingresses: int,
    model: CostModel,
    *,
    shape: str,
    rate_per_min: float,
    duration_s: float,
    seed: int,
    settings: DebounceSettings | None = None,
) -> ChurnResult:
    """Every change's latency under ``model``, with the live run's debounce and queue."""
    clock = SimClock()
    size = ingresses
    items = [_Item(a.at, number, a) for number, a in enumerate(arrivals)]
    carried: dict[int, tuple[int, float, int]] = {}
    pushes: list[PushRecord] = []

    def push(number: int, batch: Sequence[_Item]) -> None:
        nonlocal size
        started = clock.now()
        size += sum(SIZE_CHANGE.get(item.arrival.kind, 0) for item in batch)
        seconds = model.push_seconds(size)
        clock.advance(seconds)
        for item in batch:
            carried[item.number] = (number, clock.now(), size)
        pushes.append(PushRecord(number, len(batch), started, seconds, seconds, 0, 0, 0))

    drive(
        items,
        push,
        clock,
        start=0.0,
        settings=settings or DebounceSettings(),
        index=lambda item: item.number,
    )
    records = []
    for item in items:
        arrival = item.arrival
        push_number, handed, n = carried[item.number]
        shown = arrival.kind in ACTIVATING or arrival.kind == "delete"
        waited = handed - arrival.at
        latency = waited + model.apply_seconds(n) if shown else None
        records.append(
            ChangeRecord(
                item.number,
                arrival.kind,
                arrival.target or "",
                arrival.at,
                push_number,
                waited,
                latency,
            )
        )
    return ChurnResult(
        impl=model.impl,
        shape=shape,
        ingresses=ingresses,
        rate_per_min=rate_per_min,
        duration_s=duration_s,
        seed=seed,
        mode="simulated",
        transport="-",
        changes=tuple(records),
        pushes=tuple(pushes),
        notes=(
            f"cost model: {model.source}; push {model.push_s:.3g} s x (N/{model.ingresses})"
            f"^{model.push_exponent:g}, apply {model.apply_s:.3g} s x "
            f"(N/{model.ingresses})^{model.apply_exponent:g}",
        ),
    )
