"""The ``scoped`` shape for churn: scoped routes keyed by host, over ADS.

The layout is :mod:`gwbench.harness.envoy.scoped`'s (Higress ``enableSRDS``): one
``*.<domain>`` chain carries every App Launchpad host (the wildcard certificate) and routes
by scope; each such host is one scope (``ScopedRouteConfiguration``, its route
configuration inline); custom domains keep a chain each with their own certificate and
routes. A push is split from the per-host listener the control plane built:

- a chain serving only one-label subdomains of the domain with the wildcard certificate
  becomes its hosts' scopes;
- a chain serving ``*.<domain>`` itself (an Ingress for the wildcard host) is replaced by
  the ``*.<domain>`` chain: hosts only that Ingress served get no scope, as in the scoped
  shape of ``gwbench envoy``;
- every other chain stays in the listener, beside the ``*.<domain>`` chain.

Only what changed is handed to the control plane: the scopes added and removed, and the
listener only when its bytes changed (a custom domain added, removed or re-certified). Over
delta xDS an added subdomain costs one scope on the wire, whatever N is. When the control
plane says which chains its push added and removed (the incremental one does:
:class:`~gwbench.harness.churn.controlplane.ChainDelta`), only those are split: the sink's
work per push is then bounded by the changes too.
"""

from __future__ import annotations

import time

from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from google.protobuf import any_pb2
from google.protobuf.message import Message

from gwbench.harness.churn.controlplane import ChainDelta, ListenerParts
from gwbench.harness.churn.sink import GrpcSink, without_wasm
from gwbench.harness.envoy import adapt, scoped
from gwbench.harness.envoy.session import LocalEnvoy
from gwbench.harness.envoy.xds.server import Change
from gwbench.harness.envoy.xds.snapshot import LISTENER_TYPE, SCOPED_ROUTE_TYPE, pack
from gwbench.workloads.envoy_config import wildcard_credential


