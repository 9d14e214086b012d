"""Merged gateway -> real Envoy xDS messages (xds-protos), as Istio builds a gateway listener.

Models Istio ``pilot/pkg/networking/core/v1alpha3/gateway.go``
(``buildGatewayListeners`` -> ``buildGatewayTCPBasedFilterChains`` ->
``createGatewayHTTPFilterChainOpts`` / ``buildGatewayListenerTLSContext``) and
``httproute.go`` for the route configuration: the port-443 listener gets one FilterChain
per HTTPS server with ``server_names = [host]``, a ``DownstreamTlsContext`` (ALPN, one SDS
secret over ADS, TLS params) and an ``HttpConnectionManager`` that takes its routes by RDS
over ADS, ending with the router. The chains differ only in ``server_names``, the RDS route
name, the metadata naming the gateway, and the SDS name for custom-domain certificates.

Shapes (docs/envoy.md): ``per-host`` (what Istio/Higress emit), ``consolidated`` (hosts sharing a
certificate and ALPN in one chain with many server_names) and ``wildcard`` (one chain for
``*.<domain>`` hosts under the wildcard certificate, routes by RDS; custom domains keep a
chain each).

The per-server chain builder is shared: the gateway_lookup hot path's baseline and
optimized twins differ only in how they find the ``GatewayConfig`` a server came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from envoy.config.core.v3 import address_pb2, base_pb2, config_source_pb2, protocol_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.config.route.v3 import route_components_pb2, route_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.fault.v3 import fault_pb2
from envoy.extensions.filters.http.grpc_stats.v3 import config_pb2 as grpc_stats_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.request_id.uuid.v3 import uuid_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2, tls_pb2
from google.protobuf import any_pb2, duration_pb2, struct_pb2, wrappers_pb2
from google.protobuf.message import Message

from gwbench.workloads.istio import (
    ENABLE_H2_ANNOTATION,
    HTTPS_PORT,
    GatewayConfig,
    MergedGateway,
    Server,
    TLSServerInfo,
    credential_name,
    gateways_from_ingresses,
    merge_gateways,
)
from gwbench.workloads.model import HIGRESS_NAMESPACE, WILDCARD_SECRET, Workload

if TYPE_CHECKING:  # the kubernetes models are heavy to import; benchmark workers may not need them
    from kubernetes.client import V1Ingress

Shape = Literal["per-host", "consolidated", "wildcard"]
SHAPES: tuple[Shape, ...] = ("per-host", "consolidated", "wildcard")

LISTENER_NAME = "0.0.0.0_443"
HCM_FILTER = "envoy.filters.network.http_connection_manager"
TLS_TRANSPORT = "envoy.transport_sockets.tls"
TLS_INSPECTOR = "envoy.filters.listener.tls_inspector"
ROUTER_FILTER = "envoy.filters.http.router"
ALPN_H2 = ("h2", "http/1.1")
ALPN_H1 = ("http/1.1",)
CIPHER_SUITES = (
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)


def pack(message: Message) -> any_pb2.Any:
    """Pack into an Any with deterministic serialization, as Istio's ``MessageToAny``."""
    return any_pb2.Any(
        type_url="type.googleapis.com/" + message.DESCRIPTOR.full_name,
        value=message.SerializeToString(deterministic=True),
    )


def _ads() -> config_source_pb2.ConfigSource:
    return config_source_pb2.ConfigSource(
        ads=config_source_pb2.AggregatedConfigSource(),
        resource_api_version=config_source_pb2.V3,
    )


_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def alpn_for(gateway: GatewayConfig | None) -> tuple[str, ...]:
    """ALPN of a chain: h2 unless the gateway's enable-h2 annotation turns it off.

    Higress ``shouldDisableH2``: an annotation value that does not parse as true with Go's
    ``strconv.ParseBool`` turns h2 off.
    """
    if gateway is not None:
        value = gateway.annotations.get(ENABLE_H2_ANNOTATION)
        if value is not None and value not in _GO_TRUE:
            return ALPN_H1
    return ALPN_H2


