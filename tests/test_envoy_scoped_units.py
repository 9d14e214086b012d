"""GIVEN hosts of the scoped shape WHEN their scopes are built and handed to the control plane
THEN each scope carries a short name derived from its host (what Envoy copies on every SRDS
update), keyed by the exact host, and the name on the wire is the scope's own name, so a
removal by name reaches the scope Envoy holds."""

from __future__ import annotations

import string
from types import SimpleNamespace
from typing import Any

from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import scoped_route_pb2

from gwbench.harness.churn.controlplane import ListenerParts, parts_of
from gwbench.harness.churn.scoped_sink import ScopedSink
from gwbench.harness.envoy import adapt, scoped
from gwbench.harness.envoy.xds.server import ControlPlane
from gwbench.harness.envoy.xds.snapshot import SCOPED_ROUTE_TYPE
from gwbench.harness.hotpaths.ingress_update import active_listener
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec

BASE32 = set(string.ascii_lowercase + "234567")


def test_scope_names_are_short_stable_and_distinct() -> None:
    hosts = [f"app{i:06d}.cloud.example.com" for i in range(50_000)]
    names = [scoped.scope_name(h) for h in hosts]
    assert all(len(n) == scoped.SCOPE_NAME_CHARS <= 15 for n in names)
    assert all(set(n) <= BASE32 for n in names)
    assert len(set(names)) == len(hosts)
    assert scoped.scope_name(hosts[0]) == names[0]  # the same host, the same name


def test_a_scope_is_named_by_its_hash_and_keyed_by_its_host() -> None:
    host = "a-rather-long-application-name.cloud.example.com"
    vhost = adapt.direct_virtual_host(host)
    inline = scoped.scope(host, scoped.scope_routes(vhost))
    by_name = scoped.scope(host)
    for config in (inline, by_name):
        assert config.name == scoped.scope_name(host) != host
        assert [f.string_key for f in config.key.fragments] == [host]
    assert inline.route_configuration.virtual_hosts[0].domains[0] == host
    assert by_name.route_configuration_name == scoped.route_name(host)


def test_the_churn_sink_names_scopes_on_the_wire_as_envoy_does() -> None:
    workload = generate(WorkloadSpec(40, 3))
    wire, _ = active_listener(workload)
    parts = parts_of(listener_pb2.Listener.FromString(wire))
    with ControlPlane() as plane:
        envoy: Any = SimpleNamespace(plane=plane, transport="delta", port=15443)
        sink = ScopedSink(envoy, workload.domain)
        try:
            sink.deliver(parts)
            held = dict(plane.snapshot.view(SCOPED_ROUTE_TYPE).resources)
            _, hosts = sink.split(parts)
            assert set(held) == {scoped.scope_name(h) for h in hosts}
            for name, packed in held.items():
                config = scoped_route_pb2.ScopedRouteConfiguration()
                assert packed.resource.Unpack(config)
                assert config.name == name

            # one host fewer: its scope's name leaves the snapshot
            index = next(i for i, names in enumerate(parts.names) if names[0] in hosts)
            gone = parts.names[index][0]
            sink.deliver(
                ListenerParts(
                    parts.prefix,
                    parts.chains[:index] + parts.chains[index + 1 :],
                    parts.suffix,
                    parts.names[:index] + parts.names[index + 1 :],
                )
            )
            left = plane.snapshot.view(SCOPED_ROUTE_TYPE).resources
            assert scoped.scope_name(gone) not in left
            assert len(left) == len(held) - 1
        finally:
            sink.close()
