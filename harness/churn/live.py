"""A live churn run: the control plane pushing to a real Envoy while changes stream in.

One run per (implementation, shape), each on a fresh Envoy (Envoy's memory grows across
updates, docs/envoy.md):

1. the stream is applied to the workload ahead of time (:mod:`.events`), every certificate
   any change will need is made, and the expected certificate of every host is known;
2. Envoy starts on loopback with those certificates as static SDS secrets; the control plane
   pushes the initial Ingress set, and the run waits until it is served;
3. the disruption loop starts probing hosts no change touches; the stream starts: each change
   reaches the control plane at its arrival time, Istio's debounce (:mod:`.debounce`) batches
   them, and every push runs the chosen control plane over the current Ingress set and hands
   the listener to Envoy (:mod:`.sink`); after each push the watcher (:mod:`.probes`) waits
   for its changes to show on the data plane;
4. after the last push the watcher gets a deadline for what is still pending; Envoy is
   stopped and its folder removed on every path, errors and Ctrl-C included.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from envoy.config.listener.v3 import listener_pb2
from kubernetes.client import V1Ingress, V1Secret

from gwbench.errors import InputError
from gwbench.harness.churn.controlplane import (
    ControlPlane,
    check_equal,
    make_control_plane,
)
from gwbench.harness.churn.debounce import (
    DebounceSettings,
    RealClock,
    drive,
)
from gwbench.harness.churn.events import (
    Event,
    IngressStore,
    Key,
    Touched,
    key_of,
    materialize,
    touched_by,
)
from gwbench.harness.churn.probes import DisruptionLoop, Seen, Target, Watcher
from gwbench.harness.churn.scoped_sink import ScopedSink
from gwbench.harness.churn.sink import AUTO, ConfigSink, FileSink, GrpcSink, transport_for
from gwbench.harness.churn.stream import Arrival
from gwbench.harness.churn.summary import SUPERSEDED, ChangeRecord, ChurnResult, PushRecord
from gwbench.harness.envoy import adapt
from gwbench.harness.envoy.bootstrap import CertificateKeyPair
from gwbench.harness.envoy.secrets import certificates, leaf_der
from gwbench.harness.envoy.session import LocalEnvoy
from gwbench.harness.hotpaths.ingress_update import active_listener
from gwbench.harness.progress import Notes, no_notes
from gwbench.heap import frozen_heap
from gwbench.workloads.churn import CertificateRotated, IngressAdded, IngressDeleted
from gwbench.workloads.envoy_config import wildcard_credential
from gwbench.workloads.envoyfilters import PatchSet
from gwbench.workloads.istio import credential_name, gateways_from_ingresses
from gwbench.workloads.model import Workload

SHAPES = ("per-host", "scoped")
"""Shapes a churn run can feed: the per-host listener Istio and Higress emit (what the
control-plane stages of ``ingress_update`` build), or that listener split into the scoped
shape (:mod:`.scoped_sink`; over ADS only)."""


@dataclass(frozen=True)
class LiveOptions:
    impl: str
    rate_per_min: float
    duration_s: float
    seed: int
    shape: str = "per-host"
    settings: DebounceSettings = field(default_factory=DebounceSettings)
    probe_sample: int = 20
    check: bool = False
    """Also run the full optimized translation after every push and require the listener to
    be equal (for ``incremental``; slows every push)."""
    binary: Path | None = None
    settle_s: float | None = None
    """How long to wait after the last push for changes still not seen; None: 30 s plus
    five times the longest push."""
    source: str | None = None
    """The replay file the arrivals came from (for error messages)."""
    transport: str = AUTO
    """``sotw``, ``delta``, ``files``, or ``auto`` (:data:`.sink.AUTO_TRANSPORT`)."""


@dataclass
class Prepared:
    """Everything a run needs that is computed before Envoy starts."""

    workload: Workload
    events: list[Event]
    patches: PatchSet
    pairs: dict[str, CertificateKeyPair]
    der: dict[str, bytes]
    host_credential: dict[str, str]
    """Host -> credential before the stream starts."""
    event_credential: dict[int, str] = field(default_factory=dict)
    """Event -> credential its host must serve afterwards (adds and rotations)."""
    stable: list[tuple[str, bytes]] = field(default_factory=list)
    last_host: str = ""


def _credential_map(listener: listener_pb2.Listener) -> dict[str, str]:
    out: dict[str, str] = {}
    for chain in listener.filter_chains:
        secret = adapt.secret_names(chain)[0]
        for name in adapt.server_names(chain):
            out.setdefault(name, secret)
    return out


def prepare(workload: Workload, arrivals: Sequence[Arrival], options: LiveOptions) -> Prepared:
    events = materialize(workload, arrivals, options.source)
    wire, patches = active_listener(workload)
    listener = listener_pb2.Listener.FromString(wire)
    host_credential = _credential_map(listener)
    all_secrets: dict[Key, V1Secret] = {key_of(s): s for s in workload.secrets}
    event_credential: dict[int, str] = {}
    for event in events:
        for secret in event.secrets:
            all_secrets[key_of(secret)] = secret
        known = list(all_secrets.values())
        if isinstance(event.change, IngressAdded | CertificateRotated) and event.upserts:
            sub = Workload(list(event.upserts), known, workload.spec, domain=workload.domain)
            by_host = {
                gw.servers[0].hosts[0]: server.tls.credential_name
                for gw in gateways_from_ingresses(sub)
                for server in gw.servers
                if server.tls is not None
            }
            host = event.hosts()[0]
            if host in by_host:
                event_credential[event.number] = by_host[host]
    credentials = {credential_name(*key) for key in all_secrets} | {wildcard_credential()}
    credentials |= set(host_credential.values()) | set(event_credential.values())
    everything = Workload([], list(all_secrets.values()), workload.spec, domain=workload.domain)
    pairs = certificates(everything, {c: () for c in credentials}, options.seed)
    der = {c: leaf_der(p) for c, p in pairs.items()}
    touched = {h for e in events for h in e.hosts()}
    touched_keys = {k for e in events for k in e.touched()}
    candidates = [
        host
        for ingress in workload.ingresses
        if key_of(ingress) not in touched_keys
        for host in _plain_hosts(ingress)
        if host not in touched and host in host_credential
    ]
    step = max(1, len(candidates) // max(1, options.probe_sample))
    stable = [(h, der[host_credential[h]]) for h in candidates[::step][: options.probe_sample]]
    chains = listener.filter_chains
    last_host = chains[-1].filter_chain_match.server_names[0] if chains else ""
    return Prepared(
        workload, events, patches, pairs, der, host_credential, event_credential, stable, last_host
    )


def _plain_hosts(ingress: V1Ingress) -> list[str]:
    rules = ingress.spec.rules if ingress.spec else None
    return [r.host for r in rules or [] if r.host and not r.host.startswith("*")]


def _targets(event: Event, arrival: float, prepared: Prepared) -> list[Target]:
    change = event.change
    if isinstance(change, IngressAdded | CertificateRotated):
        credential = prepared.event_credential.get(event.number)
        host = event.hosts()[0] if event.hosts() else ""
        if credential is None or not host:
            return []
        return [Target(event.number, host, arrival, "answers", prepared.der[credential])]
    if isinstance(change, IngressDeleted) and change.hosts:
        return [Target(event.number, change.hosts[0], arrival, "stops")]
    return []


def _sink(envoy: LocalEnvoy, shape: str, domain: str) -> FileSink | GrpcSink:
    """The transport's sink (each is a :class:`ConfigSink`)."""
    if shape == "scoped":
        if not envoy.over_ads:
            raise InputError("the scoped shape is served over ADS only", field="--transport")
        return ScopedSink(envoy, domain)
    sink: ConfigSink = GrpcSink(envoy) if envoy.over_ads else FileSink(envoy)
    assert isinstance(sink, FileSink | GrpcSink)
    return sink


