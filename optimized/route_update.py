"""An RDS update of one route configuration as Envoy 1.40 applies it, with upstream's
deterministic hash: what a new host costs Envoy in the wildcard shape, where the listener
does not change and the new host is one more virtual host in the route configuration.

Follows envoyproxy/envoy, read in the source:

- ``source/common/rds/rds_route_config_subscription.cc``,
  ``RdsRouteConfigSubscription::onConfigUpdate``: one RouteConfiguration per response (state
  of the world: the whole configuration, every virtual host), decoded from its ``Any``; its
  name checked; then ``config_update_info_->onRdsUpdate(route_config, version_info)``, and
  only when that returns true the provider is updated (the new config handed to the
  workers).
- ``source/common/router/route_config_update_receiver_impl.cc``,
  ``RouteConfigUpdateReceiverImpl::onRdsUpdate`` (the HTTP router's receiver):
  ``base_.getHash(rc)``, which is ``MessageUtil::hash`` of the whole RouteConfiguration (the
  deterministic proto hash in 1.40, :class:`optimized.filterchain_hash.DeterministicHasher`:
  every virtual host, route and Any visited); ``base_.checkHash``: equal to the last hash,
  the update is a no-op; else a copy of the message (``CheckTypeAndMergeFrom``), the VHDS
  hash only when ``vhds`` is set, and ``base_.updateConfig``.
- ``source/common/rds/route_config_update_receiver_impl.cc``,
  ``RouteConfigUpdateReceiverImpl::updateConfig``: ``config_traits_.createConfig``, i.e.
  ``Router::ConfigImpl::create`` over the copy, then the new config and its hash stored.
- ``source/common/router/config_impl.cc``: ``ConfigImpl::ConfigImpl`` builds
  ``CommonConfigImpl`` and ``RouteMatcher``; ``RouteMatcher::RouteMatcher`` builds a
  ``VirtualHostImpl`` for *every* virtual host (``CommonVirtualHostImpl``: its stat name,
  header parsers, policies; then ``RouteCreator::createAndValidateRoute`` for every route:
  a ``PathRouteEntryImpl`` or ``PrefixRouteEntryImpl``, with its action: cluster and timeout,
  or a direct response and its body), and for every domain lower-cases it and inserts it
  into the exact map (``virtual_hosts_``), the suffix- or prefix-wildcard map of its length,
  or as the default virtual host, refusing a duplicate ("Only unique values for domains are
  permitted").

So adding one host to a route configuration of N virtual hosts costs a hash over all N, a
copy of all N, and a route table rebuilt from all N: O(N) per update, nothing reused from the
previous table. What is not modelled: the decoder's PGV validation of the message, the
hand-over to the worker threads (``runOnAllThreads``, O(1) per worker), and destroying the
previous table (released outside the timed update, as :mod:`optimized.listener_update`
releases the previous listener).

Counters: ``route_config_hashes`` (whole-configuration hashes), ``messages_hashed``,
``any_unpacks``, ``virtual_hosts_built``, ``routes_built``, ``domains_indexed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envoy.config.route.v3 import route_pb2

from gwbench.optimized.filterchain_hash import DeterministicHasher
from gwbench.workloads.counters import Counters
from gwbench.workloads.protohash import Message

RouteDecision = Literal["added", "no-op", "rebuilt"]


class DuplicateDomain(ValueError):
    """``RouteMatcher``'s refusal: a domain named by two virtual hosts."""


class RouteEntry:
    """One ``PathRouteEntryImpl`` / ``PrefixRouteEntryImpl``: what its constructor reads."""

    __slots__ = ("action", "match", "name", "value")

    def __init__(self, route: Message) -> None:
        match = route.match
        kind = match.WhichOneof("path_specifier")
        if kind is None:
            raise ValueError("Invalid route config")  # createAndValidateRoute's refusal
        self.match = kind
        self.name: str = route.name
        self.value: str = getattr(match, kind) if kind in ("path", "prefix") else ""
        action = route.WhichOneof("action")
        if action == "direct_response":
            response = route.direct_response
            self.action: tuple[object, ...] = (
                action,
                response.status,
                response.body.inline_string,
            )
        elif action == "route":
            target = route.route
            self.action = (action, target.cluster, target.timeout.ToNanoseconds())
        else:
            self.action = (action or "",)


class VirtualHostImpl:
    """One ``VirtualHostImpl`` (with its ``CommonVirtualHostImpl``): name, TLS requirement
    and every route built."""

    __slots__ = ("name", "require_tls", "routes")

    def __init__(self, vhost: Message, counters: Counters) -> None:
        self.name: str = vhost.name
        self.require_tls: int = vhost.require_tls
        self.routes = tuple(RouteEntry(r) for r in vhost.routes)
        counters.add("routes_built", len(self.routes))


