"""EnvoyFilter listener patches, as the Istio control plane holds and matches them.

Models the pieces of Istio ``pilot/pkg/networking/core/v1alpha3/envoyfilter/listener_patch.go``
that the baseline and optimized twins of the ``envoyfilter_patch`` hot path share (the parts
the Sealos fork, ``luanshaotong/istio`` branch ``test``, left unchanged):

- the patch wrapper (``model.EnvoyFilterConfigPatchWrapper``): apply-to, operation, match and a
  real xds-protos value (a ``Listener``, ``FilterChain``, ``Filter`` or ``HttpFilter``);
- the matchers ``listenerMatch``, ``filterChainMatch``, ``networkFilterMatch``,
  ``httpFilterMatch`` and ``commonConditionMatch``;
- Istio's proto merge, ``pkg/proto/merge/merge.go`` ``Merge``: ``proto.Merge`` semantics (set
  scalars overwrite, lists append, map entries are replaced, sub-messages merge recursively)
  except that a ``google.protobuf.Duration`` field is *replaced*, not merged field by field;
- the list operations of ``patchHTTPFilters`` (ADD, INSERT_FIRST, INSERT_BEFORE, INSERT_AFTER,
  REPLACE, REMOVE), including which of them Istio's metric records as applied.

:func:`typical_patch_set` is the EnvoyFilter set of a typical Higress gateway, after Higress
``pkg/ingress/kube/configmap`` (``global.go`` ``global-option``: an HCM NETWORK_FILTER MERGE
with idle timeouts as Durations and a LISTENER MERGE of the buffer limit; ``gzip.go``: a
compressor HTTP_FILTER INSERT_BEFORE ``envoy.filters.http.cors``), plus a Wasm plugin inserted
before the router, an HTTP_FILTER MERGE of the router, and FILTER_CHAIN MERGEs of the TLS
transport socket (one for every chain of port 443, one for a single SNI).

Supported operations: LISTENER MERGE, FILTER_CHAIN MERGE, NETWORK_FILTER MERGE and every
HTTP_FILTER operation; anything else is refused when the patch is built. Cost of the shared
helpers: matching is O(1) per patch per object (O(server_names) for an SNI match); a merge is
O(fields set in the patch value).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from envoy.config.core.v3 import base_pb2, extension_pb2, protocol_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.extensions.compression.gzip.compressor.v3 import gzip_pb2
from envoy.extensions.filters.http.compressor.v3 import compressor_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.http.wasm.v3 import wasm_pb2 as wasm_filter_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from envoy.extensions.wasm.v3 import wasm_pb2
from google.protobuf import descriptor_pool, duration_pb2, message_factory, wrappers_pb2
from google.protobuf.message import DecodeError

from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import (
    HCM_FILTER,
    LISTENER_NAME,
    ROUTER_FILTER,
    TLS_TRANSPORT,
    pack,
)
from gwbench.workloads.istio import HTTPS_PORT
from gwbench.workloads.model import HIGRESS_NAMESPACE

ApplyTo = Literal["LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER"]
Operation = Literal[
    "MERGE", "ADD", "INSERT_FIRST", "INSERT_BEFORE", "INSERT_AFTER", "REPLACE", "REMOVE"
]
PatchContext = Literal["ANY", "GATEWAY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND"]

CORS_FILTER = "envoy.filters.http.cors"
TYPE_URL_PREFIX = "type.googleapis.com/"

_SUPPORTED: dict[ApplyTo, frozenset[str]] = {
    "LISTENER": frozenset({"MERGE"}),
    "FILTER_CHAIN": frozenset({"MERGE"}),
    "NETWORK_FILTER": frozenset({"MERGE"}),
    "HTTP_FILTER": frozenset(
        {"MERGE", "ADD", "INSERT_FIRST", "INSERT_BEFORE", "INSERT_AFTER", "REPLACE", "REMOVE"}
    ),
}
_VALUE_TYPES: dict[ApplyTo, Any] = {
    "LISTENER": listener_pb2.Listener,
    "FILTER_CHAIN": listener_components_pb2.FilterChain,
    "NETWORK_FILTER": listener_components_pb2.Filter,
    "HTTP_FILTER": hcm_pb2.HttpFilter,
}


# ---- the patches ----------------------------------------------------------------------


@dataclass(frozen=True)
class FilterMatch:
    """``EnvoyFilter.ListenerMatch.FilterMatch``: a network filter name, optionally a
    sub-filter (HTTP filter) name."""

    name: str
    sub_filter: str | None = None


@dataclass(frozen=True)
class FilterChainMatch:
    """``EnvoyFilter.ListenerMatch.FilterChainMatch`` (empty strings match anything)."""

    name: str = ""
    sni: str = ""
    transport_protocol: str = ""
    filter: FilterMatch | None = None


@dataclass(frozen=True)
class ListenerMatch:
    """``EnvoyFilter.ListenerMatch``: listener port and name, then the filter chain."""

    port_number: int = 0
    name: str = ""
    filter_chain: FilterChainMatch | None = None


@dataclass(frozen=True)
class EnvoyFilterPatch:
    """One config patch (Istio ``EnvoyFilterConfigPatchWrapper``).

    ``value`` is a real xds-protos message, treated as immutable: the implementations clone
    it before inserting it anywhere and never write to it. ``key`` names the patch in the
    applied-patch counts (Istio's ``lp.Key()``: the EnvoyFilter's namespace/name).
    """

    key: str
    apply_to: ApplyTo
    operation: Operation
    value: Any
    match: ListenerMatch | None = None
    context: PatchContext = "GATEWAY"

    filter_name: str | None = field(init=False, repr=False)
    """The network filter name the patch matches (``None``: any filter)."""
    sub_filter: str | None = field(init=False, repr=False)
    """The HTTP filter name the patch matches (``None``: no sub-filter match)."""

    def __post_init__(self) -> None:
        if self.operation not in _SUPPORTED[self.apply_to]:
            raise ValueError(f"{self.key}: {self.apply_to} {self.operation} is not modelled")
        if not isinstance(self.value, _VALUE_TYPES[self.apply_to]):
            raise TypeError(f"{self.key}: {self.apply_to} needs a {_VALUE_TYPES[self.apply_to]}")
        if self.apply_to == "FILTER_CHAIN" and len(self.value.filters) > 0:
            # The Sealos fork panics here ("merging filters is not supported").
            raise ValueError(f"{self.key}: a FILTER_CHAIN MERGE must not carry filters")
        fc = self.match.filter_chain if self.match is not None else None
        fm = fc.filter if fc is not None else None
        object.__setattr__(self, "filter_name", fm.name if fm is not None else None)
        object.__setattr__(self, "sub_filter", fm.sub_filter if fm is not None else None)


@dataclass(frozen=True)
class PatchSet:
    """The EnvoyFilter patches of one proxy, grouped by apply-to as Istio's
    ``EnvoyFilterWrapper.Patches`` map, each group in the EnvoyFilters' order."""

    patches: tuple[EnvoyFilterPatch, ...]
    listener: tuple[EnvoyFilterPatch, ...] = field(init=False)
    filter_chain: tuple[EnvoyFilterPatch, ...] = field(init=False)
    network_filter: tuple[EnvoyFilterPatch, ...] = field(init=False)
    http_filter: tuple[EnvoyFilterPatch, ...] = field(init=False)

    def __post_init__(self) -> None:
        keys = [p.key for p in self.patches]
        if len(set(keys)) != len(keys):
            raise ValueError("patch keys must be unique")
        for attr, kind in (
            ("listener", "LISTENER"),
            ("filter_chain", "FILTER_CHAIN"),
            ("network_filter", "NETWORK_FILTER"),
            ("http_filter", "HTTP_FILTER"),
        ):
            object.__setattr__(self, attr, tuple(p for p in self.patches if p.apply_to == kind))

    def without(self, *apply_to: ApplyTo) -> PatchSet:
        """The same set minus every patch of the given kinds."""
        return PatchSet(tuple(p for p in self.patches if p.apply_to not in apply_to))

    def only(self, *keys: str) -> PatchSet:
        """The patches named by ``keys`` (in this set's order)."""
        return PatchSet(tuple(p for p in self.patches if p.key in keys))


