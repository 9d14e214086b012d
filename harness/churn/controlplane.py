"""What one push computes: the port-443 gateway listener for the current Ingress set.

Three control planes, one interface (:class:`ControlPlane`):

- ``baseline`` and ``optimized``: istiod's full push, as the seed's users ran it. Every push
  runs the whole pipeline over every current Ingress: translate (Higress ``ConvertGateway``,
  Istio ``MergeGateways``), build the listener with the gateway lookups
  (``gateway_lookup``), apply the EnvoyFilter patches (``envoyfilter_patch``) and encode.
  The stage functions are those of the ``ingress_update`` hot path, imported from
  ``baselines/`` and ``optimized/``. Cost: baseline O(N^2) per push, optimized O(N).
- ``incremental``: translates only the Ingresses the batch touched (and those naming a
  Secret it touched), resolves only the hosts they claim or gave up (the first Ingress in
  store order wins a host), keys, builds and patches only those hosts' filter chains (a
  chain is rebuilt when its inputs changed: server names, certificate, ALPN, route name,
  gateway), and encodes the listener by joining the cached chain bytes in store order into
  the listener frame. What crosses the wire in a delta push is only the changed chains and
  the names of removed ones (``delta_bytes``). Cost: O(changed) (counted in
  :class:`PushWork`), plus one join of N cached chain references per push.
  :func:`check_equal` holds it to the full translation: the listener bytes are equal.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Protocol, TypeVar, overload

from envoy.config.listener.v3 import listener_pb2
from kubernetes.client import V1Ingress

from gwbench.baselines import envoyfilter_patch as baseline_patch
from gwbench.baselines import gateway_lookup as baseline_lookup
from gwbench.errors import EquivalenceError
from gwbench.harness.churn.events import IngressStore, Key, Touched, key_of
from gwbench.optimized import envoyfilter_patch as optimized_patch
from gwbench.optimized import gateway_lookup as optimized_lookup
from gwbench.workloads.counters import Counters, NullCounters
from gwbench.workloads.envoy_config import (
    GatewayListenerBuild,
    GatewayListenerInputs,
    alpn_for,
    build_filter_chain,
    build_listener,
)
from gwbench.workloads.envoyfilters import EnvoyFilterInputs, PatchResult, PatchSet
from gwbench.workloads.istio import (
    ENABLE_H2_ANNOTATION,
    HTTPS_PORT,
    GatewayConfig,
    gateways_from_ingresses,
    merge_gateways,
    route_name,
    with_enable_h2_mix,
    with_h2_mark,
)
from gwbench.workloads.model import Workload

IMPLEMENTATIONS = ("baseline", "optimized", "incremental")
FILTER_CHAINS_TAG = b"\x1a"  # Listener.filter_chains: field 3, length-delimited

BuildListener = Callable[[GatewayListenerInputs, Counters], GatewayListenerBuild]
PatchListener = Callable[[EnvoyFilterInputs, Counters], PatchResult]


@dataclass(frozen=True)
class ChainDelta:
    """The chains a push added and removed (their bytes), against the previous push of the
    same control plane."""

    added: tuple[bytes, ...]
    removed: tuple[bytes, ...]


@dataclass(frozen=True)
class ListenerParts:
    """A listener as wire pieces: the fields before ``filter_chains``, each chain's bytes,
    and the fields after. Their concatenation (:meth:`wire`) is the deterministic encoding."""

    prefix: bytes
    chains: Sequence[bytes]
    suffix: bytes
    names: Sequence[tuple[str, ...]]
    """Each chain's server names (what a delta resource would be named by)."""
    size: int = -1
    """Bytes of the prefix, the suffix and the chains (-1: not known: :meth:`byte_size`
    adds them up)."""
    delta: ChainDelta | None = None
    """What changed since the previous push, when the control plane knows (a consumer
    that kept the previous push's state can then skip the chains that did not change)."""

    def byte_size(self) -> int:
        if self.size >= 0:
            return self.size
        return len(self.prefix) + len(self.suffix) + sum(len(c) for c in self.chains)

    def wire(self) -> bytes:
        return b"".join([self.prefix, *(entry(c) for c in self.chains), self.suffix])

    def listener(self) -> listener_pb2.Listener:
        return listener_pb2.Listener.FromString(self.wire())


