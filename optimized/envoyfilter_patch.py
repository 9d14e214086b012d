"""EnvoyFilter listener patching with decode-once cells, as the Sealos fork shipped it and as
it intends.

Models the Sealos fork of Istio (``luanshaotong/istio`` branch ``test``,
``pilot/pkg/networking/core/v1alpha3/envoyfilter/listener_patch.go``: ``MessageIndex``,
``ApplyListenerPatchesExt -> patchListenersExt -> patchFilterChainsExt ->
patchFilterChainExt -> patchNetworkFiltersExt -> patchNetworkFilterExt ->
patchHTTPFiltersExt``, fed by ``buildGatewayListenersExt`` / ``MutableGatewayListener.buildExt``
in ``gateway.go``).

``apply_listener_patches`` (registered as ``optimized``) follows what shipped, read in the
source:

- decode-once applies to the network filters: one ``MessageIndex`` cell per filter per
  chain and one per NETWORK_FILTER patch value per push (``userMgrs``); the HCM MERGE is
  applied in place on the decoded HCM;
- ``patchHTTPFiltersExt`` patches the HCM of that cell and encodes it once per chain
  (``protoconv.MessageToAny``), whether or not an HTTP filter patch applied;
- ``patchFilterChainExt`` still calls ``mergeTransportSocketListener``, and
  ``patchHTTPFiltersExt`` still calls ``patchHTTPFilter``: both go through
  ``util.MergeAnyWithAny`` per chain (decode both Any values, merge, re-encode), as the
  upstream code does.

Two defects of the snapshot are not reproduced (the equivalence checks must catch them,
and ``gwbench verify --mutants`` reintroduces them): the HCM MERGE ran only when a decode
had *failed* (``if e1 != nil || e2 != nil``; see :func:`merge_ready`), and
``patchHTTPFiltersExt`` received ``mgr.message`` without initialising the cell, so the HTTP
filter patches were dropped whenever no network-filter MERGE had decoded the HCM (see
:func:`hcm_message`). Here the merge runs when both sides decoded, and the cell is decoded
on first use.

``apply_listener_patches_intended`` (registered as ``decode-once``) is the intended fix
carried through: cells also for the transport socket and the HTTP filters, each Any decoded
at most once per push, and an HCM encoded only when something changed it.

Cost: shipped, per chain one decode and one encode of the HCM (instead of 1 + k) plus two
decodes and one encode per TLS or HTTP filter MERGE; intended, one decode and one encode of
each touched Any, plus one decode per patch value per push: O(N + P).
"""

from __future__ import annotations

from dataclasses import dataclass
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
    http_filter_match,
    istio_merge,
    merge_listener_patches,
    named_merges,
    network_filter_match,
    try_unpack,
)
from gwbench.workloads.envoyfilters import (
    merge_any_with_any as merge_any_with_any,  # patched by harness/mutants.py
)
from gwbench.workloads.envoyfilters import (
    patch_http_filter as patch_http_filter_shipped,
)


@dataclass(frozen=True)
class Mode:
    """Which Any values go through cells (decode once) and when the HCM is encoded."""

    socket_cells: bool
    http_filter_cells: bool
    hcm_always_encoded: bool


SHIPPED = Mode(socket_cells=False, http_filter_cells=False, hcm_always_encoded=True)
INTENDED = Mode(socket_cells=True, http_filter_cells=True, hcm_always_encoded=False)


class Cell:
    """The Sealos ``MessageIndex``: one Any, decoded on first use, encoded once if changed."""

    __slots__ = ("any", "dirty", "message", "status")

    UNINITIALISED, DECODED, FAILED = 0, 1, 2

    def __init__(self, any_msg: Any) -> None:
        self.any = any_msg
        self.message: Any = None
        self.status = Cell.UNINITIALISED
        self.dirty = False

    def get(self, tally: OpTally) -> Any:
        """The decoded message (``MessageIndex.GetMessage``); None if it does not decode."""
        if self.status == Cell.UNINITIALISED:
            self.message = try_unpack(self.any.type_url, self.any.value)
            tally.any_decodes += 1
            self.status = Cell.FAILED if self.message is None else Cell.DECODED
        return self.message

    def flush(self, tally: OpTally) -> None:
        """Encode the message back into its Any once, if it was changed."""
        if self.dirty:
            encode_into(self.any, self.message, tally)
            self.dirty = False


