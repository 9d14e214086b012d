"""One control-plane push and its data-plane update: what the ``ingress_update`` hot path's
twins share (inputs, result, comparison).

The lab scenario (docs/hotpaths.md, ingress_update): at N existing Ingresses one change arrives (an
Ingress added, by default). Istio translates the Ingresses into gateways and builds the
port-443 listener (``gateway_lookup``), applies the EnvoyFilter patches
(``envoyfilter_patch``) and sends the listener to Envoy on the wire, where LDS decodes it,
hashes it and its filter chains (``filterchain_hash``) and updates the listener in place
(``listener_update``). The baseline push chains every baseline, the optimized push every
optimized twin; both start from the same Envoy state (the listener of the N Ingresses,
already active).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import GatewayListenerBuild, GatewayListenerInputs
from gwbench.workloads.envoyfilters import EnvoyFilterInputs, PatchResult, PatchSet
from gwbench.workloads.flatmap import ListenerState, UpdateResult, compare_updates
from gwbench.workloads.istio import gateways_from_ingresses, merge_gateways, with_enable_h2_mix
from gwbench.workloads.model import Workload

STAGES = ("translate", "gateway_lookup", "envoyfilter_patch", "encode", "listener_update")
"""Pipeline stages in order; ``filterchain_hash`` runs inside ``listener_update``, where
Envoy hashes the listener and every chain it looks up."""


@dataclass(frozen=True)
class PushSetup:
    """What every implementation shares: the Ingresses after the change, the EnvoyFilter
    patches, and the active listener's wire bytes (before the change)."""

    workload: Workload
    patches: PatchSet
    old_listener: bytes
    change: str


@dataclass(frozen=True)
class PushInputs:
    """A :class:`PushSetup` plus the active listener's state as one implementation's hash
    strategy built it (untimed)."""

    setup: PushSetup
    old_state: ListenerState[Any]
    retained: list[object] = field(default_factory=list)
    """What calls produced, released by the hot path's untimed ``prepare`` so that tearing
    down a listener is not timed as part of a push."""

    def release(self) -> PushInputs:
        self.retained.clear()
        return self


@dataclass(frozen=True)
class PushResult:
    """The listener that went on the wire, its patch tally, and Envoy's update outcome.
    ``stage_seconds`` is informative only (never compared)."""

    listener: bytes
    applied: tuple[tuple[str, int], ...]
    update: UpdateResult
    stage_seconds: tuple[tuple[str, float], ...]


def compare_pushes(expected: PushResult, actual: PushResult) -> str | None:
    """None when both pushes sent the same bytes and Envoy did the same, else the first
    difference in words."""
    if expected.listener != actual.listener:
        return (
            f"the pushed listener differs ({len(actual.listener)} bytes, expected "
            f"{len(expected.listener)})"
        )
    if expected.applied != actual.applied:
        return f"applied patches {actual.applied}, expected {expected.applied}"
    return compare_updates(expected.update, actual.update)


BuildListener = Callable[[GatewayListenerInputs, Counters], GatewayListenerBuild]
PatchListener = Callable[[EnvoyFilterInputs, Counters], PatchResult]
ApplyUpdate = Callable[
    [ListenerState[Any] | None, bytes, Counters],
    tuple[UpdateResult, ListenerState[Any] | None],
]


def run_push(
    inputs: PushInputs,
    counters: Counters,
    build_listener: BuildListener,
    patch_listener: PatchListener,
    apply_update: ApplyUpdate,
) -> PushResult:
    """Translate, build, patch, encode and apply one push with the given stage functions;
    each stage's counters go under its hot path's name."""
    setup = inputs.setup
    t0 = perf_counter()
    gateways = with_enable_h2_mix(gateways_from_ingresses(setup.workload))
    merged = merge_gateways(gateways)
    t1 = perf_counter()
    build = build_listener(
        GatewayListenerInputs(tuple(gateways), merged), counters.scoped("gateway_lookup.")
    )
    t2 = perf_counter()
    patched = patch_listener(
        EnvoyFilterInputs.in_place(build.listener, setup.patches),
        counters.scoped("envoyfilter_patch."),
    )
    t3 = perf_counter()
    wire = patched.listener.SerializeToString(deterministic=True)
    t4 = perf_counter()
    update, state = apply_update(inputs.old_state, wire, counters.scoped("listener_update."))
    t5 = perf_counter()
    inputs.retained.extend((gateways, merged, build, patched, state))
    stages = (
        ("translate", t1 - t0),
        ("gateway_lookup", t2 - t1),
        ("envoyfilter_patch", t3 - t2),
        ("encode", t4 - t3),
        ("listener_update", t5 - t4),
    )
    return PushResult(wire, patched.applied, update, stages)
