"""EnvoyFilter listener patching as upstream Istio does it: decode, merge, re-encode per patch.

Models Istio ``pilot/pkg/networking/core/v1alpha3/envoyfilter/listener_patch.go`` (as in
``higress-group/istio`` branch ``istio-1.19``): ``ApplyListenerPatches -> patchListeners ->
patchListener -> patchFilterChains -> patchFilterChain (mergeTransportSocketListener) ->
patchNetworkFilters -> patchNetworkFilter -> patchHTTPFilters -> patchHTTPFilter``, with
``pilot/pkg/networking/util/util.go`` ``MergeAnyWithAny`` (decode both Any values, Istio merge,
re-encode deterministically with ``protoconv.MessageToAny``).

Per filter chain, every matching MERGE decodes the chain's Any *and* the patch's Any, merges
and re-encodes; every insert clones the patch value; the HttpConnectionManager is always
decoded from its ``typed_config``, given the HTTP filter patches and re-encoded, even when no
HTTP filter patch applies. With k patches touching the HCM, the HCM is decoded and encoded
about 1 + k times per chain: O(N * (1 + k)) decodes and encodes of the large message for N
chains, plus one decode of a patch value per chain per MERGE.

The listener is patched in place (the hot path's ``prepare`` hands each call a fresh copy).
"""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import HCM_FILTER
from gwbench.workloads.envoyfilters import (
    AppliedTally,
    EnvoyFilterInputs,
    EnvoyFilterPatch,
    ListenerPatches,
    OpTally,
    PatchResult,
    apply_http_filter_op,
    encode_into,
    filter_chain_match,
    istio_merge,
    merge_any_with_any,
    merge_listener_patches,
    named_merges,
    network_filter_match,
    patch_http_filter,
    try_unpack,
)


def apply_listener_patches(inputs: EnvoyFilterInputs, counters: Counters) -> PatchResult:
    """Istio ``ApplyListenerPatches`` for one gateway listener."""
    tally = OpTally()
    applied = AppliedTally(inputs.patches)
    listener = inputs.listener
    merge_listener_patches(inputs.patches, listener, inputs.context, applied, tally)
    patches = ListenerPatches.select(inputs.patches, listener, inputs.context)
    patch_filter_chains(patches, listener, applied, tally)
    tally.flush(counters)
    return PatchResult(listener, applied.freeze())


def patch_filter_chains(
    patches: ListenerPatches, listener: Any, applied: AppliedTally, tally: OpTally
) -> None:
    for fc in listener.filter_chains:
        if len(fc.filters) == 0:
            continue
        patch_filter_chain(patches, fc, applied, tally)
    if listener.HasField("default_filter_chain") and len(listener.default_filter_chain.filters):
        patch_filter_chain(patches, listener.default_filter_chain, applied, tally)


def patch_filter_chain(
    patches: ListenerPatches, fc: Any, applied: AppliedTally, tally: OpTally
) -> None:
    for lp in patches.filter_chain:
        if not filter_chain_match(fc, lp):
            continue
        applied.add(lp.key)
        if not merge_transport_socket_listener(fc, lp, tally):
            istio_merge(fc, lp.value)
            tally.merges += 1
    patch_network_filters(patches, fc, applied, tally)


def merge_transport_socket_listener(fc: Any, lp: EnvoyFilterPatch, tally: OpTally) -> bool:
    """Istio ``mergeTransportSocketListener``: True when the transport socket merge handled
    the patch (the caller then skips the whole-chain merge)."""
    value = lp.value
    if not value.HasField("transport_socket") or not fc.HasField("transport_socket"):
        return False
    if value.transport_socket.name != fc.transport_socket.name:
        return False
    dst = fc.transport_socket
    src = value.transport_socket
    if dst.HasField("typed_config") and src.HasField("typed_config"):
        merge_any_with_any(dst.typed_config, src.typed_config, src.typed_config.type_url, tally)
    return True


def patch_network_filters(
    patches: ListenerPatches, fc: Any, applied: AppliedTally, tally: OpTally
) -> None:
    # Only MERGE is modelled for network filters, so the insert/remove pass over the
    # NETWORK_FILTER patches changes nothing; straight to the per-filter pass.
    for filter_ in fc.filters:
        patch_network_filter(patches, fc, filter_, applied, tally)


def patch_network_filter(
    patches: ListenerPatches, fc: Any, filter_: Any, applied: AppliedTally, tally: OpTally
) -> None:
    matching = (
        lp
        for lp in patches.network_filter
        if filter_chain_match(fc, lp) and network_filter_match(filter_, lp)
    )
    for lp in named_merges(filter_, matching):
        user = lp.value
        if user.HasField("typed_config"):
            applied.add(lp.key)
            # The user's type URL is swapped for the filter's before the merge.
            merge_any_with_any(
                filter_.typed_config, user.typed_config, filter_.typed_config.type_url, tally
            )
    if filter_.name == HCM_FILTER:
        patch_http_filters(patches, fc, filter_, applied, tally)


def patch_http_filters(
    patches: ListenerPatches, fc: Any, filter_: Any, applied: AppliedTally, tally: OpTally
) -> None:
    hcm = hcm_pb2.HttpConnectionManager()
    has_config = filter_.HasField("typed_config")
    if has_config:
        hcm = try_unpack(filter_.typed_config.type_url, filter_.typed_config.value)
        tally.any_decodes += 1
        if hcm is None:
            return
    chain_patches = [
        lp
        for lp in patches.http_filter
        if filter_chain_match(fc, lp) and network_filter_match(filter_, lp)
    ]
    for lp in chain_patches:
        if lp.operation != "MERGE" and apply_http_filter_op(hcm.http_filters, lp, tally):
            applied.add(lp.key)
    merges = [lp for lp in chain_patches if lp.operation == "MERGE"]
    for http_filter in hcm.http_filters:
        name = http_filter.name
        for lp in merges:
            if lp.sub_filter is None or lp.sub_filter == name:
                patch_http_filter(merges, http_filter, applied, tally)
                break
    if has_config:
        encode_into(filter_.typed_config, hcm, tally)
