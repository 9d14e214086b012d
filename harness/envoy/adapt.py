"""Local adaptation of a translated gateway listener, so a lone Envoy on loopback can serve it.

The translation (``workloads.envoy_config``) emits what Istio/Higress push to a gateway: a
port-443 Listener whose filter chains take their certificates by SDS over ADS and their routes
by RDS over ADS. Fed by gwbench's control plane (``harness.envoy.xds``), the SDS references stay
as they are; fed from files, gwbench rewrites them. Either way it keeps
everything else (SNI matches, ALPN, TLS parameters, the http filter list, stat prefixes):

- each ``SdsSecretConfig`` keeps its name and loses its ``sds_config``, so it names a static
  secret of the bootstrap; a secret chosen for rotation instead gets a filesystem SDS source;
- each HttpConnectionManager's RDS becomes an inline ``route_config`` with one virtual host
  per server name answering ``direct_response`` 200 (body: the host), except the RDS names
  served from a file (the ``*.<domain>`` chain of the wildcard shape): those keep their RDS,
  so adding a host there changes the route file, not the listener. The inline tables hold
  only what the probe needs (one short virtual host per server name), so a per-host chain
  stays about the size of the RDS reference it replaces;
- the listener binds 127.0.0.1 and a free port.

Also applies the per-shape "add one host" edit to a local listener.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path

from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.config.listener.v3.listener_components_pb2 import FilterChain
from envoy.config.route.v3 import route_components_pb2, route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2

from gwbench.errors import HarnessError
from gwbench.harness.envoy.bootstrap import LOOPBACK, ads_config_source, file_config_source

HCM_FILTER = "envoy.filters.network.http_connection_manager"
TLS_SOCKET = "envoy.transport_sockets.tls"
HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TLS_TYPE = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
DIRECT_ROUTE_NAME = "gwbench-direct"


def is_wildcard_name(name: str) -> bool:
    return name.startswith("*.")


# reading chains --------------------------------------------------------------------------
def server_names(chain: FilterChain) -> list[str]:
    return list(chain.filter_chain_match.server_names)


def tls_context(chain: FilterChain) -> tls_pb2.DownstreamTlsContext:
    """The chain's DownstreamTlsContext (decoded copy)."""
    if (
        chain.transport_socket.name != TLS_SOCKET
        and not chain.transport_socket.typed_config.type_url.endswith(TLS_TYPE)
    ):
        raise HarnessError(f"filter chain {server_names(chain)} has no TLS transport socket")
    context = tls_pb2.DownstreamTlsContext()
    if not chain.transport_socket.typed_config.Unpack(context):
        raise HarnessError(f"filter chain {server_names(chain)}: transport socket is not TLS")
    return context


def secret_names(chain: FilterChain) -> list[str]:
    """Names of the SDS certificate secrets the chain's TLS context references."""
    common = tls_context(chain).common_tls_context
    return [config.name for config in common.tls_certificate_sds_secret_configs]


def _hcm_filter(chain: FilterChain) -> listener_components_pb2.Filter:
    for network_filter in chain.filters:
        if network_filter.name == HCM_FILTER or network_filter.typed_config.type_url.endswith(
            HCM_TYPE
        ):
            return network_filter
    raise HarnessError(f"filter chain {server_names(chain)} has no HTTP connection manager")


def connection_manager(chain: FilterChain) -> hcm_pb2.HttpConnectionManager:
    """The chain's HttpConnectionManager (decoded copy)."""
    manager = hcm_pb2.HttpConnectionManager()
    _hcm_filter(chain).typed_config.Unpack(manager)
    return manager


def set_connection_manager(chain: FilterChain, manager: hcm_pb2.HttpConnectionManager) -> None:
    _hcm_filter(chain).typed_config.Pack(manager, deterministic=True)


# routes ----------------------------------------------------------------------------------
def direct_virtual_host(host: str) -> route_components_pb2.VirtualHost:
    """A virtual host for ``host`` answering every path with 200 and the host as body."""
    vhost = route_components_pb2.VirtualHost(name=host, domains=[host])
    route = vhost.routes.add()
    route.name = DIRECT_ROUTE_NAME
    route.match.prefix = "/"
    route.direct_response.status = 200
    route.direct_response.body.inline_string = host
    return vhost


def direct_routes(name: str, hosts: Iterable[str]) -> route_pb2.RouteConfiguration:
    """One virtual host per host, each answering ``direct_response`` 200."""
    config = route_pb2.RouteConfiguration(name=name)
    config.virtual_hosts.extend(direct_virtual_host(host) for host in hosts)
    return config


def localize_routes(config: route_pb2.RouteConfiguration) -> route_pb2.RouteConfiguration:
    """A translated route configuration served locally: every virtual host keeps its routes
    and answers exactly ``/`` from a direct 200 route placed first; clusters are not
    validated (there are no upstreams here)."""
    local = route_pb2.RouteConfiguration()
    local.CopyFrom(config)
    local.validate_clusters.value = False
    for vhost in local.virtual_hosts:
        localize_virtual_host(vhost)
    return local


