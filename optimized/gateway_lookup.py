"""Gateway config lookup by name while building the port-443 listener: a map built once per
port, one O(1) lookup per HTTPS server.

Models the Sealos fork of Higress's Istio (``luanshaotong/istio`` branch ``test``,
``pilot/pkg/networking/core/v1alpha3/gateway.go``): ``buildGatewayListeners`` builds
``cfgCache := map[string]*config.Config`` from ``push.GetGateways()`` (key ``ns/name``) inside
its loop over every (server port, transport) pair that has servers, so once for port 80 as
well as for port 443 (the QUIC transport has no servers here), before building that
port's filter chains, and passes it to
``buildGatewayTCPBasedFilterChains``, which looks each HTTPS server's gateway up once and
reuses the result for the debug log and for ``extraOpts.gatewayConfig`` (the ALPN decision).

In Go (before 1.22) the fork's ``for _, cfg := range ...{ cfgCache[k] = &cfg }`` stores the
address of the loop variable, so every entry would point at the last config; this module
stores each config itself (the equivalence tests reintroduce the aliasing on purpose).

Cost: one map of G entries per port with servers (two: 80 and 443) plus S lookups:
O(S + G).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from envoy.config.listener.v3 import listener_components_pb2

from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import (
    GatewayListenerBuild,
    GatewayListenerInputs,
    build_listener,
    build_per_host_chains,
)
from gwbench.workloads.istio import HTTPS_PORT, GatewayConfig, MergedGateway


def build_cfg_cache(
    gateways: Sequence[GatewayConfig], counters: Counters
) -> dict[str, GatewayConfig]:
    """The fork's ``cfgCache``: ``ns/name`` -> config, later configs winning on a clash."""
    cache = {f"{cfg.namespace}/{cfg.name}": cfg for cfg in gateways}
    counters.add("dict_builds")
    counters.add("dict_inserts", len(gateways))
    return cache


def get_gateway_by_name(
    cfg_cache: Mapping[str, GatewayConfig], name: str, counters: Counters
) -> GatewayConfig | None:
    """``cfgCache[name]``: one hash lookup (and one key comparison on a hit)."""
    counters.add("lookups")
    gateway = cfg_cache.get(name)
    if gateway is not None:
        counters.add("name_comparisons")
    return gateway


def build_gateway_listener(
    inputs: GatewayListenerInputs, counters: Counters
) -> GatewayListenerBuild:
    """``buildGatewayListeners`` for the port-443 listener (the one with a chain per host)."""
    chains: list[listener_components_pb2.FilterChain] = []
    resolved: list[str | None] = []
    for port in inputs.merged.server_ports:
        if not inputs.merged.servers_by_port.get(port):
            continue
        # Built for every port with servers, before its chains (port 80 included).
        cfg_cache = build_cfg_cache(inputs.gateways, counters)
        if port != HTTPS_PORT:
            continue  # the plain-HTTP listener's chains do no lookups (not modelled)
        chains.extend(
            build_gateway_tcp_based_filter_chains(inputs.merged, cfg_cache, resolved, counters)
        )
    return GatewayListenerBuild(build_listener(chains), tuple(resolved))


def build_gateway_tcp_based_filter_chains(
    merged: MergedGateway,
    cfg_cache: Mapping[str, GatewayConfig],
    resolved: list[str | None],
    counters: Counters,
) -> list[listener_components_pb2.FilterChain]:
    """One chain per HTTPS server with TLS termination, one lookup each."""

    def lookup(key: str) -> GatewayConfig | None:
        gateway = get_gateway_by_name(cfg_cache, key, counters)
        resolved.append(gateway.key if gateway is not None else None)
        return gateway

    return build_per_host_chains(merged, lookup)