def _http_filters() -> list[hcm_pb2.HttpFilter]:
    """The http filter list of a Higress gateway chain, ending with the router."""
    return [
        hcm_pb2.HttpFilter(name="envoy.filters.http.cors", typed_config=pack(cors_pb2.Cors())),
        hcm_pb2.HttpFilter(
            name="envoy.filters.http.grpc_stats",
            typed_config=pack(
                grpc_stats_pb2.FilterConfig(
                    emit_filter_state=True,
                    stats_for_all_methods=wrappers_pb2.BoolValue(value=False),
                )
            ),
        ),
        hcm_pb2.HttpFilter(
            name="envoy.filters.http.fault", typed_config=pack(fault_pb2.HTTPFault())
        ),
        hcm_pb2.HttpFilter(
            name=ROUTER_FILTER,
            typed_config=pack(router_pb2.Router(suppress_envoy_headers=True)),
        ),
    ]


def _hcm_template() -> hcm_pb2.HttpConnectionManager:
    hcm = hcm_pb2.HttpConnectionManager(
        codec_type=hcm_pb2.HttpConnectionManager.AUTO,
        stat_prefix="outbound_0.0.0.0_443",
        rds=hcm_pb2.Rds(config_source=_ads()),
        use_remote_address=wrappers_pb2.BoolValue(value=True),
        xff_num_trusted_hops=0,
        forward_client_cert_details=hcm_pb2.HttpConnectionManager.SANITIZE_SET,
        set_current_client_cert_details=hcm_pb2.HttpConnectionManager.SetCurrentClientCertDetails(
            subject=wrappers_pb2.BoolValue(value=True), dns=True, uri=True
        ),
        server_name="istio-envoy",
        normalize_path=wrappers_pb2.BoolValue(value=True),
        path_with_escaped_slashes_action=hcm_pb2.HttpConnectionManager.KEEP_UNCHANGED,
        stream_idle_timeout=duration_pb2.Duration(seconds=0),
        common_http_protocol_options=protocol_pb2.HttpProtocolOptions(
            idle_timeout=duration_pb2.Duration(seconds=3600)
        ),
        http2_protocol_options=protocol_pb2.Http2ProtocolOptions(
            max_concurrent_streams=wrappers_pb2.UInt32Value(value=100),
        ),
        upgrade_configs=[hcm_pb2.HttpConnectionManager.UpgradeConfig(upgrade_type="websocket")],
        request_id_extension=hcm_pb2.RequestIDExtension(
            typed_config=pack(uuid_pb2.UuidRequestIdConfig())
        ),
    )
    hcm.http_filters.extend(_http_filters())
    return hcm


# Every chain's HCM and TLS context are the same message but for a name or two, so each is
# built by copying a template (one C-level copy) and setting what differs: same bytes as
# building them field by field, without re-running the Python constructors per chain. The
# hot paths share this builder, so it weighs the same in a baseline and its optimized twin.
_HCM_TEMPLATE = _hcm_template()


def build_hcm(route_config_name: str) -> hcm_pb2.HttpConnectionManager:
    """The gateway HttpConnectionManager with RDS, as ``buildHTTPConnectionManager``."""
    hcm = hcm_pb2.HttpConnectionManager()
    hcm.CopyFrom(_HCM_TEMPLATE)
    hcm.rds.route_config_name = route_config_name
    return hcm


def _tls_template() -> tls_pb2.DownstreamTlsContext:
    return tls_pb2.DownstreamTlsContext(
        common_tls_context=tls_pb2.CommonTlsContext(
            tls_params=common_pb2.TlsParameters(
                tls_minimum_protocol_version=common_pb2.TlsParameters.TLSv1_2,
                tls_maximum_protocol_version=common_pb2.TlsParameters.TLSv1_3,
                cipher_suites=list(CIPHER_SUITES),
            ),
            tls_certificate_sds_secret_configs=[secret_pb2.SdsSecretConfig(sds_config=_ads())],
        ),
        require_client_certificate=wrappers_pb2.BoolValue(value=False),
    )


_TLS_TEMPLATE = _tls_template()


def build_tls_context(credential: str, alpn: Sequence[str]) -> tls_pb2.DownstreamTlsContext:
    """``buildGatewayListenerTLSContext`` for tls.mode SIMPLE with a credentialName."""
    ctx = tls_pb2.DownstreamTlsContext()
    ctx.CopyFrom(_TLS_TEMPLATE)
    common = ctx.common_tls_context
    common.alpn_protocols.extend(alpn)
    common.tls_certificate_sds_secret_configs[0].name = credential
    return ctx


def _chain_metadata(gateway_key: str) -> base_pb2.Metadata:
    ns, _, name = gateway_key.partition("/")
    md = base_pb2.Metadata()
    cfg = struct_pb2.Struct()
    cfg.update({"config": f"/apis/networking.istio.io/v1alpha3/namespaces/{ns}/gateway/{name}"})
    md.filter_metadata["istio"].CopyFrom(cfg)
    return md