@dataclass
class EnvoyFilterInputs:
    """A built listener and the patches to apply to it.

    The modelled code patches the listener in place, so :meth:`fresh` (the hot path's
    ``prepare`` hook, never timed) re-parses a fresh copy from ``listener_bytes`` before each
    call, the way each push starts from a newly built listener. :meth:`in_place` wraps a
    listener that one push built and may patch directly (no serialized copy kept).
    """

    listener_bytes: bytes | None
    patches: PatchSet
    context: PatchContext = "GATEWAY"
    listener: Any = None

    def __post_init__(self) -> None:
        if self.listener is None:
            if self.listener_bytes is None:
                raise ValueError("EnvoyFilterInputs needs a listener or its bytes")
            self.listener = listener_pb2.Listener.FromString(self.listener_bytes)

    @classmethod
    def from_listener(
        cls, listener: Any, patches: PatchSet, context: PatchContext = "GATEWAY"
    ) -> EnvoyFilterInputs:
        return cls(listener.SerializeToString(deterministic=True), patches, context)

    @classmethod
    def in_place(
        cls, listener: Any, patches: PatchSet, context: PatchContext = "GATEWAY"
    ) -> EnvoyFilterInputs:
        return cls(None, patches, context, listener)

    def fresh(self) -> EnvoyFilterInputs:
        if self.listener_bytes is None:
            raise ValueError("inputs made in place keep no copy to start a new call from")
        return EnvoyFilterInputs(self.listener_bytes, self.patches, self.context)


