"""Changes of one port-443 listener that an LDS update or a hash must tell apart.

Each change takes a listener's wire bytes and returns the bytes of a changed copy. Most
keep every chain's ``server_names`` and change something deep inside one chain's Any
values (the TLS context of the transport socket or the HttpConnectionManager), which is
what a hash blind to a field or to Any payloads would miss:

- ``delete``: one chain removed (it must be drained);
- ``rotate-certificate``: one chain's SDS secret renamed (inside the TLS Any);
- ``flip-alpn``: one chain's ALPN flipped between ``h2,http/1.1`` and ``http/1.1`` (the
  ``enable-h2`` annotation; inside the TLS Any);
- ``change-http-filter``: one chain's HTTP filter config changed (inside an Any inside the
  HCM Any);
- ``change-route``: one chain's RDS route name changed (inside the HCM Any);
- ``duplicate``: one chain repeated at the end (a duplicate filter chain match);
- ``unchanged``: the same listener (a no-op update);
- ``listener-level``: a listener field outside the chains changed (a full update).

Cost: one decode and one encode of the listener, O(size).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.http.grpc_stats.v3 import config_pb2 as grpc_stats_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from google.protobuf import wrappers_pb2

from gwbench.workloads.envoy_config import ALPN_H1, ALPN_H2, pack


def _tls(chain: Any) -> Any:
    ctx = tls_pb2.DownstreamTlsContext()
    ctx.ParseFromString(chain.transport_socket.typed_config.value)
    return ctx


def _hcm(chain: Any) -> Any:
    hcm = hcm_pb2.HttpConnectionManager()
    hcm.ParseFromString(chain.filters[0].typed_config.value)
    return hcm


def _rotate(chain: Any) -> None:
    ctx = _tls(chain)
    sds = ctx.common_tls_context.tls_certificate_sds_secret_configs[0]
    sds.name = sds.name + "-rotated"
    chain.transport_socket.typed_config.CopyFrom(pack(ctx))


def _flip_alpn(chain: Any) -> None:
    ctx = _tls(chain)
    now = tuple(ctx.common_tls_context.alpn_protocols)
    del ctx.common_tls_context.alpn_protocols[:]
    ctx.common_tls_context.alpn_protocols.extend(ALPN_H1 if now == ALPN_H2 else ALPN_H2)
    chain.transport_socket.typed_config.CopyFrom(pack(ctx))


def _change_http_filter(chain: Any) -> None:
    hcm = _hcm(chain)
    for http_filter in hcm.http_filters:
        if http_filter.name == "envoy.filters.http.grpc_stats":
            cfg = grpc_stats_pb2.FilterConfig()
            cfg.ParseFromString(http_filter.typed_config.value)
            cfg.stats_for_all_methods.CopyFrom(wrappers_pb2.BoolValue(value=True))
            http_filter.typed_config.CopyFrom(pack(cfg))
            break
    else:  # pragma: no cover - every generated chain has the filter
        raise ValueError("no grpc_stats filter to change")
    chain.filters[0].typed_config.CopyFrom(pack(hcm))


def _change_route(chain: Any) -> None:
    hcm = _hcm(chain)
    hcm.rds.route_config_name = hcm.rds.route_config_name + ".changed"
    chain.filters[0].typed_config.CopyFrom(pack(hcm))


ChainChange = Callable[[Any], None]
CHAIN_CHANGES: dict[str, ChainChange] = {
    "rotate-certificate": _rotate,
    "flip-alpn": _flip_alpn,
    "change-http-filter": _change_http_filter,
    "change-route": _change_route,
}
LISTENER_CHANGES = (
    "delete",
    *CHAIN_CHANGES,
    "duplicate",
    "unchanged",
    "listener-level",
)


def target(listener: Any) -> int:
    """The chain a change touches: the middle one (not the first, not the last)."""
    return len(listener.filter_chains) // 2


def changed_chain(chain: Any, change: str) -> Any:
    """A changed copy of one FilterChain message (``change`` from :data:`CHAIN_CHANGES`)."""
    out = type(chain)()
    out.CopyFrom(chain)
    CHAIN_CHANGES[change](out)
    return out


def changed_listener(data: bytes, change: str) -> bytes:
    """The listener in ``data`` after ``change`` (one of :data:`LISTENER_CHANGES`)."""
    listener = listener_pb2.Listener.FromString(data)
    chains = listener.filter_chains
    if len(chains) < 3:
        raise ValueError(f"a change needs at least 3 filter chains, got {len(chains)}")
    i = target(listener)
    if change == "delete":
        del chains[i]
    elif change in CHAIN_CHANGES:
        CHAIN_CHANGES[change](chains[i])
    elif change == "duplicate":
        chains.add().CopyFrom(chains[i])
    elif change == "listener-level":
        listener.per_connection_buffer_limit_bytes.value = 65536
    elif change != "unchanged":
        raise ValueError(f"unknown listener change {change!r}; known: {LISTENER_CHANGES}")
    return bytes(listener.SerializeToString(deterministic=True))


def designed_chain_set(data: bytes) -> tuple[bytes, tuple[tuple[int, ...], ...]]:
    """A listener whose chains collide by design, and the classes of equal chains it holds.

    From the listener in ``data`` (at least 4 chains): its chains, then a copy of chain 1
    (equal content, another message), two copies of chain 3 (equal to it), chain 2
    changed inside an Any in each way of :data:`CHAIN_CHANGES` (same ``server_names``,
    so each must fall in a class of its own), and chain 2 with only its metadata changed
    (a field outside every Any; a class of its own too). Every hash must give exactly the returned
    classes (index tuples of equal chains); the chains are not a valid listener's (they
    repeat matches), only a set to hash.
    """
    listener = listener_pb2.Listener.FromString(data)
    chains = listener.filter_chains
    if len(chains) < 4:
        raise ValueError(f"a designed chain set needs at least 4 chains, got {len(chains)}")
    n = len(chains)
    originals = [bytes(c.SerializeToString(deterministic=True)) for c in chains]
    chains.add().ParseFromString(originals[1])
    chains.add().ParseFromString(originals[3])
    chains.add().ParseFromString(originals[3])
    for change in CHAIN_CHANGES:
        chains.add().CopyFrom(changed_chain(chains[2], change))
    relabelled = chains.add()
    relabelled.CopyFrom(chains[2])
    relabelled.metadata.filter_metadata["istio"].update({"config": "relabelled"})
    classes = ((1, n), (3, n + 1, n + 2))
    return bytes(listener.SerializeToString(deterministic=True)), classes