def build_filter_chain(
    server_names: Iterable[str],
    credential: str,
    alpn: Sequence[str],
    route_config_name: str,
    gateway_key: str,
) -> listener_components_pb2.FilterChain:
    """One port-443 FilterChain: SNI match, TLS transport socket, HCM with RDS."""
    return listener_components_pb2.FilterChain(
        filter_chain_match=listener_components_pb2.FilterChainMatch(
            server_names=list(server_names)
        ),
        transport_socket=base_pb2.TransportSocket(
            name=TLS_TRANSPORT, typed_config=pack(build_tls_context(credential, alpn))
        ),
        filters=[
            listener_components_pb2.Filter(
                name=HCM_FILTER, typed_config=pack(build_hcm(route_config_name))
            )
        ],
        metadata=_chain_metadata(gateway_key),
    )


def build_https_filter_chain(
    server: Server, info: TLSServerInfo, gateway_key: str, gateway: GatewayConfig | None
) -> listener_components_pb2.FilterChain:
    """The chain of one HTTPS server; ``gateway`` (found by name) decides only the ALPN."""
    assert server.tls is not None
    return build_filter_chain(
        info.sni_hosts, server.tls.credential_name, alpn_for(gateway), info.route_name, gateway_key
    )


def build_listener(
    chains: Iterable[listener_components_pb2.FilterChain],
) -> listener_pb2.Listener:
    """The port-443 gateway listener holding ``chains`` behind a tls_inspector."""
    return listener_pb2.Listener(
        name=LISTENER_NAME,
        address=address_pb2.Address(
            socket_address=address_pb2.SocketAddress(address="0.0.0.0", port_value=HTTPS_PORT)
        ),
        listener_filters=[
            listener_components_pb2.ListenerFilter(
                name=TLS_INSPECTOR, typed_config=pack(tls_inspector_pb2.TlsInspector())
            )
        ],
        filter_chains=list(chains),
        traffic_direction=base_pb2.OUTBOUND,
        continue_on_listener_filters_timeout=True,
    )


GatewayLookup = Callable[[str], GatewayConfig | None]


def build_per_host_chains(
    merged: MergedGateway, lookup: GatewayLookup
) -> list[listener_components_pb2.FilterChain]:
    """One chain per HTTPS server of port 443, finding each server's gateway with ``lookup``."""
    chains = []
    for server in merged.servers_by_port.get(HTTPS_PORT, []):
        if server.protocol != "HTTPS" or server.tls is None:
            continue
        key = merged.gateway_name_for_server[server]
        chains.append(
            build_https_filter_chain(server, merged.tls_server_info[server], key, lookup(key))
        )
    return chains


# ---- routes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HostRoute:
    path: str
    path_type: str
    service: str
    namespace: str
    port: int


def routes_by_host(ingresses: Iterable[V1Ingress]) -> dict[str, list[HostRoute]]:
    """Every Ingress path of every host (Higress merges the VirtualServices of one host)."""
    out: dict[str, list[HostRoute]] = {}
    for ing in ingresses:
        ns = (ing.metadata.namespace if ing.metadata else None) or "default"
        for rule in (ing.spec.rules if ing.spec else None) or []:
            host = rule.host or "*"
            for p in (rule.http.paths if rule.http else None) or []:
                svc = p.backend.service
                port = svc.port.number if svc and svc.port and svc.port.number else 80
                out.setdefault(host, []).append(
                    HostRoute(
                        p.path or "/", p.path_type or "Prefix", svc.name if svc else "", ns, port
                    )
                )
    return out


def build_virtual_host(host: str, routes: Sequence[HostRoute]) -> route_components_pb2.VirtualHost:
    vh = route_components_pb2.VirtualHost(name=f"{host}:443", domains=[host])
    for r in routes:
        match = route_components_pb2.RouteMatch()
        if r.path_type == "Exact":
            match.path = r.path
        else:
            match.prefix = r.path
        vh.routes.append(
            route_components_pb2.Route(
                match=match,
                route=route_components_pb2.RouteAction(
                    cluster=f"outbound|{r.port}||{r.service}.{r.namespace}.svc.cluster.local",
                    timeout=duration_pb2.Duration(seconds=0),
                ),
            )
        )
    return vh


def build_route_configuration(
    name: str, hosts: Iterable[str], routes: dict[str, list[HostRoute]]
) -> route_pb2.RouteConfiguration:
    return route_pb2.RouteConfiguration(
        name=name,
        virtual_hosts=[build_virtual_host(h, routes.get(h, [])) for h in hosts],
        validate_clusters=wrappers_pb2.BoolValue(value=False),
    )