@dataclass(frozen=True)
class PatchResult:
    """The patched listener and, per patch key in the set's order, how many times Istio's
    ``IncrementEnvoyFilterMetric`` would have recorded it as applied."""

    listener: Any
    applied: tuple[tuple[str, int], ...]

    @property
    def applied_total(self) -> int:
        return sum(n for _, n in self.applied)


# ---- per-call bookkeeping ---------------------------------------------------------------


@dataclass(slots=True)
class OpTally:
    """Operation counts kept in plain ints during a call, added to :class:`Counters` once."""

    any_decodes: int = 0
    any_encodes: int = 0
    merges: int = 0
    clones: int = 0
    bytes_encoded: int = 0

    def flush(self, counters: Counters) -> None:
        counters.add("any_decodes", self.any_decodes)
        counters.add("any_encodes", self.any_encodes)
        counters.add("merges", self.merges)
        counters.add("clones", self.clones)
        counters.add("bytes_encoded", self.bytes_encoded)


class AppliedTally:
    """Applied-patch counts by key (Istio's per-patch ``applied=true`` metric)."""

    __slots__ = ("_counts", "_order")

    def __init__(self, patches: PatchSet) -> None:
        self._order = tuple(p.key for p in patches.patches)
        self._counts: dict[str, int] = dict.fromkeys(self._order, 0)

    def add(self, key: str) -> None:
        self._counts[key] += 1

    def freeze(self) -> tuple[tuple[str, int], ...]:
        return tuple((k, self._counts[k]) for k in self._order)


# ---- Any encoding -----------------------------------------------------------------------

_CLASSES: dict[str, Any] = {}


def message_class(type_url: str) -> Any:
    """The generated class of a type URL (Go ``protoregistry.GlobalTypes``), or None."""
    cls = _CLASSES.get(type_url)
    if cls is None:
        name = type_url.rpartition("/")[2]
        try:
            desc = descriptor_pool.Default().FindMessageTypeByName(name)
        except KeyError:
            return None
        cls = message_factory.GetMessageClass(desc)
        _CLASSES[type_url] = cls
    return cls


def try_unpack(type_url: str, value: bytes) -> Any:
    """Decode ``value`` as the message of ``type_url`` (``Any.UnmarshalNew``); None on error."""
    cls = message_class(type_url)
    if cls is None:
        return None
    msg = cls()
    try:
        msg.ParseFromString(value)
    except DecodeError:
        return None
    return msg


def encode_into(any_msg: Any, message: Any, tally: OpTally) -> None:
    """Re-encode ``message`` into ``any_msg`` deterministically (Istio ``MessageToAny``)."""
    value = message.SerializeToString(deterministic=True)
    any_msg.type_url = TYPE_URL_PREFIX + message.DESCRIPTOR.full_name
    any_msg.value = value
    tally.any_encodes += 1
    tally.bytes_encoded += len(value)


# ---- Istio's merge ----------------------------------------------------------------------