@dataclass(frozen=True)
class PushOutput:
    """What one push produced, and how much of it changed."""

    parts: ListenerParts
    chains_built: int
    """Filter chains built and patched by this push (all of them for a full push)."""
    delta_bytes: int
    """Bytes a delta push sends: the changed chains plus the removed chains' names (a full
    push: the whole listener)."""
    stage_seconds: tuple[tuple[str, float], ...]
    work: int
    """Units of work done: Ingresses, hosts and chains visited (a full push: every
    Ingress; an incremental one: :meth:`PushWork.total`)."""


class ControlPlane(Protocol):
    name: str

    def push(self, store: IngressStore, touched: Touched) -> PushOutput:
        """The listener for the store's current Ingresses; ``touched`` names what changed
        since the previous push (a full control plane ignores it)."""
        ...


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def entry(chain: bytes) -> bytes:
    return FILTER_CHAINS_TAG + _varint(len(chain)) + chain


def frame_of(listener: listener_pb2.Listener) -> tuple[bytes, bytes]:
    """(prefix, suffix): the listener's encoding without its chains, split where they go."""
    head = listener_pb2.Listener(name=listener.name, address=listener.address)
    rest = listener_pb2.Listener()
    rest.CopyFrom(listener)
    rest.ClearField("name")
    rest.ClearField("address")
    rest.ClearField("filter_chains")
    return head.SerializeToString(deterministic=True), rest.SerializeToString(deterministic=True)


def parts_of(listener: listener_pb2.Listener) -> ListenerParts:
    prefix, suffix = frame_of(listener)
    chains = tuple(c.SerializeToString(deterministic=True) for c in listener.filter_chains)
    names = tuple(tuple(c.filter_chain_match.server_names) for c in listener.filter_chains)
    size = len(prefix) + len(suffix) + sum(len(c) for c in chains)
    return ListenerParts(prefix, chains, suffix, names, size)


T = TypeVar("T")


class Joined(Sequence[T]):
    """The concatenation of a control plane's per-Ingress tuples, made on first use (a
    consumer that needs only the push's :class:`ChainDelta` never pays for it). Valid until
    that control plane's next push, which changes the tuples: a later first use raises."""

    def __init__(self, pieces: dict[Key, tuple[T, ...]], stamp: Callable[[], int]) -> None:
        self._pieces = pieces
        self._stamp = stamp
        self._made_at = stamp()
        self._joined: tuple[T, ...] | None = None

    def _items(self) -> tuple[T, ...]:
        if self._joined is None:
            if self._stamp() != self._made_at:
                raise RuntimeError("the listener of an earlier push, read after a later push")
            self._joined = tuple(itertools.chain.from_iterable(self._pieces.values()))
        return self._joined

    def __len__(self) -> int:
        return len(self._items())

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items()[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self._items())


class FullControlPlane:
    """istiod's full push with one implementation's stages."""

    def __init__(
        self, name: str, build: BuildListener, patch: PatchListener, patches: PatchSet
    ) -> None:
        self.name = name
        self._build = build
        self._patch = patch
        self._patches = patches

    def push(self, store: IngressStore, touched: Touched) -> PushOutput:
        null = NullCounters()
        t0 = perf_counter()
        workload = store.workload()
        gateways = with_enable_h2_mix(gateways_from_ingresses(workload))
        merged = merge_gateways(gateways)
        t1 = perf_counter()
        build = self._build(GatewayListenerInputs(tuple(gateways), merged), null)
        t2 = perf_counter()
        patched = self._patch(EnvoyFilterInputs.in_place(build.listener, self._patches), null)
        t3 = perf_counter()
        parts = parts_of(patched.listener)
        wire_size = len(parts.prefix) + len(parts.suffix) + sum(len(c) for c in parts.chains)
        t4 = perf_counter()
        stages = (
            ("translate", t1 - t0),
            ("gateway_lookup", t2 - t1),
            ("envoyfilter_patch", t3 - t2),
            ("encode", t4 - t3),
        )
        return PushOutput(parts, len(parts.chains), wire_size, stages, len(workload))


ChainKey = tuple[tuple[str, ...], str, tuple[str, ...], str, str]
"""What a chain is built from: server names, credential, ALPN, route name, gateway key."""


