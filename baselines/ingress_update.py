"""One Ingress change pushed end to end, every stage as the pre-fix code does it.

Models the lab scenario of the Sealos investigation (7,000 Ingresses, one Ingress added:
47 s before the fixes): Higress ``ConvertGateway`` and Istio ``MergeGateways`` (translate),
``buildGatewayTCPBasedFilterChains`` with ``GetGatewayByName`` scans (gateway_lookup),
``ApplyListenerPatches`` with ``MergeAnyWithAny`` per patch (envoyfilter_patch), the wire
encoding, and Envoy's LDS update with TextFormat hashing in absl maps (filterchain_hash
inside listener_update). Cost: O(N^2) lookups plus O(N) TextFormat renders, several per
chain.
"""

from __future__ import annotations

from gwbench.baselines import envoyfilter_patch, gateway_lookup, listener_update
from gwbench.workloads.counters import Counters
from gwbench.workloads.push import PushInputs, PushResult, run_push


def push(inputs: PushInputs, counters: Counters) -> PushResult:
    """Translate, build, patch, encode and apply one push; returns what Envoy ended with."""
    return run_push(
        inputs,
        counters,
        gateway_lookup.build_gateway_listener,
        envoyfilter_patch.apply_listener_patches,
        listener_update.apply_update,
    )