DURATION = duration_pb2.Duration.DESCRIPTOR.full_name

_DESCEND: dict[Any, bool] = {}


def _may_hold_duration(desc: Any) -> bool:
    """Whether a message type has a singular message field at all (a cheap, exact filter:
    wrappers and other leaves can hold no Duration to fix up)."""
    found = _DESCEND.get(desc)
    if found is None:
        found = any(f.message_type is not None and not f.is_repeated for f in desc.fields)
        _DESCEND[desc] = found
    return found


DurationPath = tuple[str, ...]
_DURATION_PATHS: dict[tuple[str, bytes], tuple[DurationPath, ...]] = {}
_DURATION_PATHS_MAX = 4096


def istio_merge(dst: Any, src: Any, src_bytes: bytes | None = None) -> None:
    """Istio ``merge.Merge(dst, src)``: ``proto.Merge`` with Durations replaced.

    ``proto.Merge`` semantics (scalars and bytes set in ``src`` overwrite, lists append
    copies, map entries are replaced, sub-messages merge recursively) are those of the C
    ``MergeFrom``; Istio's exception, a ``google.protobuf.Duration`` sub-message replaced as
    a whole (``ReplaceMergeFn``), is then restored on the singular paths ``src`` sets, so
    ``10.5s`` merged with ``30s`` gives ``30s``, not ``30.5s``. Elements appended to lists
    and replaced map entries are copies of ``src``'s and need no fix-up.

    ``src_bytes`` (the encoding ``src`` was decoded from) lets the Duration paths of a patch
    value be found once per distinct value: Go walks ``src`` by compiled reflection for a
    fraction of the cost of a decode, while a Python walk costs several decodes; memoizing
    it keeps this shared step from hiding the decode/encode work the hot path is about.
    """
    if dst.DESCRIPTOR.full_name != src.DESCRIPTOR.full_name:
        raise TypeError(
            f"descriptor mismatch: {dst.DESCRIPTOR.full_name} != {src.DESCRIPTOR.full_name}"
        )
    dst.MergeFrom(src)
    if src_bytes is None:
        paths = duration_paths(src)
    else:
        key = (src.DESCRIPTOR.full_name, src_bytes)
        found = _DURATION_PATHS.get(key)
        if found is None:
            if len(_DURATION_PATHS) >= _DURATION_PATHS_MAX:
                _DURATION_PATHS.clear()
            found = _DURATION_PATHS[key] = duration_paths(src)
        paths = found
    for path in paths:
        d, s = dst, src
        for name in path[:-1]:
            d = getattr(d, name)
            s = getattr(s, name)
        getattr(d, path[-1]).CopyFrom(getattr(s, path[-1]))


def duration_paths(src: Any, prefix: DurationPath = ()) -> tuple[DurationPath, ...]:
    """Field-name paths of the Durations ``src`` sets through singular message fields."""
    out: list[DurationPath] = []
    for fd, value in src.ListFields():
        mt = fd.message_type
        if mt is None or fd.is_repeated:
            continue
        if mt.full_name == DURATION:
            out.append((*prefix, fd.name))
        elif _may_hold_duration(mt):
            out.extend(duration_paths(value, (*prefix, fd.name)))
    return tuple(out)


# ---- matching ---------------------------------------------------------------------------


def listener_match(listener: Any, lp: EnvoyFilterPatch) -> bool:
    """Istio ``listenerMatch`` (gateway listeners only: no virtual listeners)."""
    m = lp.match
    if m is None:
        return True
    if m.name and m.name != listener.name:
        return False
    return not (m.port_number and listener.address.socket_address.port_value != m.port_number)


def filter_chain_match(fc: Any, lp: EnvoyFilterPatch) -> bool:
    """Istio ``filterChainMatch``: chain name, one SNI among ``server_names``, transport."""
    m = lp.match
    if m is None or m.filter_chain is None:
        return True
    match = m.filter_chain
    if match.name and match.name != fc.name:
        return False
    if match.sni and match.sni not in fc.filter_chain_match.server_names:
        return False
    return not (
        match.transport_protocol
        and fc.filter_chain_match.transport_protocol != match.transport_protocol
    )


def network_filter_match(filter_: Any, lp: EnvoyFilterPatch) -> bool:
    """Istio ``networkFilterMatch`` (no deprecated filter names in a gateway built here)."""
    name = lp.filter_name
    return name is None or name == filter_.name