class PatchValues:
    """Cells of the patch values (the fork's ``userMgrs``): each decoded once per push, as
    the type of the object it is merged into (Istio swaps the type URL before merging)."""

    __slots__ = ("_decoded",)

    def __init__(self) -> None:
        self._decoded: dict[tuple[str, str], tuple[Any, bytes]] = {}

    def get(
        self, lp: EnvoyFilterPatch, any_msg: Any, type_url: str, tally: OpTally
    ) -> tuple[Any, bytes]:
        """The decoded value and the bytes it came from (for the merge's memo)."""
        key = (lp.key, type_url)
        found = self._decoded.get(key)
        if found is None:
            value = any_msg.value
            found = self._decoded[key] = (try_unpack(type_url, value), value)
            tally.any_decodes += 1
        return found


def merge_ready(dst: Any, src: Any) -> bool:
    """Merge only when both sides decoded to the same type (the fork had this inverted)."""
    return dst is not None and src is not None and dst.DESCRIPTOR is src.DESCRIPTOR


def hcm_message(cell: Cell, tally: OpTally) -> Any:
    """The HCM of a chain for the HTTP filter patches, decoding the cell if no network-filter
    MERGE did (the fork read ``mgr.message`` here and so could drop the patches)."""
    return cell.get(tally)


def apply_listener_patches(inputs: EnvoyFilterInputs, counters: Counters) -> PatchResult:
    """``ApplyListenerPatchesExt`` for one gateway listener, as shipped."""
    return apply_with(inputs, counters, SHIPPED)


def apply_listener_patches_intended(inputs: EnvoyFilterInputs, counters: Counters) -> PatchResult:
    """``ApplyListenerPatchesExt`` with decode-once cells everywhere (the intended fix)."""
    return apply_with(inputs, counters, INTENDED)


@dataclass(frozen=True)
class Push:
    """What every step of one push shares: the patches selected for the listener, the
    patches that applied, the patch values' cells, the operation tally and the mode."""

    patches: ListenerPatches
    applied: AppliedTally
    values: PatchValues
    tally: OpTally
    mode: Mode


def apply_with(inputs: EnvoyFilterInputs, counters: Counters, mode: Mode) -> PatchResult:
    tally = OpTally()
    applied = AppliedTally(inputs.patches)
    listener = inputs.listener
    merge_listener_patches(inputs.patches, listener, inputs.context, applied, tally)
    patches = ListenerPatches.select(inputs.patches, listener, inputs.context)
    patch_filter_chains(Push(patches, applied, PatchValues(), tally, mode), listener)
    tally.flush(counters)
    return PatchResult(listener, applied.freeze())


def patch_filter_chains(push: Push, listener: Any) -> None:
    for fc in listener.filter_chains:
        if len(fc.filters) == 0:
            continue
        patch_filter_chain(push, fc)
    if listener.HasField("default_filter_chain") and len(listener.default_filter_chain.filters):
        patch_filter_chain(push, listener.default_filter_chain)


def patch_filter_chain(push: Push, fc: Any) -> None:
    if not push.mode.socket_cells:
        patch_filter_chain_shipped(push, fc)
        patch_network_filters(push, fc)
        return
    tally = push.tally
    socket: Cell | None = None
    for lp in push.patches.filter_chain:
        if not filter_chain_match(fc, lp):
            continue
        push.applied.add(lp.key)
        if socket is None and fc.HasField("transport_socket"):
            socket = Cell(fc.transport_socket.typed_config)
        if not merge_transport_socket_listener(push, fc, lp, socket):
            if socket is not None:
                # A whole-chain merge may rewrite the socket: settle the cell first.
                socket.flush(tally)
                socket = None
            istio_merge(fc, lp.value)
            tally.merges += 1
    if socket is not None:
        socket.flush(tally)
    patch_network_filters(push, fc)


def patch_filter_chain_shipped(push: Push, fc: Any) -> None:
    """``patchFilterChainExt``: ``mergeTransportSocketListener`` with ``MergeAnyWithAny``
    per chain and patch, else a whole-chain merge."""
    tally = push.tally
    for lp in push.patches.filter_chain:
        if not filter_chain_match(fc, lp):
            continue
        push.applied.add(lp.key)
        value = lp.value
        if (
            value.HasField("transport_socket")
            and fc.HasField("transport_socket")
            and value.transport_socket.name == fc.transport_socket.name
        ):
            dst, src = fc.transport_socket, value.transport_socket
            if dst.HasField("typed_config") and src.HasField("typed_config"):
                merge_any_with_any(
                    dst.typed_config, src.typed_config, src.typed_config.type_url, tally
                )
            continue
        istio_merge(fc, value)
        tally.merges += 1


