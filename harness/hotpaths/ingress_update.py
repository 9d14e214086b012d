"""Hot path ``ingress_update``: one Ingress change at N, pushed end to end (the lab scenario).

Inputs: the N Ingresses plus one change (default: one Ingress added, ``workloads.churn``),
the typical Higress EnvoyFilter patch set, and the listener Envoy already runs for the N
Ingresses (built and patched before the change, sent as wire bytes). ``specialize`` builds,
untimed and once per process, the active listener's state as each implementation's hash
strategy keeps it (Envoy's ``fc_contexts_`` after the first add). ``prepare`` releases what
earlier calls left behind (untimed teardown).

Compared: the pushed listener's bytes, the patch tally and Envoy's update outcome. The
counters of each stage are prefixed with the stage's hot path.

Side scenarios (checked, not counted), each a push on a small slice of the workload: one
Ingress deleted, a path changed, a backend changed, a custom certificate rotated, ALPN
flipped by the ``enable-h2`` annotation, and an HTTP filter changed by its EnvoyFilter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from envoy.extensions.filters.http.router.v3 import router_pb2

from gwbench.baselines import ingress_update as baseline
from gwbench.baselines import listener_update as baseline_update
from gwbench.errors import InputError
from gwbench.harness.hotpaths.envoyfilter_patch import sni_targets
from gwbench.harness.hotpaths.scenarios import Scenarios, scenario_hotpath, side_slice
from gwbench.harness.registry import register
from gwbench.optimized import envoyfilter_patch as optimized_patch
from gwbench.optimized import gateway_lookup as optimized_lookup
from gwbench.optimized import ingress_update as optimized
from gwbench.optimized import listener_update as optimized_update
from gwbench.workloads.counters import Counters, NullCounters
from gwbench.workloads.envoy_config import GatewayListenerInputs, pack
from gwbench.workloads.envoyfilters import EnvoyFilterInputs, PatchSet, typical_patch_set
from gwbench.workloads.flatmap import ListenerState
from gwbench.workloads.istio import (
    ENABLE_H2_ANNOTATION,
    gateways_from_ingresses,
    merge_gateways,
    with_enable_h2_mix,
)
from gwbench.workloads.model import Workload
from gwbench.workloads.push import PushInputs, PushResult, PushSetup, compare_pushes

CHANGES = (
    "add",
    "delete",
    "change-path",
    "change-backend",
    "rotate-certificate",
    "flip-alpn",
    "change-http-filter",
)


def active_listener(workload: Workload) -> tuple[bytes, PatchSet]:
    """The patched port-443 listener Envoy runs for ``workload`` (wire bytes) and the
    EnvoyFilter patch set it was patched with (one SNI-matched patch for the first
    custom-domain host).

    Built with the optimized stages; the equivalence checks of gateway_lookup and
    envoyfilter_patch show the baseline stages build the same bytes.
    """
    gateways = with_enable_h2_mix(gateways_from_ingresses(workload))
    merged = merge_gateways(gateways)
    null = NullCounters()
    build = optimized_lookup.build_gateway_listener(
        GatewayListenerInputs(tuple(gateways), merged), null
    )
    hosts = [s.hosts[0] for s in merged.servers_by_port.get(443, []) if s.tls is not None]
    patches = typical_patch_set(sni_targets(hosts, workload.domain))
    patched = optimized_patch.apply_listener_patches(
        EnvoyFilterInputs.in_place(build.listener, patches), null
    )
    return patched.listener.SerializeToString(deterministic=True), patches


def changed(workload: Workload, change: str, seed: int = 0) -> Workload:
    """``workload`` after one change of kind ``change`` (see :data:`CHANGES`)."""
    from gwbench.workloads import churn  # with the kubernetes models: only where inputs are built

    if change == "add":
        return churn.add_ingress(workload, seed)[0]
    if change == "delete":
        return churn.delete_ingress(workload, seed)[0]
    if change == "change-path":
        return churn.change_path(workload, seed)[0]
    if change == "change-backend":
        return churn.change_backend(workload, seed)[0]
    if change == "rotate-certificate":
        return churn.rotate_certificate(workload, seed, rename=True)[0]
    if change == "flip-alpn":
        return flip_alpn(workload)
    if change == "change-http-filter":
        return workload  # the Ingresses stay; the EnvoyFilter changes (see make_setup)
    raise ValueError(f"unknown change {change!r}; known: {', '.join(CHANGES)}")


def flip_alpn(workload: Workload) -> Workload:
    """``workload`` with the ``enable-h2`` annotation of its first Ingress flipped (set to
    ``"false"``, or removed when it was set)."""
    ingresses = list(workload.ingresses)
    first = ingresses[0].model_copy(deep=True)
    assert first.metadata is not None
    annotations = dict(first.metadata.annotations or {})
    if annotations.pop(ENABLE_H2_ANNOTATION, None) is None:
        annotations[ENABLE_H2_ANNOTATION] = "false"
    first.metadata.annotations = annotations
    ingresses[0] = first
    return Workload(
        ingresses, list(workload.secrets), workload.spec, workload.source, workload.domain
    )


def changed_patches(patches: PatchSet) -> PatchSet:
    """``patches`` with the router's HTTP filter MERGE changed (one field of its Any)."""
    out = []
    for p in patches.patches:
        if p.apply_to == "HTTP_FILTER" and p.operation == "MERGE":
            value = type(p.value)()
            value.CopyFrom(p.value)
            router = router_pb2.Router()
            router.ParseFromString(value.typed_config.value)
            router.dynamic_stats.value = not router.dynamic_stats.value
            value.typed_config.CopyFrom(pack(router))
            p = replace(p, value=value)
        out.append(p)
    return PatchSet(tuple(out))


