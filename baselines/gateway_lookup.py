"""Gateway config lookup by name while building the port-443 listener: a linear scan, twice per
HTTPS server.

Models Higress's Istio fork (``higress-group/istio`` branch ``istio-1.19``):

- ``pilot/pkg/model/ali_push_context.go`` ``PushContext.GetGatewayByName(name)``: split
  ``ns/name`` on ``/`` (anything but two parts gives nil), then range over
  ``ps.gatewayIndex.all`` in order and return the first config whose namespace and name
  match (each step copies a ``config.Config`` in Go); nil when absent;
- ``pilot/pkg/networking/core/v1alpha3/gateway.go`` ``buildGatewayTCPBasedFilterChains``: for
  every HTTPS server with TLS termination it calls ``GetGatewayByName`` twice, once for a
  debug log line (whose argument Go evaluates even when debug logging is off) and once for
  ``buildListenerFilterChainExtraOpts.gatewayConfig``, whose annotations decide only the
  chain's ALPN (``shouldDisableH2``: ``mse.ingress.alibabacloud.com/enable-h2``).

With S HTTPS servers and G gateway configs (both about N: one Gateway per host) the listener
build does 2S scans of on average G/2 steps: O(S*G), about N^2 name comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence

from envoy.config.listener.v3 import listener_components_pb2

from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import (
    GatewayListenerBuild,
    GatewayListenerInputs,
    build_listener,
    build_per_host_chains,
)
from gwbench.workloads.istio import HTTPS_PORT, GatewayConfig, MergedGateway


def get_gateway_by_name(
    gateways: Sequence[GatewayConfig], name: str, counters: Counters
) -> GatewayConfig | None:
    """``GetGatewayByName``: first config named ``name`` (``ns/name``) in list order."""
    counters.add("lookups")
    parts = name.split("/")
    if len(parts) != 2:
        return None
    namespace, short = parts
    steps = 0
    for cfg in gateways:
        steps += 1
        if cfg.namespace == namespace and cfg.name == short:
            counters.add("name_comparisons", steps)
            return cfg
    counters.add("name_comparisons", steps)
    return None


def build_gateway_listener(
    inputs: GatewayListenerInputs, counters: Counters
) -> GatewayListenerBuild:
    """``buildGatewayListeners`` for the port-443 listener (the one with a chain per host)."""
    chains: list[listener_components_pb2.FilterChain] = []
    resolved: list[str | None] = []
    for port in inputs.merged.server_ports:
        if port != HTTPS_PORT:
            continue  # the plain-HTTP listener does no lookups
        chains.extend(
            build_gateway_tcp_based_filter_chains(
                inputs.merged, inputs.gateways, resolved, counters
            )
        )
    return GatewayListenerBuild(build_listener(chains), tuple(resolved))


def build_gateway_tcp_based_filter_chains(
    merged: MergedGateway,
    gateways: Sequence[GatewayConfig],
    resolved: list[str | None],
    counters: Counters,
) -> list[listener_components_pb2.FilterChain]:
    """One chain per HTTPS server with TLS termination, two lookups each."""

    def lookup(key: str) -> GatewayConfig | None:
        # Evaluated for the debug log line only.
        get_gateway_by_name(gateways, key, counters)
        gateway = get_gateway_by_name(gateways, key, counters)
        resolved.append(gateway.key if gateway is not None else None)
        return gateway

    return build_per_host_chains(merged, lookup)
