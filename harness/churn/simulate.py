"""``--simulate``: the debounce and push queue as a discrete-event simulation.

The loop is :func:`gwbench.harness.churn.debounce.drive`, the one a live run uses, driven
by a :class:`~gwbench.harness.churn.debounce.SimClock`: a push advances the clock by the
push time the cost model gives at the current N. The data plane is modelled as the live
transport behaves (:class:`~gwbench.harness.churn.sink.FileSink`): Envoy applies one
listener version at a time, each taking the model's update time, and when it is free takes
the newest version handed over; a change is live when the first version holding it has been
applied. Nothing runs or sleeps, so "50,000 Ingresses at 10 changes a second" takes seconds.

The cost model comes from measurements: a live churn run's JSON (median push duration and
median Envoy update time of one implementation, at its N, and their measured spread, which
the simulation draws from with its seed), or a results file (``gwbench
run``: the ``ingress_update`` hot path's median at its largest N and its fitted scaling
exponent; the update time from the file's per-host Envoy activation records, or given).
Away from the measured N, times scale as ``(N / N0) ** exponent``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gwbench.errors import InputError
from gwbench.harness.churn.debounce import DebounceSettings, SimClock, drive
from gwbench.harness.churn.stream import Arrival
from gwbench.harness.churn.summary import ACTIVATING, SCHEMA, ChangeRecord, ChurnResult, PushRecord
from gwbench.results import load_results
from gwbench.stats import median

DEFAULT_PUSH_EXPONENT: Mapping[str, float] = {
    "baseline": 2.0,
    "optimized": 1.0,
    "incremental": 1.0,
}
"""Push time against N when the source gives no fit: the baseline's gateway lookups are
quadratic, the optimized pipeline linear, the incremental one linear in its list passes."""
UPDATE_EXPONENT = 1.0
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
    update_s: float
    """Envoy's time to apply one listener version at N0."""
    push_exponent: float
    update_exponent: float
    source: str
    push_spread: tuple[float, ...] = ()
    """Measured push times over their median: each simulated push draws one (seeded), so
    the simulation keeps the measured variation; empty: every push takes the median."""
    update_spread: tuple[float, ...] = ()

    def push_seconds(self, n: int, factor: float = 1.0) -> float:
        return factor * float(self.push_s * (max(n, 1) / self.ingresses) ** self.push_exponent)

    def update_seconds(self, n: int, factor: float = 1.0) -> float:
        scale = (max(n, 1) / self.ingresses) ** self.update_exponent
        return factor * float(self.update_s * scale)


def spread(values: Sequence[float]) -> tuple[float, ...]:
    """``values`` over their median."""
    if not values:
        return ()
    middle = median(values)
    return tuple(v / middle for v in values) if middle > 0 else ()


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
        push, update = result.get("push_p50_s"), result.get("envoy_update_p50_s")
        if not isinstance(push, int | float) or not isinstance(update, int | float):
            raise InputError(
                f"the {impl} result has no push_p50_s or envoy_update_p50_s", file=source
            )
        return CostModel(
            impl,
            int(result["ingresses"]),
            float(push),
            float(update),
            DEFAULT_PUSH_EXPONENT[impl],
            UPDATE_EXPONENT,
            f"live churn run in {source} (N={int(result['ingresses']):,})",
            spread([float(p["duration_s"]) for p in result.get("push_records", [])]),
            spread([float(u) for u in result.get("envoy_updates_s", [])]),
        )
    raise InputError(f"holds no live {impl} result for shape {shape}", file=source)


def model_from_results(path: Path, impl: str, update_s: float | None) -> CostModel:
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
    if update_s is None:
        update_s = _envoy_activation(results.envoy or (), point.size)
    if update_s is None:
        raise InputError(
            "has no per-host Envoy activation to model the data plane; run with --envoy "
            "or give --update-s",
            file=source,
        )
    return CostModel(
        impl,
        point.size,
        point.timing.median,
        update_s,
        exponent if exponent is not None else DEFAULT_PUSH_EXPONENT[impl],
        UPDATE_EXPONENT,
        f"ingress_update in {source} (N={point.size:,})",
        spread(point.timing.values),
    )