def http_filter_match(http_filter: Any, lp: EnvoyFilterPatch) -> bool:
    """Istio ``httpFilterMatch``."""
    sub = lp.sub_filter
    return sub is None or sub == http_filter.name


def context_match(context: PatchContext, lp: EnvoyFilterPatch) -> bool:
    """Istio ``commonConditionMatch``."""
    return lp.context == context or lp.context == "ANY"


@dataclass(frozen=True)
class ListenerPatches:
    """The patches whose context and listener match one listener.

    Istio re-evaluates ``commonConditionMatch`` and ``listenerMatch`` for every chain, filter
    and HTTP filter; neither depends on anything below the listener, so both twins evaluate
    them once per listener (after the LISTENER merges, which may rename it).
    """

    filter_chain: tuple[EnvoyFilterPatch, ...]
    network_filter: tuple[EnvoyFilterPatch, ...]
    http_filter: tuple[EnvoyFilterPatch, ...]

    @classmethod
    def select(cls, patches: PatchSet, listener: Any, context: PatchContext) -> ListenerPatches:
        def keep(group: Iterable[EnvoyFilterPatch]) -> tuple[EnvoyFilterPatch, ...]:
            return tuple(
                lp for lp in group if context_match(context, lp) and listener_match(listener, lp)
            )

        return cls(
            keep(patches.filter_chain), keep(patches.network_filter), keep(patches.http_filter)
        )


def merge_listener_patches(
    patches: PatchSet, listener: Any, context: PatchContext, applied: AppliedTally, tally: OpTally
) -> None:
    """Istio ``patchListener``'s MERGE branch: no Any involved, identical in both twins."""
    for lp in patches.listener:
        if not context_match(context, lp) or not listener_match(listener, lp):
            continue
        applied.add(lp.key)
        istio_merge(listener, lp.value)
        tally.merges += 1


def apply_http_filter_op(filters: Any, lp: EnvoyFilterPatch, tally: OpTally) -> bool:
    """One list operation of Istio ``patchHTTPFilters`` on an HCM's ``http_filters``.

    Every insert clones the patch value (inserting into a repeated field copies it). Returns
    whether Istio's metric records the patch as applied: it does not for INSERT_FIRST and
    REMOVE, nor for an insert whose sub-filter is absent (those are quirks of the real code,
    kept so that the counts agree with it). MERGE is handled per HTTP filter, not here.
    """
    op = lp.operation
    sub = lp.sub_filter
    if op == "ADD":
        filters.append(lp.value)
        tally.clones += 1
        return True
    if op == "INSERT_FIRST":
        filters.insert(0, lp.value)
        tally.clones += 1
        return False
    if op == "INSERT_AFTER" or op == "INSERT_BEFORE":
        if sub is None:
            if op == "INSERT_AFTER":
                filters.append(lp.value)
            else:
                filters.insert(0, lp.value)
            tally.clones += 1
            return False
        pos = _first_named(filters, sub)
        if pos < 0:
            return False
        filters.insert(pos + 1 if op == "INSERT_AFTER" else pos, lp.value)
        tally.clones += 1
        return True
    if op == "REPLACE":
        if sub is None:
            return False
        pos = _first_named(filters, sub)
        if pos < 0:
            return False
        filters[pos].CopyFrom(lp.value)
        tally.clones += 1
        return True
    if op == "REMOVE" and sub is not None:
        for i in range(len(filters) - 1, -1, -1):
            if filters[i].name == sub:
                del filters[i]
    return False


def merge_any_with_any(dst_any: Any, src_any: Any, src_type_url: str, tally: OpTally) -> bool:
    """Istio ``MergeAnyWithAny`` (``pilot/pkg/networking/util/util.go``, unchanged in the
    Sealos fork) followed by the assignment of its result to ``dst_any``.

    Decodes both values, merges, re-encodes deterministically. False (``dst_any`` unchanged)
    when a value does not decode or the types differ."""
    dst = try_unpack(dst_any.type_url, dst_any.value)
    tally.any_decodes += 1
    if dst is None:
        return False
    src_bytes = src_any.value
    src = try_unpack(src_type_url, src_bytes)
    tally.any_decodes += 1
    if src is None or src.DESCRIPTOR is not dst.DESCRIPTOR:
        return False
    istio_merge(dst, src, src_bytes)
    tally.merges += 1
    encode_into(dst_any, dst, tally)
    return True