class ScopedSink(GrpcSink):
    """A :class:`GrpcSink` feeding the scoped shape (see the module)."""

    def __init__(self, envoy: LocalEnvoy, domain: str) -> None:
        super().__init__(envoy)
        self.domain = domain
        self._suffix = "." + domain
        self._credential = wildcard_credential()
        self._hosts_of: dict[bytes, tuple[str, ...] | None] = {}
        """Chain bytes -> :meth:`_subdomains`."""
        self._star: bytes | None = None
        self._scopes: set[str] = set()
        self._listener: bytes | None = None
        self._kept: dict[bytes, None] = {}
        """The chains that stay chains, in order."""

    def _subdomains(self, chain: bytes) -> tuple[str, ...] | None:
        """The subdomains ``chain`` serves, () for a chain the ``*.<domain>`` chain replaces
        (one serving that wildcard name itself), None for a chain that stays a chain."""
        if chain in self._hosts_of:
            return self._hosts_of[chain]
        message = listener_components_pb2.FilterChain.FromString(chain)
        names = adapt.server_names(message)
        known: tuple[str, ...] | None = None
        if f"*.{self.domain}" in names:
            known = ()
        elif adapt.secret_names(message) == [self._credential] and self._plain(names):
            known = tuple(names)
            if self._star is None:
                self._star = self._star_chain(message)
        self._hosts_of[chain] = known
        return known

    def _plain(self, names: list[str]) -> bool:
        """Only one-label subdomains of the domain (what one scope each can serve)."""
        suffix = self._suffix
        return bool(names) and all(
            n.endswith(suffix) and "." not in n[: -len(suffix)] and "*" not in n for n in names
        )

    def _star_chain(self, template: listener_components_pb2.FilterChain) -> bytes:
        """The ``*.<domain>`` chain: a subdomain chain serving the wildcard name, scoped."""
        star = f"*.{self.domain}"
        chain = listener_components_pb2.FilterChain()
        chain.CopyFrom(template)
        del chain.filter_chain_match.server_names[:]
        chain.filter_chain_match.server_names.append(star)
        local = adapt.localize_chain(chain, ads_routes=())
        without_wasm(local)
        holder = listener_pb2.Listener()
        holder.filter_chains.append(local)
        scoped_chain = scoped.scoped_listener(holder, self.domain).filter_chains[0]
        return bytes(scoped_chain.SerializeToString(deterministic=True))

    def _localized(self, parts: ListenerParts) -> bytes:
        """The listener: the kept chains, then the ``*.<domain>`` chain."""
        star = (self._star,) if self._star is not None else ()
        kept = ListenerParts(parts.prefix, tuple(self._kept), parts.suffix, ())
        return self._localizer.localize(kept, star)

    def split(self, parts: ListenerParts) -> tuple[bytes, dict[str, bytes]]:
        """(listener wire bytes, host -> scope) of the scoped shape for ``parts``."""
        kept: list[bytes] = []
        hosts: list[str] = []
        for chain in parts.chains:
            subdomains = self._subdomains(chain)
            if subdomains is None:
                kept.append(chain)
            else:
                hosts.extend(subdomains)
        self._kept = dict.fromkeys(kept)
        return self._localized(parts), {h: b"" for h in dict.fromkeys(hosts)}

    def _apply_delta(
        self, parts: ListenerParts, delta: ChainDelta
    ) -> tuple[bytes, list[str], list[str]]:
        """(listener, scopes added, scopes removed) from the chains the push changed alone."""
        star = self._star
        listener_changed = False
        gone: list[str] = []
        came: list[str] = []
        for chain in delta.removed:
            subdomains = self._subdomains(chain)
            self._hosts_of.pop(chain, None)
            if subdomains is None:
                listener_changed |= self._kept.pop(chain, 0) is None
            else:
                gone.extend(subdomains)
        for chain in delta.added:
            subdomains = self._subdomains(chain)
            if subdomains is None:
                self._kept[chain] = None
                listener_changed = True
            else:
                came.extend(subdomains)
        listener_changed |= self._star is not star
        listener = self._localized(parts) if listener_changed else self._listener
        assert listener is not None
        staying = set(came)
        added = [h for h in dict.fromkeys(came) if h not in self._scopes]
        removed = [h for h in dict.fromkeys(gone) if h not in staying and h in self._scopes]
        return listener, added, removed

    def advance(self, parts: ListenerParts) -> tuple[bytes | None, list[str], list[str]]:
        """Take ``parts`` as the control plane's latest push: (the listener if its bytes
        changed, else None; scopes added; scopes removed). From the push's
        :class:`ChainDelta` when it has one and an earlier push was taken, else by splitting
        every chain."""
        if parts.delta is not None and self._listener is not None:
            listener, added, removed = self._apply_delta(parts, parts.delta)
        else:
            listener, hosts = self.split(parts)
            added = [h for h in hosts if h not in self._scopes]
            removed = [h for h in self._scopes if h not in hosts]
        self._scopes.update(added)
        self._scopes.difference_update(removed)
        changed = listener if listener != self._listener else None
        self._listener = listener
        return changed, added, removed

    def deliver(self, parts: ListenerParts) -> float:
        listener, added, removed = self.advance(parts)
        upsert: dict[str, Message | any_pb2.Any] = {
            scoped.scope_name(h): pack(
                scoped.scope(h, scoped.scope_routes(adapt.direct_virtual_host(h)))
            )
            for h in added
        }
        changes: list[Change] = []
        if upsert or removed:
            gone = tuple(scoped.scope_name(h) for h in removed)
            changes.append(Change(SCOPED_ROUTE_TYPE, upsert, gone))
        if listener is not None:
            name = self._listener_name(listener)
            changes.append(
                Change(LISTENER_TYPE, {name: any_pb2.Any(type_url=LISTENER_TYPE, value=listener)})
            )
        with self._cond:
            self._raise_error()
        handed = time.perf_counter()
        if not changes:
            return handed
        versions = self.plane.apply(changes)
        watched = SCOPED_ROUTE_TYPE if SCOPED_ROUTE_TYPE in versions else LISTENER_TYPE
        with self._cond:
            self._latest = (watched, versions[watched], handed)
            self._cond.notify_all()
        return handed
