"""GIVEN the per-host listener a control plane built WHEN the scoped sink splits it THEN every
App Launchpad host becomes one scope, custom domains stay chains beside one ``*.<domain>``
chain that routes by scope, a chain for ``*.<domain>`` itself is replaced, and a push that
adds one host changes one scope and leaves the listener's bytes alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from envoy.config.listener.v3 import listener_pb2

from gwbench.harness.churn.controlplane import ListenerParts, parts_of
from gwbench.harness.churn.scoped_sink import ScopedSink
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
