"""What one push computes: the port-443 gateway listener for the current Ingress set.

Three control planes, one interface (:class:`ControlPlane`):

- ``baseline`` and ``optimized``: istiod's full push, as the seed's users ran it. Every push
  runs the whole pipeline over every current Ingress: translate (Higress ``ConvertGateway``,
  Istio ``MergeGateways``), build the listener with the gateway lookups
  (``gateway_lookup``), apply the EnvoyFilter patches (``envoyfilter_patch``) and encode.
  The stage functions are those of the ``ingress_update`` hot path, imported from
  ``baselines/`` and ``optimized/``. Cost: baseline O(N^2) per push, optimized O(N).
- ``incremental``: translates only the Ingresses the batch touched (each Ingress's gateways
  are cached), rebuilds and patches only the filter chains whose inputs changed (cached by
  their inputs: server names, certificate, ALPN, route name, gateway), and encodes the
  listener by splicing the cached chain bytes into the listener frame. What crosses the wire
  in a delta push is only the changed chains and the names of removed ones
  (``delta_bytes``). Cost: O(changed) protobuf work plus O(N) list and dict passes.
  :func:`check_equal` holds it to the full translation: the listener bytes are equal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Protocol

from envoy.config.listener.v3 import listener_pb2
from kubernetes.client import V1Ingress

from gwbench.baselines import envoyfilter_patch as baseline_patch
from gwbench.baselines import gateway_lookup as baseline_lookup
from gwbench.errors import EquivalenceError
from gwbench.harness.churn.events import Key, key_of
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
    HTTPS_PORT,
    GatewayConfig,
    gateways_from_ingresses,
    merge_gateways,
    with_enable_h2_mix,
)
from gwbench.workloads.model import Workload

IMPLEMENTATIONS = ("baseline", "optimized", "incremental")
FILTER_CHAINS_TAG = b"\x1a"  # Listener.filter_chains: field 3, length-delimited

BuildListener = Callable[[GatewayListenerInputs, Counters], GatewayListenerBuild]
PatchListener = Callable[[EnvoyFilterInputs, Counters], PatchResult]


@dataclass(frozen=True)
class ListenerParts:
    """A listener as wire pieces: the fields before ``filter_chains``, each chain's bytes,
    and the fields after. Their concatenation (:meth:`wire`) is the deterministic encoding."""

    prefix: bytes
    chains: tuple[bytes, ...]
    suffix: bytes
    names: tuple[tuple[str, ...], ...]
    """Each chain's server names (what a delta resource would be named by)."""

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


class ControlPlane(Protocol):
    name: str

    def push(self, workload: Workload, touched: frozenset[Key]) -> PushOutput:
        """The listener for ``workload``; ``touched`` names the Ingresses changed since the
        previous push (a full control plane ignores it)."""
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
    return ListenerParts(prefix, chains, suffix, names)


class FullControlPlane:
    """istiod's full push with one implementation's stages."""

    def __init__(
        self, name: str, build: BuildListener, patch: PatchListener, patches: PatchSet
    ) -> None:
        self.name = name
        self._build = build
        self._patch = patch
        self._patches = patches

    def push(self, workload: Workload, touched: frozenset[Key]) -> PushOutput:
        null = NullCounters()
        t0 = perf_counter()
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
        return PushOutput(parts, len(parts.chains), wire_size, stages)


ChainKey = tuple[tuple[str, ...], str, tuple[str, ...], str, str]


@dataclass
class _Cache:
    gateways: dict[Key, list[GatewayConfig]] = field(default_factory=dict)
    chains: dict[ChainKey, bytes] = field(default_factory=dict)
    previous: dict[tuple[str, ...], bytes] = field(default_factory=dict)