@dataclass(frozen=True)
class RouteTable:
    """``Router::ConfigImpl``: the ``RouteMatcher``'s maps from domain to virtual host."""

    name: str
    exact: dict[str, VirtualHostImpl]
    suffixes: dict[int, dict[str, VirtualHostImpl]]
    """``wildcard_virtual_host_suffixes_``: ``*.example.com`` under its length, without ``*``."""
    prefixes: dict[int, dict[str, VirtualHostImpl]]
    default: VirtualHostImpl | None
    virtual_hosts: int

    def find(self, host: str) -> VirtualHostImpl | None:
        """``RouteMatcher::findVirtualHost``: exact, longest suffix, longest prefix, default."""
        host = host.lower()
        found = self.exact.get(host)
        if found is not None:
            return found
        for length in sorted(self.suffixes, reverse=True):
            if length < len(host):
                found = self.suffixes[length].get(host[len(host) - length :])
                if found is not None:
                    return found
        for length in sorted(self.prefixes, reverse=True):
            if length < len(host):
                found = self.prefixes[length].get(host[:length])
                if found is not None:
                    return found
        return self.default


@dataclass(frozen=True)
class RouteState:
    """What the receiver keeps between two RDS updates: the last hash, the proto, the table."""

    hash: int
    config: route_pb2.RouteConfiguration
    table: RouteTable


@dataclass(frozen=True)
class RouteUpdateResult:
    decision: RouteDecision
    virtual_hosts: int


def build_table(config: route_pb2.RouteConfiguration, counters: Counters) -> RouteTable:
    """``ConfigImpl::ConfigImpl`` / ``RouteMatcher::RouteMatcher`` over ``config``."""
    exact: dict[str, VirtualHostImpl] = {}
    suffixes: dict[int, dict[str, VirtualHostImpl]] = {}
    prefixes: dict[int, dict[str, VirtualHostImpl]] = {}
    default: VirtualHostImpl | None = None
    indexed = 0
    for vhost in config.virtual_hosts:
        impl = VirtualHostImpl(vhost, counters)
        for name in vhost.domains:
            domain = name.lower()
            indexed += 1
            if domain == "*":
                if default is not None:
                    raise DuplicateDomain(
                        f"Only a single wildcard domain is permitted in route {config.name}"
                    )
                default = impl
                continue
            if domain.startswith("*"):
                table, key = suffixes.setdefault(len(domain) - 1, {}), domain[1:]
            elif domain.endswith("*"):
                table, key = prefixes.setdefault(len(domain) - 1, {}), domain[:-1]
            else:
                table, key = exact, domain
            if key in table:
                raise DuplicateDomain(
                    "Only unique values for domains are permitted. Duplicate entry of domain "
                    f"{domain} in route {config.name}"
                )
            table[key] = impl
    counters.add("virtual_hosts_built", len(config.virtual_hosts))
    counters.add("domains_indexed", indexed)
    return RouteTable(config.name, exact, suffixes, prefixes, default, len(config.virtual_hosts))


def apply_route_update(
    old: RouteState | None, data: bytes, counters: Counters
) -> tuple[RouteUpdateResult, RouteState]:
    """One RDS update: ``data`` is the new RouteConfiguration's wire bytes (the resource of
    the DiscoveryResponse), ``old`` the receiver's state (None before the first). Returns the
    outcome and the state afterwards (``old`` itself after a no-op). ``old`` is only read.
    Raises :class:`DuplicateDomain` when Envoy would reject the configuration."""
    received = route_pb2.RouteConfiguration.FromString(data)
    hasher = DeterministicHasher()
    new_hash = hasher(received)  # MessageUtil::hash(rc)
    counters.add("route_config_hashes", 1)
    counters.add("messages_hashed", hasher.messages)
    counters.add("any_unpacks", hasher.any_unpacks)
    if old is not None and old.hash == new_hash:  # checkHash: nothing changed
        return RouteUpdateResult("no-op", len(received.virtual_hosts)), old
    copy = route_pb2.RouteConfiguration()
    copy.CopyFrom(received)  # new_route_config->CheckTypeAndMergeFrom(rc)
    if copy.HasField("vhds"):
        counters.add("route_config_hashes", 1)
        hasher(copy.vhds)
    table = build_table(copy, counters)
    decision: RouteDecision = "added" if old is None else "rebuilt"
    return RouteUpdateResult(decision, table.virtual_hosts), RouteState(new_hash, copy, table)


def initial_route_state(data: bytes, counters: Counters) -> RouteState:
    """The receiver's state after the first RDS update with ``data``."""
    return apply_route_update(None, data, counters)[1]