def run_live(
    workload: Workload,
    arrivals: Sequence[Arrival],
    options: LiveOptions,
    progress: Notes = no_notes,
) -> ChurnResult:
    """One live run of ``options.impl`` on a fresh Envoy."""
    progress(f"{options.impl}: preparing {len(arrivals)} changes at N={len(workload):,}")
    prepared = prepare(workload, arrivals, options)
    plane = make_control_plane(options.impl, prepared.patches)
    reference: ControlPlane | None = None
    if options.check and options.impl != "optimized":
        reference = make_control_plane("optimized", prepared.patches)
    store = IngressStore(workload)
    events = prepared.events
    transport = transport_for(options.impl, options.transport)
    if options.shape == "scoped":
        if transport == "files":
            raise InputError("the scoped shape is served over ADS only", field="--transport")
        if options.transport == AUTO:
            transport = "delta"
    with (
        LocalEnvoy(prepared.pairs, binary=options.binary, transport=transport) as envoy,
        _sink(envoy, options.shape, workload.domain) as sink,
    ):
        progress(f"{options.impl}: initial push of {len(workload):,} Ingresses")
        first = plane.push(store, Touched())
        if reference is not None:
            check_equal(reference.push(store, Touched()), first, 0, options.impl)
        start = sink.deliver(first.parts)
        timeout = 60.0 + 0.005 * len(workload)
        for host, _ in [(prepared.last_host, b""), *prepared.stable]:
            if host:
                envoy.wait_for(host, start=start, timeout_s=timeout, what="initial load")
        initial_s = time.perf_counter() - start
        watcher = Watcher(envoy.port)
        disruption = DisruptionLoop(envoy.port, prepared.stable)
        pushes: list[PushRecord] = []
        carried: dict[int, tuple[int, float]] = {}
        pending_host: dict[str, int] = {}
        initial_bytes = sink.bytes_sent()
        with frozen_heap():
            watcher.start()
            disruption.start()
            origin = time.perf_counter()
            try:

                def push(number: int, batch: Sequence[Event]) -> None:
                    started = time.perf_counter()
                    store.apply(batch)
                    touched = touched_by(batch)
                    out = plane.push(store, touched)
                    pipeline = time.perf_counter() - started
                    if reference is not None:
                        check_equal(reference.push(store, touched), out, number, options.impl)
                    delivered = sink.deliver(out.parts)
                    sink.check()
                    for event in batch:
                        for target in _targets(event, origin + event.at, prepared):
                            # a host changed again before it showed: only the last change counts
                            earlier = pending_host.pop(target.host, None)
                            if earlier is not None:
                                watcher.drop(earlier, SUPERSEDED)
                            watcher.add([target], delivered)
                            pending_host[target.host] = target.event
                        carried[event.number] = (number, delivered - (origin + event.at))
                    finished = time.perf_counter()
                    listener_bytes = out.parts.byte_size()
                    pushes.append(
                        PushRecord(
                            number,
                            len(batch),
                            started - origin,
                            finished - started,
                            pipeline,
                            out.chains_built,
                            out.delta_bytes,
                            listener_bytes,
                        )
                    )
                    progress(
                        f"{options.impl}: push {number}: {len(batch)} change(s), "
                        f"{finished - started:.2f} s"
                    )

                drive(
                    events,
                    push,
                    RealClock(),
                    start=origin,
                    settings=options.settings,
                    index=lambda e: e.number,
                )
                longest = max((p.duration_s for p in pushes), default=0.0)
                settle = options.settle_s if options.settle_s is not None else 30.0 + 5 * longest
                watcher.finish(settle)
            finally:
                watcher.finish(0.0)
                result = disruption.finish()
        sink.check()
        version = envoy.version
        sent = sink.bytes_sent() - initial_bytes
        updates = tuple(u.applied - u.committed for u in sink.updates[1:])
    seen: dict[int, Seen] = {s.event: s for s in watcher.seen}
    records = []
    for event in events:
        push_number, delivered_s = carried.get(event.number, (None, None))
        got = seen.get(event.number)
        records.append(
            ChangeRecord(
                event.number,
                event.kind,
                event.target,
                event.at,
                push_number,
                delivered_s,
                got.latency_s if got is not None else None,
                got.last_error if got is not None and got.latency_s is None else "",
            )
        )
    return ChurnResult(
        impl=options.impl,
        shape=options.shape,
        ingresses=len(workload),
        rate_per_min=options.rate_per_min,
        duration_s=options.duration_s,
        seed=options.seed,
        mode="live",
        transport=transport,
        changes=tuple(records),
        pushes=tuple(pushes),
        disruption_requests=result.requests,
        disruption_errors=result.errors,
        disruption_examples=result.examples,
        envoy_updates_s=updates,
        envoy_version=version,
        bytes_sent=sent,
        notes=(f"initial load {initial_s:.2f} s",),
    )