class IncrementalControlPlane:
    """Translates only touched Ingresses; builds and patches only changed chains."""

    name = "incremental"

    def __init__(self, patches: PatchSet) -> None:
        self._patches = patches
        self._cache = _Cache()
        self._known: set[Key] = set()
        frame = optimized_patch.apply_listener_patches(
            EnvoyFilterInputs.in_place(build_listener([]), patches), NullCounters()
        ).listener
        self._prefix, self._suffix = frame_of(frame)

    def _gateways(self, workload: Workload, touched: frozenset[Key]) -> list[GatewayConfig]:
        """Every Ingress's gateways in Ingress order, the first Ingress winning a host
        (as ``gateways_from_ingresses`` does), translating only the Ingresses that are new,
        touched, or name a Secret that appeared or disappeared."""
        cache = self._cache.gateways
        live = {key_of(i): i for i in workload.ingresses}
        stale = set(touched)
        known = {key_of(s) for s in workload.secrets}
        if known != self._known:
            flipped = known ^ self._known
            stale.update(k for k, i in live.items() if _secret_keys(i) & flipped)
            self._known = known
        for key in [k for k in cache if k not in live or k in stale]:
            del cache[key]
        missing = [i for key, i in live.items() if key not in cache]
        if missing:
            self._translate(missing, workload)
        seen: set[str] = set()
        gateways: list[GatewayConfig] = []
        for key in live:
            for gateway in cache[key]:
                host = gateway.servers[0].hosts[0]
                if host not in seen:
                    seen.add(host)
                    gateways.append(gateway)
        return with_enable_h2_mix(gateways)

    def _translate(self, ingresses: list[V1Ingress], workload: Workload) -> None:
        """Cache each Ingress's own gateways: one translation call for the Ingresses whose
        hosts are unique among them, one call each for the rest (a host two of them share
        must be translated from each one's own rule)."""
        hosts = [_hosts(i) for i in ingresses]
        count = Counter(h for hs in hosts for h in hs)
        alone = [i for i, hs in zip(ingresses, hosts, strict=True) if any(count[h] > 1 for h in hs)]
        together = [i for i in ingresses if not any(i is a for a in alone)]
        for group in [together, *([i] for i in alone)]:
            if not group:
                continue
            sub = Workload(group, workload.secrets, workload.spec, domain=workload.domain)
            by_host = {gw.servers[0].hosts[0]: gw for gw in gateways_from_ingresses(sub)}
            for ingress in group:
                self._cache.gateways[key_of(ingress)] = [
                    by_host[h] for h in _hosts(ingress) if h in by_host
                ]

    def push(self, workload: Workload, touched: frozenset[Key]) -> PushOutput:
        t0 = perf_counter()
        gateways = self._gateways(workload, touched)
        merged = merge_gateways(gateways)
        by_name = {gw.key: gw for gw in gateways}
        t1 = perf_counter()
        keys: list[ChainKey] = []
        for server in merged.servers_by_port.get(HTTPS_PORT, []):
            if server.protocol != "HTTPS" or server.tls is None:
                continue
            gateway_key = merged.gateway_name_for_server[server]
            info = merged.tls_server_info[server]
            alpn = alpn_for(by_name.get(gateway_key))
            keys.append(
                (info.sni_hosts, server.tls.credential_name, alpn, info.route_name, gateway_key)
            )
        chains = self._cache.chains
        new = [k for k in dict.fromkeys(keys) if k not in chains]
        built = [build_filter_chain(*k) for k in new]
        t2 = perf_counter()
        if built:
            patched = optimized_patch.apply_listener_patches(
                EnvoyFilterInputs.in_place(build_listener(built), self._patches), NullCounters()
            ).listener
            for key, chain in zip(new, patched.filter_chains, strict=True):
                chains[key] = chain.SerializeToString(deterministic=True)
        t3 = perf_counter()
        wires = tuple(chains[k] for k in keys)
        names = tuple(k[0] for k in keys)
        current = dict(zip(names, wires, strict=True))
        previous = self._cache.previous
        delta = sum(len(w) for n, w in current.items() if previous.get(n) != w)
        delta += sum(len(",".join(n)) for n in previous if n not in current)
        self._cache.previous = current
        live = set(keys)
        for key in [k for k in chains if k not in live]:
            del chains[key]
        t4 = perf_counter()
        stages = (
            ("translate", t1 - t0),
            ("build", t2 - t1),
            ("envoyfilter_patch", t3 - t2),
            ("encode", t4 - t3),
        )
        parts = ListenerParts(self._prefix, wires, self._suffix, names)
        return PushOutput(parts, len(new), delta, stages)


def _hosts(ingress: V1Ingress) -> list[str]:
    """Distinct rule hosts in order, ``*`` for a rule without one (as the translation)."""
    rules = ingress.spec.rules if ingress.spec else None
    return list(dict.fromkeys(rule.host or "*" for rule in rules or []))


def _secret_keys(ingress: V1Ingress) -> set[Key]:
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
    if expected.parts.names != actual.parts.names:
        first = _first_difference(expected.parts.names, actual.parts.names)
        difference += f"; chain {first} differs in server names"
    elif expected.parts.chains != actual.parts.chains:
        first = _first_difference(expected.parts.chains, actual.parts.chains)
        difference += f"; chain {first} ({', '.join(expected.parts.names[first])}) differs"
    else:
        difference += "; the listener frame differs"
    raise EquivalenceError("churn", "optimized", impl, difference)