def named_merges(target: Any, patches: Iterable[EnvoyFilterPatch]) -> Iterator[EnvoyFilterPatch]:
    """The MERGE loop Istio's ``patchNetworkFilter`` and ``patchHTTPFilter`` share: each of
    ``patches`` while ``target`` (a network or HTTP filter) has a ``typed_config``, for the
    caller to merge; then ``target`` takes the patch value's name, when it has one.
    ``patches`` is iterated lazily, as its matches may read the name an earlier patch set."""
    for lp in patches:
        if not target.HasField("typed_config"):
            continue
        name = lp.value.name or target.name
        yield lp
        target.name = name


def patch_http_filter(
    chain_patches: list[EnvoyFilterPatch], http_filter: Any, applied: AppliedTally, tally: OpTally
) -> None:
    """``patchHTTPFilter`` as upstream and the fork have it: ``MergeAnyWithAny`` per HTTP
    filter per chain."""
    matching = (lp for lp in chain_patches if http_filter_match(http_filter, lp))
    for lp in named_merges(http_filter, matching):
        user = lp.value
        if user.HasField("typed_config"):
            merge_any_with_any(
                http_filter.typed_config,
                user.typed_config,
                http_filter.typed_config.type_url,
                tally,
            )
        applied.add(lp.key)


def _first_named(filters: Any, name: str) -> int:
    for i, f in enumerate(filters):
        if f.name == name:
            return i
    return -1


# ---- the typical Higress patch set --------------------------------------------------------


def _global_option_hcm() -> Any:
    """Higress ``global-option`` defaults (``NewDefaultDownstream``) as an HCM MERGE value."""
    return hcm_pb2.HttpConnectionManager(
        common_http_protocol_options=protocol_pb2.HttpProtocolOptions(
            idle_timeout=duration_pb2.Duration(seconds=180)
        ),
        http2_protocol_options=protocol_pb2.Http2ProtocolOptions(
            max_concurrent_streams=wrappers_pb2.UInt32Value(value=100),
            initial_stream_window_size=wrappers_pb2.UInt32Value(value=65535),
            initial_connection_window_size=wrappers_pb2.UInt32Value(value=1048576),
        ),
        max_request_headers_kb=wrappers_pb2.UInt32Value(value=60),
        stream_idle_timeout=duration_pb2.Duration(seconds=180),
    )


def _gzip_filter() -> Any:
    """Higress ``gzip.go``: the compressor filter inserted before CORS."""
    gzip = gzip_pb2.Gzip(
        memory_level=wrappers_pb2.UInt32Value(value=5),
        window_bits=wrappers_pb2.UInt32Value(value=12),
        compression_level=gzip_pb2.Gzip.BEST_COMPRESSION,
        compression_strategy=gzip_pb2.Gzip.DEFAULT_STRATEGY,
    )
    return hcm_pb2.HttpFilter(
        name="envoy.filters.http.compressor",
        typed_config=pack(
            compressor_pb2.Compressor(
                response_direction_config=compressor_pb2.Compressor.ResponseDirectionConfig(
                    common_config=compressor_pb2.Compressor.CommonDirectionConfig(
                        min_content_length=wrappers_pb2.UInt32Value(value=1024),
                        content_type=["text/html", "text/css", "application/json"],
                    ),
                    disable_on_etag_header=True,
                ),
                compressor_library=extension_pb2.TypedExtensionConfig(
                    name="text_optimized", typed_config=pack(gzip)
                ),
            )
        ),
    )


def _wasm_filter(plugin: str) -> Any:
    """A Higress Wasm plugin (``<ns>.<plugin>``) loaded over ECDS-less local code."""
    return hcm_pb2.HttpFilter(
        name=f"{HIGRESS_NAMESPACE}.{plugin}",
        typed_config=pack(
            wasm_filter_pb2.Wasm(
                config=wasm_pb2.PluginConfig(
                    name=f"{HIGRESS_NAMESPACE}.{plugin}",
                    root_id=plugin,
                    vm_config=wasm_pb2.VmConfig(
                        vm_id=plugin,
                        runtime="envoy.wasm.runtime.v8",
                        code=base_pb2.AsyncDataSource(
                            local=base_pb2.DataSource(filename=f"/etc/wasm/{plugin}.wasm")
                        ),
                    ),
                    configuration=pack(
                        wrappers_pb2.StringValue(value='{"_rules_":[],"global_auth":false}')
                    ),
                    fail_open=True,
                )
            )
        ),
    )