@dataclass
class PushWork:
    """What one incremental push did, counted (the tests bound it by the changes)."""

    translated: int = 0
    """Ingresses translated."""
    hosts: int = 0
    """Hosts whose winning Ingress and gateway were resolved again."""
    keyed: int = 0
    """Hosts whose chain inputs were derived again."""
    entries: int = 0
    """Ingresses whose list of chains was rebuilt."""

    def total(self) -> int:
        return self.translated + self.hosts + self.keyed + self.entries


@dataclass(frozen=True)
class _Chain:
    key: ChainKey
    wire: bytes


class IncrementalControlPlane:
    """Translates only touched Ingresses; builds and patches only changed chains; does no
    pass over every Ingress or every host (see :meth:`push`)."""

    name = "incremental"

    def __init__(self, patches: PatchSet) -> None:
        self._patches = patches
        frame = optimized_patch.apply_listener_patches(
            EnvoyFilterInputs.in_place(build_listener([]), patches), NullCounters()
        ).listener
        self._prefix, self._suffix = frame_of(frame)
        self._reset()
        self._pushes = 0
        self.work = PushWork()
        """What the last push did."""

    def _reset(self) -> None:
        self._translated: dict[Key, tuple[GatewayConfig, ...]] = {}
        """Ingress -> its own gateways (unmarked), one per distinct rule host, in rule order."""
        self._secrets_of: dict[Key, set[Key]] = {}
        self._by_secret: dict[Key, set[Key]] = {}
        """Secret -> the Ingresses whose TLS names it (their translation depends on it)."""
        self._claims: dict[str, dict[Key, GatewayConfig]] = {}
        """Host -> every Ingress translating it, with its gateway (the first one wins)."""
        self._owner: dict[str, Key] = {}
        self._gateway: dict[str, GatewayConfig] = {}
        """Host -> the winning Ingress's own gateway (unmarked)."""
        self._named: dict[str, set[str]] = {}
        """Gateway key (``ns/name``) -> hosts whose winning gateway has it (a clash when
        more than one: the lookup by name finds the later one)."""
        self._annotated = 0
        """Winning gateways whose own annotations set enable-h2 (no mix while > 0)."""
        self._mix = True
        self._chain: dict[str, _Chain] = {}
        self._size = 0
        """Bytes of every chain in :attr:`_chain`."""
        self._chains: dict[Key, tuple[bytes, ...]] = {}
        """Ingress -> the chains of the hosts it wins, in rule order; in store order."""
        self._names: dict[Key, tuple[tuple[str, ...], ...]] = {}
        self._placed: dict[Key, int] = {}
        """Ingress -> its store position when its entry was placed."""
        self._had_secrets = False

    # translation ---------------------------------------------------------------------------
    def _translate(self, ingress: V1Ingress, store: IngressStore) -> tuple[GatewayConfig, ...]:
        """The Ingress's own gateways, given only the Secrets it names (plus one other, so
        that "the input holds no Secret" keeps its meaning)."""
        named = _secret_keys(ingress)
        secrets = [store.secrets[k] for k in named if k in store.secrets]
        if not secrets and store.secrets:
            secrets = [next(iter(store.secrets.values()))]
        sub = Workload([ingress], secrets)
        return tuple(gateways_from_ingresses(sub))

    def _forget(self, key: Key, dirty: set[str]) -> None:
        for gateway in self._translated.pop(key, ()):
            host = gateway.servers[0].hosts[0]
            claims = self._claims[host]
            del claims[key]
            if not claims:
                del self._claims[host]
            dirty.add(host)
        for secret in self._secrets_of.pop(key, ()):
            users = self._by_secret[secret]
            users.discard(key)
            if not users:
                del self._by_secret[secret]

    def _learn(self, key: Key, store: IngressStore, dirty: set[str]) -> None:
        ingress = store.ingresses[key]
        gateways = self._translate(ingress, store)
        self._translated[key] = gateways
        for gateway in gateways:
            host = gateway.servers[0].hosts[0]
            self._claims.setdefault(host, {})[key] = gateway
            dirty.add(host)
        secrets = _secret_keys(ingress)
        self._secrets_of[key] = secrets
        for secret in secrets:
            self._by_secret.setdefault(secret, set()).add(key)

    # hosts ---------------------------------------------------------------------------------
    def _resolve(self, host: str, store: IngressStore, renamed: set[str]) -> set[Key]:
        """The host's winner again; returns the Ingresses whose entries may change."""
        claims = self._claims.get(host)
        old_owner = self._owner.pop(host, None)
        old = self._gateway.pop(host, None)
        if old is not None:
            self._annotated -= ENABLE_H2_ANNOTATION in old.annotations
            hosts = self._named[old.key]
            hosts.discard(host)
            if not hosts:
                del self._named[old.key]
            renamed.add(old.key)
        affected = {old_owner} if old_owner is not None else set()
        if claims:
            owner = min(claims, key=store.position.__getitem__)
            raw = claims[owner]
            self._owner[host] = owner
            self._annotated += ENABLE_H2_ANNOTATION in raw.annotations
            self._gateway[host] = raw
            self._named.setdefault(raw.key, set()).add(host)
            renamed.add(raw.key)
            affected.add(owner)
        return affected

    def _mixed(self, gateway: GatewayConfig) -> GatewayConfig:
        return with_h2_mark(gateway) if self._mix else gateway

    def _place(self, host: str, store: IngressStore) -> tuple[int, int]:
        """Where the host's gateway sits in the full pipeline's gateway list."""
        owner = self._owner[host]
        gateways = self._translated[owner]
        rank = next(i for i, g in enumerate(gateways) if g.servers[0].hosts[0] == host)
        return store.position[owner], rank

    def _key(self, host: str, store: IngressStore) -> ChainKey | None:
        gateway = self._mixed(self._gateway[host])
        server = next((s for s in gateway.servers if s.port == HTTPS_PORT), None)
        if server is None or server.protocol != "HTTPS" or server.tls is None:
            return None
        same_name = self._named[gateway.key]
        found = gateway
        if len(same_name) > 1:  # the lookup by name finds the later gateway of that name
            last = max(same_name, key=lambda h: self._place(h, store))
            found = self._mixed(self._gateway[last])
        return (
            server.hosts,
            server.tls.credential_name,
            alpn_for(found),
            route_name(server, gateway),
            gateway.key,
        )

    # the push ------------------------------------------------------------------------------
    def push(self, store: IngressStore, touched: Touched) -> PushOutput:
        """Work bounded by the batch: the touched Ingresses (and those naming a touched
        Secret) are translated, the hosts they claim or gave up are resolved, and only
        those hosts' chains are keyed and, when their inputs changed, built. The one pass
        over everything is joining the cached chain bytes into the listener's tuple.
        Everything is recomputed only on the first push and when the enable-h2 mix turns
        on or off (a gateway's own annotation appearing or disappearing), or the store's
        Secrets become empty or not (translation then takes every named Secret to exist)."""
        t0 = perf_counter()
        work = PushWork()
        has_secrets = bool(store.secrets)
        full = not self._placed or has_secrets != self._had_secrets
        if full:
            stale: set[Key] = set(store.ingresses)
            self._reset()
        else:
            stale = set(touched.ingresses)
            for secret in touched.secrets:
                stale.update(self._by_secret.get(secret, ()))
        self._had_secrets = has_secrets
        dirty: set[str] = set()
        for key in stale:
            self._forget(key, dirty)
            if key in self._placed and store.position.get(key) != self._placed[key]:
                del self._placed[key], self._chains[key], self._names[key]
        present = sorted((k for k in stale if k in store.ingresses), key=store.position.__getitem__)
        for key in present:
            self._learn(key, store, dirty)
            work.translated += 1
            if key not in self._placed:
                self._placed[key] = store.position[key]
                self._chains[key] = ()
                self._names[key] = ()
        affected: set[Key] = set()
        renamed: set[str] = set()
        for host in dirty:
            affected |= self._resolve(host, store, renamed)
            work.hosts += 1
        rekey = set(dirty)
        if (self._annotated == 0) != self._mix:
            self._mix = self._annotated == 0
            rekey = set(self._gateway) | set(self._chain)
        for name in renamed:
            rekey.update(self._named.get(name, ()))
        t1 = perf_counter()
        new: dict[str, ChainKey] = {}
        removed: list[str] = []
        came: list[bytes] = []
        gone: list[bytes] = []
        for host in rekey:
            work.keyed += 1
            chain_key = self._key(host, store) if host in self._gateway else None
            current = self._chain.get(host)
            if chain_key is None:
                if current is not None:
                    del self._chain[host]
                    removed.append(host)
                    gone.append(current.wire)
                    self._size -= len(current.wire)
            elif current is None or current.key != chain_key:
                new[host] = chain_key
            if host in self._owner:
                affected.add(self._owner[host])
        built = [build_filter_chain(*k) for k in new.values()]
        t2 = perf_counter()
        delta = 0
        if built:
            patched = optimized_patch.apply_listener_patches(
                EnvoyFilterInputs.in_place(build_listener(built), self._patches), NullCounters()
            ).listener
            for (host, chain_key), message in zip(new.items(), patched.filter_chains, strict=True):
                wire = message.SerializeToString(deterministic=True)
                old = self._chain.get(host)
                if old is None or old.wire != wire:
                    delta += len(wire)
                    came.append(wire)
                    self._size += len(wire)
                    if old is not None:
                        gone.append(old.wire)
                        self._size -= len(old.wire)
                self._chain[host] = _Chain(chain_key, wire)
        delta += sum(len(h) for h in removed)
        t3 = perf_counter()
        for owner in affected:
            if owner not in self._placed:
                continue
            work.entries += 1
            hosts = tuple(
                h
                for g in self._translated.get(owner, ())
                if self._owner.get(h := g.servers[0].hosts[0]) == owner and h in self._chain
            )
            self._chains[owner] = tuple(self._chain[h].wire for h in hosts)
            self._names[owner] = tuple(self._chain[h].key[0] for h in hosts)
        self._pushes += 1
        wires = Joined(self._chains, self._stamp)
        names = Joined(self._names, self._stamp)
        size = len(self._prefix) + len(self._suffix) + self._size
        changes = None if full else ChainDelta(tuple(came), tuple(gone))
        t4 = perf_counter()
        self.work = work
        stages = (
            ("translate", t1 - t0),
            ("build", t2 - t1),
            ("envoyfilter_patch", t3 - t2),
            ("encode", t4 - t3),
        )
        parts = ListenerParts(self._prefix, wires, self._suffix, names, size, changes)
        return PushOutput(parts, len(built), delta, stages, work.total())

    def _stamp(self) -> int:
        return self._pushes


