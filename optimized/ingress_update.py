"""One Ingress change pushed end to end, every stage with its fix as shipped.

Models the lab scenario of the Sealos investigation (7,000 Ingresses, one Ingress added:
2.3 s after the fixes): Higress ``ConvertGateway`` and Istio ``MergeGateways`` (translate),
the gateway map built per port with servers (gateway_lookup, Sealos fork), EnvoyFilter
patching decoding the HCM once (envoyfilter_patch, Sealos ``ApplyListenerPatchesExt`` as
shipped: TLS and HTTP filter merges still per chain), the wire encoding, and Envoy's LDS
update with a recursive hash cached per message (filterchain_hash inside listener_update,
Higress PR #3113 as shipped: about 3 hashes per chain, as copies lose the cache, and
N·(N-1) cheap equality calls in the duplicate-matcher map, whose hash functor returns
``bool``). Cost: O(N) hashing and lookups plus the O(N^2) matcher-map scan.
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