def _envoy_activation(records: Sequence[Mapping[str, Any]], size: int) -> float | None:
    per_host = [r for r in records if r.get("shape") == "per-host" and "activation_s" in r]
    if not per_host:
        return None
    nearest = min(per_host, key=lambda r: abs(int(r.get("ingresses", 0)) - size))
    n = int(nearest["ingresses"])
    return float(nearest["activation_s"]) * float((size / n) ** UPDATE_EXPONENT)


def load_model(path: Path, impl: str, shape: str, update_s: float | None = None) -> CostModel:
    """A churn document or a results file, told apart by their version keys."""
    data = _read_json(path)
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        return model_from_churn(data, impl, shape, str(path))
    if isinstance(data, dict) and "schema_version" in data:
        return model_from_results(path, impl, update_s)
    raise InputError(
        f"is neither a churn document ({SCHEMA}) nor a gwbench results file", file=str(path)
    )


def envoy_timeline(
    handed: Sequence[tuple[float, int]], model: CostModel, rng: random.Random | None = None
) -> tuple[list[float], list[float]]:
    """When each push's version (or a newer one holding it) was applied, and each update's
    time: Envoy applies one version at a time and, when free, takes the newest handed over
    (versions handed over meanwhile are skipped)."""
    applied = [0.0] * len(handed)
    updates: list[float] = []
    free = 0.0
    first = 0
    while first < len(handed):
        start = max(free, handed[first][0])
        last = first
        while last + 1 < len(handed) and handed[last + 1][0] <= start:
            last += 1
        factor = rng.choice(model.update_spread) if rng and model.update_spread else 1.0
        seconds = model.update_seconds(handed[last][1], factor)
        free = start + seconds
        updates.append(seconds)
        for k in range(first, last + 1):
            applied[k] = free
        first = last + 1
    return applied, updates


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
    carried: dict[int, tuple[int, float]] = {}
    pushes: list[PushRecord] = []
    handed: list[tuple[float, int]] = []  # (handed over at, N) per push
    rng = random.Random(f"gwbench-churn-simulate:{seed}")

    def push(number: int, batch: Sequence[_Item]) -> None:
        nonlocal size
        started = clock.now()
        size += sum(SIZE_CHANGE.get(item.arrival.kind, 0) for item in batch)
        factor = rng.choice(model.push_spread) if model.push_spread else 1.0
        seconds = model.push_seconds(size, factor)
        clock.advance(seconds)
        for item in batch:
            carried[item.number] = (number, clock.now())
        handed.append((clock.now(), size))
        pushes.append(PushRecord(number, len(batch), started, seconds, seconds, 0, 0, 0))

    drive(
        items,
        push,
        clock,
        start=0.0,
        settings=settings or DebounceSettings(),
        index=lambda item: item.number,
    )
    applied, updates = envoy_timeline(handed, model, rng)
    records = []
    for item in items:
        arrival = item.arrival
        push_number, at = carried[item.number]
        shown = arrival.kind in ACTIVATING or arrival.kind == "delete"
        latency = applied[push_number] - arrival.at if shown else None
        records.append(
            ChangeRecord(
                item.number,
                arrival.kind,
                arrival.target or "",
                arrival.at,
                push_number,
                at - arrival.at,
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
        envoy_updates_s=tuple(updates),
        notes=(
            f"cost model: {model.source}; push {model.push_s:.3g} s x (N/{model.ingresses})"
            f"^{model.push_exponent:g}, Envoy update {model.update_s:.3g} s x "
            f"(N/{model.ingresses})^{model.update_exponent:g}",
        ),
    )