def _secret_keys(ingress: V1Ingress) -> set[Key]:
    """The Secrets the Ingress's TLS entries name."""
    namespace = key_of(ingress)[0]
    tls = ingress.spec.tls if ingress.spec else None
    return {(namespace, t.secret_name) for t in tls or [] if t.secret_name}


def make_control_plane(name: str, patches: PatchSet) -> ControlPlane:
    if name == "baseline":
        return FullControlPlane(
            name,
            baseline_lookup.build_gateway_listener,
            baseline_patch.apply_listener_patches,
            patches,
        )
    if name == "optimized":
        return FullControlPlane(
            name,
            optimized_lookup.build_gateway_listener,
            optimized_patch.apply_listener_patches,
            patches,
        )
    if name == "incremental":
        return IncrementalControlPlane(patches)
    raise ValueError(f"unknown control plane {name!r}; known: {', '.join(IMPLEMENTATIONS)}")


def _first_difference(a: tuple[object, ...], b: tuple[object, ...]) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def check_equal(expected: PushOutput, actual: PushOutput, push: int, impl: str) -> None:
    """Raise :class:`EquivalenceError` unless both pushes leave Envoy the same listener."""
    want, got = expected.parts.wire(), actual.parts.wire()
    if want == got:
        return
    difference = f"push {push}: listener of {len(got)} bytes, expected {len(want)}"
    names, chains = tuple(expected.parts.names), tuple(expected.parts.chains)
    if names != tuple(actual.parts.names):
        first = _first_difference(names, tuple(actual.parts.names))
        difference += f"; chain {first} differs in server names"
    elif chains != tuple(actual.parts.chains):
        first = _first_difference(chains, tuple(actual.parts.chains))
        difference += f"; chain {first} ({', '.join(names[first])}) differs"
    else:
        difference += "; the listener frame differs"
    raise EquivalenceError("churn", "optimized", impl, difference)