def merge_transport_socket_listener(
    push: Push, fc: Any, lp: EnvoyFilterPatch, socket: Cell | None
) -> bool:
    """``mergeTransportSocketListener`` on the chain's transport-socket cell."""
    value = lp.value
    if socket is None or not value.HasField("transport_socket"):
        return False
    if value.transport_socket.name != fc.transport_socket.name:
        return False
    src_any = value.transport_socket
    if fc.transport_socket.HasField("typed_config") and src_any.HasField("typed_config"):
        merge_into(push, socket, lp, src_any.typed_config, src_any.typed_config.type_url)
    return True


def merge_into(push: Push, cell: Cell, lp: EnvoyFilterPatch, src_any: Any, type_url: str) -> None:
    """``MergeAnyWithAny`` on a cell: the patch value, decoded once per push as ``type_url``,
    merged into the cell's message when both decoded (the cell is encoded once, later)."""
    dst = cell.get(push.tally)
    src, src_bytes = (
        (None, b"") if dst is None else push.values.get(lp, src_any, type_url, push.tally)
    )
    if merge_ready(dst, src):
        istio_merge(dst, src, src_bytes)
        push.tally.merges += 1
        cell.dirty = True


def patch_network_filters(push: Push, fc: Any) -> None:
    # Only MERGE is modelled for network filters, so the insert/remove pass over the
    # NETWORK_FILTER patches changes nothing; straight to the per-filter pass.
    for filter_ in fc.filters:
        patch_network_filter(push, fc, filter_, Cell(filter_.typed_config))


def patch_network_filter(push: Push, fc: Any, filter_: Any, cell: Cell) -> None:
    matching = (
        lp
        for lp in push.patches.network_filter
        if filter_chain_match(fc, lp) and network_filter_match(filter_, lp)
    )
    for lp in named_merges(filter_, matching):
        user = lp.value
        if user.HasField("typed_config"):
            push.applied.add(lp.key)
            # The user's type URL is swapped for the filter's before the merge.
            merge_into(push, cell, lp, user.typed_config, filter_.typed_config.type_url)
    if filter_.name == HCM_FILTER:
        patch_http_filters(push, fc, filter_, cell)
    cell.flush(push.tally)


def patch_http_filters(push: Push, fc: Any, filter_: Any, cell: Cell) -> None:
    chain_patches = [
        lp
        for lp in push.patches.http_filter
        if filter_chain_match(fc, lp) and network_filter_match(filter_, lp)
    ]
    if not chain_patches and not push.mode.hcm_always_encoded:
        return
    if filter_.HasField("typed_config"):
        hcm = hcm_message(cell, push.tally)
        if hcm is None:
            return
        cell.dirty = True
    else:
        # Istio patches a throwaway empty HCM here and never encodes it.
        hcm = hcm_pb2.HttpConnectionManager()
    for lp in chain_patches:
        if lp.operation != "MERGE" and apply_http_filter_op(hcm.http_filters, lp, push.tally):
            push.applied.add(lp.key)
    merges = [lp for lp in chain_patches if lp.operation == "MERGE"]
    for http_filter in hcm.http_filters:
        name = http_filter.name
        for lp in merges:
            if lp.sub_filter is None or lp.sub_filter == name:
                if push.mode.http_filter_cells:
                    patch_http_filter(push, merges, http_filter)
                else:
                    patch_http_filter_shipped(merges, http_filter, push.applied, push.tally)
                break


def patch_http_filter(push: Push, chain_patches: list[EnvoyFilterPatch], http_filter: Any) -> None:
    cell: Cell | None = None
    matching = (lp for lp in chain_patches if http_filter_match(http_filter, lp))
    for lp in named_merges(http_filter, matching):
        user = lp.value
        if user.HasField("typed_config"):
            if cell is None:
                cell = Cell(http_filter.typed_config)
            merge_into(push, cell, lp, user.typed_config, http_filter.typed_config.type_url)
        push.applied.add(lp.key)
    if cell is not None:
        cell.flush(push.tally)