# ---- translation ----------------------------------------------------------------------


@dataclass
class Translation:
    """Everything one translation produced, in data-flow order."""

    shape: Shape
    gateways: list[GatewayConfig]
    merged: MergedGateway
    listener: listener_pb2.Listener
    routes: list[route_pb2.RouteConfiguration]
    hosts: list[str]
    """HTTPS hosts in chain order (each host appears once)."""
    credentials: dict[str, str]
    """HTTPS host -> SDS secret name."""


def wildcard_credential() -> str:
    return credential_name(HIGRESS_NAMESPACE, WILDCARD_SECRET)


def _https_servers(merged: MergedGateway) -> list[Server]:
    return [
        s
        for s in merged.servers_by_port.get(HTTPS_PORT, [])
        if s.protocol == "HTTPS" and s.tls is not None
    ]


def _is_wildcard_secret(credential: str) -> bool:
    return credential.rsplit("/", 1)[-1] == WILDCARD_SECRET


def translate(workload: Workload, shape: Shape = "per-host") -> Translation:
    """Ingresses -> gateways -> merged gateway -> listener and routes of one ``shape``."""
    gateways = gateways_from_ingresses(workload)
    merged = merge_gateways(gateways)
    by_key = {gw.key: gw for gw in gateways}
    routes = routes_by_host(workload.ingresses)
    servers = _https_servers(merged)
    hosts = [s.hosts[0] for s in servers]
    creds = {s.hosts[0]: s.tls.credential_name for s in servers if s.tls is not None}

    if shape == "per-host":
        chains = build_per_host_chains(merged, by_key.get)
        rcs = [
            build_route_configuration(merged.tls_server_info[s].route_name, s.hosts, routes)
            for s in servers
        ]
        return Translation(shape, gateways, merged, build_listener(chains), rcs, hosts, creds)

    # Group servers by (certificate, ALPN); a group becomes one chain.
    groups: dict[tuple[str, tuple[str, ...]], list[Server]] = {}
    for s in servers:
        assert s.tls is not None
        gw = by_key.get(merged.gateway_name_for_server[s])
        groups.setdefault((s.tls.credential_name, alpn_for(gw)), []).append(s)

    domain = workload.domain
    star = f"*.{domain}"
    # In the wildcard shape, ``*.<domain>`` goes to the one chain of the wildcard certificate
    # with the default ALPN; hosts whose gateway turned h2 off keep exact server names in a
    # chain of their own (Envoy matches exact names before wildcards; two chains claiming
    # ``*.<domain>`` would be a duplicate matcher).
    wildcard_group = (wildcard_credential(), ALPN_H2)
    has_star_chain = shape == "wildcard" and wildcard_group in groups
    chains = []
    rcs = []
    for (cred, alpn), members in groups.items():
        first_key = merged.gateway_name_for_server[members[0]]
        if has_star_chain and (cred, alpn) == wildcard_group:
            names = [star]
            names.extend(
                h
                for h in (s.hosts[0] for s in members)
                if not h.endswith("." + domain) and h != star
            )
        elif has_star_chain:
            names = [s.hosts[0] for s in members if s.hosts[0] != star]
        else:
            names = [s.hosts[0] for s in members]
        if not names:
            continue
        rc_name = f"https.443.{'wildcard' if shape == 'wildcard' else 'shared'}.{len(chains)}"
        chains.append(build_filter_chain(names, cred, alpn, rc_name, first_key))
        rcs.append(build_route_configuration(rc_name, [s.hosts[0] for s in members], routes))
    return Translation(shape, gateways, merged, build_listener(chains), rcs, hosts, creds)


# ---- the gateway listener build (hot path gateway_lookup) ---------------------------------


@dataclass(frozen=True)
class GatewayListenerInputs:
    """What building the gateway listeners reads: the push context's gateway configs in
    config-store order (Istio ``PushContext.gatewayIndex.all``) and the proxy's merged
    gateway."""

    gateways: tuple[GatewayConfig, ...]
    merged: MergedGateway


@dataclass(frozen=True)
class GatewayListenerBuild:
    """A built port-443 listener and, per HTTPS server in chain order, the ``ns/name`` of
    the gateway config its lookup returned (``None`` when none was found)."""

    listener: listener_pb2.Listener
    resolved: tuple[str | None, ...]