def _tls_patch(
    *,
    minimum: int | None = None,
    curves: Sequence[str] = (),
    session_timeout: int | None = None,
) -> Any:
    ctx = tls_pb2.DownstreamTlsContext()
    params = ctx.common_tls_context.tls_params
    if minimum is not None:
        params.tls_minimum_protocol_version = minimum
    params.ecdh_curves.extend(curves)
    if session_timeout is not None:
        ctx.session_timeout.CopyFrom(duration_pb2.Duration(seconds=session_timeout))
    return listener_components_pb2.FilterChain(
        transport_socket=base_pb2.TransportSocket(name=TLS_TRANSPORT, typed_config=pack(ctx))
    )


def typical_patch_set(sni_hosts: Sequence[str] = ()) -> PatchSet:
    """The EnvoyFilter patches of a typical Higress gateway (see the module docstring).

    One extra FILTER_CHAIN MERGE (TLS 1.3 minimum) is added for each host of ``sni_hosts``,
    matched by SNI, so that matching by filter chain is exercised.
    """
    hcm_match = ListenerMatch(filter_chain=FilterChainMatch(filter=FilterMatch(HCM_FILTER)))
    port_443 = ListenerMatch(port_number=HTTPS_PORT, name=LISTENER_NAME)

    def sub_filter(name: str) -> ListenerMatch:
        return ListenerMatch(
            port_number=HTTPS_PORT,
            filter_chain=FilterChainMatch(filter=FilterMatch(HCM_FILTER, sub_filter=name)),
        )

    ns = HIGRESS_NAMESPACE
    patches = [
        EnvoyFilterPatch(
            f"{ns}/global-option/0",
            "NETWORK_FILTER",
            "MERGE",
            listener_components_pb2.Filter(
                name=HCM_FILTER, typed_config=pack(_global_option_hcm())
            ),
            hcm_match,
        ),
        EnvoyFilterPatch(
            f"{ns}/global-option/1",
            "LISTENER",
            "MERGE",
            listener_pb2.Listener(
                per_connection_buffer_limit_bytes=wrappers_pb2.UInt32Value(value=32768)
            ),
        ),
        EnvoyFilterPatch(
            f"{ns}/gzip/0", "HTTP_FILTER", "INSERT_BEFORE", _gzip_filter(), sub_filter(CORS_FILTER)
        ),
        EnvoyFilterPatch(
            f"{ns}/key-auth/0",
            "HTTP_FILTER",
            "INSERT_BEFORE",
            _wasm_filter("key-auth"),
            sub_filter(ROUTER_FILTER),
        ),
        EnvoyFilterPatch(
            f"{ns}/router-options/0",
            "HTTP_FILTER",
            "MERGE",
            hcm_pb2.HttpFilter(
                name=ROUTER_FILTER,
                typed_config=pack(
                    router_pb2.Router(
                        start_child_span=True, dynamic_stats=wrappers_pb2.BoolValue(value=False)
                    )
                ),
            ),
            sub_filter(ROUTER_FILTER),
        ),
        EnvoyFilterPatch(
            f"{ns}/tls-options/0",
            "FILTER_CHAIN",
            "MERGE",
            _tls_patch(
                minimum=common_pb2.TlsParameters.TLSv1_2,
                curves=("X25519", "P-256"),
                session_timeout=7200,
            ),
            port_443,
        ),
    ]
    for i, host in enumerate(sni_hosts):
        patches.append(
            EnvoyFilterPatch(
                f"{ns}/tls-sni/{i}",
                "FILTER_CHAIN",
                "MERGE",
                _tls_patch(minimum=common_pb2.TlsParameters.TLSv1_3),
                ListenerMatch(port_number=HTTPS_PORT, filter_chain=FilterChainMatch(sni=host)),
            )
        )
    return PatchSet(tuple(patches))
