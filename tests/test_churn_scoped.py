"""GIVEN the per-host listener a control plane built WHEN the scoped sink splits it THEN every
App Launchpad host becomes one scope, custom domains stay chains beside one ``*.<domain>``
chain that routes by scope, a chain for ``*.<domain>`` itself is replaced, and a push that
adds one host changes one scope and leaves the listener's bytes alone."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from envoy.config.listener.v3 import listener_pb2

from gwbench.harness.churn.controlplane import IncrementalControlPlane, ListenerParts, parts_of
from gwbench.harness.churn.events import IngressStore, Touched, materialize, touched_by
from gwbench.harness.churn.scoped_sink import ScopedSink
from gwbench.harness.churn.stream import KINDS, poisson_stream
from gwbench.harness.envoy import adapt
from gwbench.harness.hotpaths.ingress_update import active_listener
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec


def sink(domain: str) -> ScopedSink:
    envoy: Any = SimpleNamespace(plane=object(), transport="delta", port=15443)
    return ScopedSink(envoy, domain)


def test_the_listener_splits_into_scopes_and_the_remaining_chains() -> None:
    workload = generate(WorkloadSpec(60, 2))
    wire, _ = active_listener(workload)
    parts = parts_of(listener_pb2.Listener.FromString(wire))
    star = f"*.{workload.domain}"
    under = sink(workload.domain)
    try:
        listener_wire, hosts = under.split(parts)
        listener = listener_pb2.Listener.FromString(listener_wire)
        chain_names = [adapt.server_names(c) for c in listener.filter_chains]
        assert [star] in chain_names
        assert hosts and all(h.endswith("." + workload.domain) for h in hosts)
        # no host is both a scope and a chain; the star chain routes by scope
        assert not set(hosts) & {n for names in chain_names for n in names}
        star_chain = next(c for c in listener.filter_chains if star in adapt.server_names(c))
        assert adapt.connection_manager(star_chain).WhichOneof("route_specifier") == "scoped_routes"

        # one host fewer: one scope fewer, the same listener bytes
        index = next(i for i, names in enumerate(parts.names) if names[0] in hosts)
        fewer = ListenerParts(
            parts.prefix,
            parts.chains[:index] + parts.chains[index + 1 :],
            parts.suffix,
            parts.names[:index] + parts.names[index + 1 :],
        )
        again, fewer_hosts = under.split(fewer)
        assert again == listener_wire
        assert set(hosts) - set(fewer_hosts) == set(parts.names[index])

        # a chain serving *.<domain> itself gives way to the scoped star chain
        extra = listener_pb2.Listener.FromString(wire).filter_chains[index]
        del extra.filter_chain_match.server_names[:]
        extra.filter_chain_match.server_names.append(star)
        chains = (*parts.chains, extra.SerializeToString(deterministic=True))
        with_star, _ = under.split(ListenerParts(parts.prefix, chains, parts.suffix, ()))
        assert with_star == listener_wire
    finally:
        under.close()


def _chain_set(listener: bytes) -> set[bytes]:
    return {
        c.SerializeToString(deterministic=True)
        for c in listener_pb2.Listener.FromString(listener).filter_chains
    }


def test_the_chains_a_push_changed_give_what_a_split_of_every_chain_gives() -> None:
    # GIVEN the incremental control plane's pushes over a stream of every kind of change,
    # taken by one sink from each push's delta and by another by splitting every chain
    workload = generate(WorkloadSpec(120, 6))
    _, patches = active_listener(workload)
    events = materialize(workload, poisson_stream(600, 3, 6, dict.fromkeys(KINDS, 1.0)))
    store = IngressStore(workload)
    plane = IncrementalControlPlane(patches)
    by_delta, by_split = sink(workload.domain), sink(workload.domain)
    first = plane.push(store, Touched())
    listener, _, _ = by_delta.advance(first.parts)
    assert listener is not None and by_split.advance(first.parts)[0] == listener
    delta_listener = split_listener = listener
    try:
        for event in events:
            store.apply([event])
            out = plane.push(store, touched_by([event]))
            assert out.parts.delta is not None
            # WHEN each sink takes the push
            changed, added, removed = by_delta.advance(out.parts)
            split_changed, split_added, split_removed = by_split.advance(
                replace(out.parts, delta=None)
            )
            # THEN the same scopes come and go, and the listener changes on the same pushes
            # into the same chains (a re-certified chain may sit elsewhere in the list)
            assert (set(added), set(removed)) == (set(split_added), set(split_removed))
            assert (changed is None) == (split_changed is None), event.kind
            delta_listener = changed or delta_listener
            split_listener = split_changed or split_listener
            assert _chain_set(delta_listener) == _chain_set(split_listener)
    finally:
        by_delta.close()
        by_split.close()
