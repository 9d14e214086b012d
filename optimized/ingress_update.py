"""One Ingress change pushed end to end, every stage with its fix.

Models the lab scenario of the Sealos investigation (7,000 Ingresses, one Ingress added:
2.3 s after the fixes): Higress ``ConvertGateway`` and Istio ``MergeGateways`` (translate),
the gateway map built once per port (gateway_lookup, Sealos fork), decode-once EnvoyFilter
patching (envoyfilter_patch, Sealos ``ApplyListenerPatchesExt``), the wire encoding, and
Envoy's LDS update with a recursive hash cached per message (filterchain_hash inside
listener_update, Higress PR #3113). Cost: O(N) with small constants: one lookup and about
one hash per chain.
"""

from __future__ import annotations

from gwbench.optimized import envoyfilter_patch, gateway_lookup, listener_update
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