def localize_virtual_host(vhost: route_components_pb2.VirtualHost) -> None:
    """Put an exact ``/`` route answering 200 (body: the host) before the translated routes."""
    host = next((d for d in vhost.domains if not is_wildcard_name(d) and d != "*"), vhost.name)
    probe = direct_virtual_host(host).routes[0]
    probe.match.ClearField("prefix")
    probe.match.path = "/"
    original = list(vhost.routes)
    del vhost.routes[:]
    vhost.routes.append(probe)
    vhost.routes.extend(original)


# localizing a listener -------------------------------------------------------------------
def localize_chain(
    chain: FilterChain,
    *,
    dynamic_secrets: Mapping[str, Path] | None = None,
    rds_paths: Mapping[str, Path] | None = None,
    ads_routes: Collection[str] | None = None,
) -> FilterChain:
    """A copy of ``chain`` whose SDS and RDS references work on a local Envoy.

    From files (``ads_routes`` None): ``dynamic_secrets`` (secret name -> file) and
    ``rds_paths`` (route name -> file) name the references served by filesystem
    subscriptions; every other secret becomes static and every other RDS an inline
    direct-response route configuration. Over ADS (``ads_routes`` given): every secret keeps
    its SDS over ADS, the RDS names in ``ads_routes`` keep their RDS over ADS, and every
    other RDS becomes inline routes as above.
    """
    local: FilterChain = FilterChain()
    local.CopyFrom(chain)
    if ads_routes is None:
        dynamic = dynamic_secrets or {}
        context = tls_context(local)
        for config in context.common_tls_context.tls_certificate_sds_secret_configs:
            if config.name in dynamic:
                config.sds_config.CopyFrom(file_config_source(dynamic[config.name]))
            else:
                config.ClearField("sds_config")
        local.transport_socket.typed_config.Pack(context, deterministic=True)

    manager = connection_manager(local)
    names = server_names(local)
    kind = manager.WhichOneof("route_specifier")
    if kind not in ("rds", "route_config"):
        raise HarnessError(f"filter chain {names}: unsupported route specifier {kind}")
    route_name = manager.rds.route_config_name if kind == "rds" else manager.route_config.name
    files = rds_paths or {}
    if kind == "rds" and ads_routes is not None and route_name in ads_routes:
        manager.rds.config_source.CopyFrom(ads_config_source())
    elif kind == "rds" and route_name in files:
        manager.rds.config_source.CopyFrom(file_config_source(files[route_name]))
    else:
        exact = [n for n in names if not is_wildcard_name(n)]
        manager.route_config.CopyFrom(direct_routes(route_name or DIRECT_ROUTE_NAME, exact))
    set_connection_manager(local, manager)
    return local


def localize_listener(
    listener: listener_pb2.Listener,
    port: int,
    *,
    dynamic_secrets: Mapping[str, Path] | None = None,
    rds_paths: Mapping[str, Path] | None = None,
    ads_routes: Collection[str] | None = None,
) -> listener_pb2.Listener:
    """The translated listener on 127.0.0.1:``port`` with local SDS and routes (see
    :func:`localize_chain`)."""
    local = listener_pb2.Listener()
    local.CopyFrom(listener)
    local.address.socket_address.address = LOOPBACK
    local.address.socket_address.port_value = port
    del local.filter_chains[:]
    local.filter_chains.extend(
        localize_chain(
            chain, dynamic_secrets=dynamic_secrets, rds_paths=rds_paths, ads_routes=ads_routes
        )
        for chain in listener.filter_chains
    )
    return local


# adding one host to a local listener -----------------------------------------------------
def add_host_to_chain(chain: FilterChain, host: str) -> None:
    """Consolidated shape: one more server name and its virtual host in an existing chain."""
    manager = connection_manager(chain)
    if manager.WhichOneof("route_specifier") != "route_config":
        raise HarnessError(f"cannot add {host}: the chain's routes are not inline")
    chain.filter_chain_match.server_names.append(host)
    manager.route_config.virtual_hosts.append(direct_virtual_host(host))
    set_connection_manager(chain, manager)


def alpn_of(chain: FilterChain) -> list[str]:
    return list(tls_context(chain).common_tls_context.alpn_protocols)


def shared_chain_index(listener: listener_pb2.Listener, like: FilterChain) -> int:
    """Consolidated shape: the chain a host with per-host chain ``like`` joins: same
    certificate and ALPN, the most server names."""
    secrets, alpn = secret_names(like), alpn_of(like)
    best, best_count = -1, -1
    for index, chain in enumerate(listener.filter_chains):
        count = len(chain.filter_chain_match.server_names)
        if secret_names(chain) == secrets and alpn_of(chain) == alpn and count > best_count:
            best, best_count = index, count
    if best < 0:
        raise HarnessError(f"no filter chain shares the certificate {secrets} and ALPN {alpn}")
    return best


def all_secret_names(listeners: Sequence[listener_pb2.Listener]) -> list[str]:
    """Distinct SDS secret names referenced, in first-use order."""
    seen: dict[str, None] = {}
    for listener in listeners:
        for chain in listener.filter_chains:
            for name in secret_names(chain):
                seen.setdefault(name, None)
    return list(seen)