def make_setup(workload: Workload, change: str = "add") -> PushSetup:
    old, patches = active_listener(workload)
    if change == "change-http-filter":
        patches = changed_patches(patches)
    return PushSetup(changed(workload, change), patches, old, change)


def make_inputs(workload: Workload) -> PushSetup:
    """The main push: one Ingress added at N."""
    return make_setup(workload, "add")


def side_setups(workload: Workload) -> tuple[tuple[str, PushSetup], ...]:
    """Every other change of :data:`CHANGES` on a small slice (a certificate rotation only
    when the slice holds a custom-domain certificate)."""
    small = side_slice(workload)
    side = []
    for change in CHANGES[1:]:
        try:
            side.append((change, make_setup(small, change)))
        except InputError:
            continue  # nothing of this kind to change in the slice
    return tuple(side)


def make_scenarios(workload: Workload) -> Scenarios[PushSetup]:
    return Scenarios(make_inputs(workload), side_setups(workload))


def initial_state(setup: PushSetup, implementation: str) -> ListenerState[Any]:
    null: Counters = NullCounters()
    if implementation == "baseline":
        return baseline_update.initial_state(setup.old_listener, null)
    return optimized_update.initial_state(setup.old_listener, null)


def specialize(setup: PushSetup, implementation: str) -> PushInputs:
    return PushInputs(setup, initial_state(setup, implementation))


def prepare(inputs: PushInputs) -> PushInputs:
    return inputs.release()


def compare(expected: PushResult, actual: PushResult) -> str | None:
    return compare_pushes(expected, actual)


HOTPATH = register(
    scenario_hotpath(
        name="ingress_update",
        title="One Ingress added at N, end to end (the lab scenario)",
        models=(
            "the Sealos lab push (7,000 Ingresses: 47 s before, 2.3 s after): Higress "
            "ConvertGateway + Istio MergeGateways, buildGatewayTCPBasedFilterChains "
            "(gateway_lookup), ApplyListenerPatches (envoyfilter_patch), the wire, Envoy "
            "addOrUpdateListenerInternal with MessageUtil::hash (filterchain_hash, "
            "listener_update)"
        ),
        make_scenarios=make_scenarios,
        implementations=(
            ("baseline", "baseline", baseline.push),
            ("optimized", "optimized", optimized.push),
        ),
        compare=compare,
        counters=(
            "gateway_lookup.name_comparisons",
            "envoyfilter_patch.any_decodes",
            "envoyfilter_patch.any_encodes",
            "listener_update.chain_hashes",
            "listener_update.match_hashes",
            "listener_update.deep_compares",
            "listener_update.messages_compared",
            "listener_update.bytes_rendered",
        ),
        prepare=prepare,
        specialize=specialize,
    )
)
