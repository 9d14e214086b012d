"""The ``scoped`` shape: scoped routes (SRDS) keyed by host, as Higress's ``enableSRDS``.

Every chain's HttpConnectionManager takes ``scoped_routes`` instead of one route
configuration: a scope key built from the ``:authority`` header (the whole value, so a
port or upper case makes another key), the scopes (``ScopedRouteConfiguration``) over
SRDS and each scope's route configuration over RDS, both on the ADS stream. A host is one
scope (key: the host) holding one small route configuration with the host's virtual host,
inline (``ScopedRouteConfiguration.route_configuration``), so adding a domain is one resource;
the listener and every other scope stay untouched, and over delta xDS what crosses the wire
does not grow with N (Envoy's ``ScopedRdsConfigSubscription`` applies scope deltas one by
one). A scope can also name its route configuration for RDS (:func:`scope` without routes):
then an add is two round trips (Envoy asks for the routes after it has seen the scope), and
at 20,000 hosts the initial load took twice as long and Envoy twice the memory (9.5 s, 613 MB
against 4.9 s, 329 MB, one run each on a loaded machine).

The chain layout is the wildcard shape's (one ``*.<domain>`` chain for the wildcard
certificate, custom domains a chain each), so a new subdomain needs no listener change. Only
the ``*.<domain>`` chain routes by scope; custom-domain chains keep their own routes, because
every connection manager holding scoped routes makes Envoy work on each scope update (5,000
Ingresses, delta: 13 ms per new subdomain with one scoped chain, 23 ms with all 251 chains
scoped, growing with the number of custom domains).

A scope's resource name is short (:func:`scope_name`: 15 characters hashed from the host), not
the host: on every SRDS update Envoy 1.40 copies the map of every scope's key hash to its scope
name and walks it (``ScopedRdsConfigSubscription::detectUpdateConflictAndCleanupRemoved`` in
``source/common/router/scoped_rds.cc``), so each add costs time linear in the number of scopes.
Names longer than libc++'s short-string capacity (22 bytes; Envoy's release builds use libc++)
cost one allocation and one free per scope in that copy: at 50,000 hosts the main thread spent
about 15 ms per new subdomain with host names, about 2 ms with 15-character names.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_components_pb2, route_pb2, scoped_route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import wrappers_pb2

from gwbench.harness.envoy import adapt
from gwbench.harness.envoy.bootstrap import ads_config_source

SCOPED_ROUTES_NAME = "gwbench-scopes"
ROUTE_PREFIX = "scope."
AUTHORITY = ":authority"
SCOPE_NAME_CHARS = 15
"""Within the short-string capacity of both C++ standard libraries (libc++ 22, libstdc++ 15),
so Envoy copies a scope's name without allocating; 75 bits of hash."""


def scope_name(host: str) -> str:
    """Resource name of ``host``'s scope: 15 lowercase base32 characters of its BLAKE2b hash
    (deterministic; at 10**6 hosts a collision has a chance of about 10**-11)."""
    digest = hashlib.blake2b(host.encode(), digest_size=10).digest()
    return base64.b32encode(digest).decode().lower()[:SCOPE_NAME_CHARS]


def route_name(host: str) -> str:
    """Name of the route configuration of ``host``'s scope."""
    return ROUTE_PREFIX + host


def scope(
    host: str, routes: route_pb2.RouteConfiguration | None = None
) -> scoped_route_pb2.ScopedRouteConfiguration:
    """The scope of ``host`` (named :func:`scope_name`): key = the exact ``:authority`` value;
    its route configuration inline (``routes`` given: one resource per host) or by name,
    fetched by RDS."""
    config = scoped_route_pb2.ScopedRouteConfiguration(name=scope_name(host))
    if routes is not None:
        config.route_configuration.CopyFrom(routes)
    else:
        config.route_configuration_name = route_name(host)
    config.key.fragments.add(string_key=host)
    return config


def scope_routes(vhost: route_components_pb2.VirtualHost) -> route_pb2.RouteConfiguration:
    """The route configuration of one host's scope: that host's virtual host alone."""
    host = vhost.domains[0]
    config = route_pb2.RouteConfiguration(
        name=route_name(host), validate_clusters=wrappers_pb2.BoolValue(value=False)
    )
    config.virtual_hosts.append(vhost)
    return config


def routes_by_host(
    configs: Iterable[route_pb2.RouteConfiguration],
) -> dict[str, route_pb2.RouteConfiguration]:
    """One scope route configuration per exact host found in ``configs`` (first one wins)."""
    out: dict[str, route_pb2.RouteConfiguration] = {}
    for config in configs:
        for vhost in config.virtual_hosts:
            host = vhost.domains[0] if vhost.domains else ""
            if host and "*" not in host and host not in out:
                out[host] = scope_routes(vhost)
    return out


def star_routes(
    listener: listener_pb2.Listener,
    configs: Iterable[route_pb2.RouteConfiguration],
    domain: str,
) -> dict[str, route_pb2.RouteConfiguration]:
    """Host -> scope route configuration, for the hosts of the ``*.<domain>`` chain."""
    star = f"*.{domain}"
    names = {
        adapt.connection_manager(chain).rds.route_config_name
        for chain in listener.filter_chains
        if star in adapt.server_names(chain)
    }
    return routes_by_host(c for c in configs if c.name in names)


def scoped_routes() -> hcm_pb2.ScopedRoutes:
    routes = hcm_pb2.ScopedRoutes(name=SCOPED_ROUTES_NAME)
    fragment = routes.scope_key_builder.fragments.add()
    fragment.header_value_extractor.name = AUTHORITY
    fragment.header_value_extractor.index = 0
    routes.rds_config_source.CopyFrom(ads_config_source())
    routes.scoped_rds.scoped_rds_config_source.CopyFrom(ads_config_source())
    return routes


def scoped_listener(listener: listener_pb2.Listener, domain: str) -> listener_pb2.Listener:
    """A copy of ``listener`` whose ``*.<domain>`` chain routes by scope."""
    scoped = listener_pb2.Listener()
    scoped.CopyFrom(listener)
    star = f"*.{domain}"
    for chain in scoped.filter_chains:
        if star not in adapt.server_names(chain):
            continue
        manager = adapt.connection_manager(chain)
        manager.ClearField("route_specifier")
        manager.scoped_routes.CopyFrom(scoped_routes())
        adapt.set_connection_manager(chain, manager)
    return scoped
