"""The RDS update model (optimized/route_update.py): Envoy 1.40's onRdsUpdate.

GIVEN a route configuration of N virtual hosts WHEN one more is added THEN the whole
configuration is hashed once, copied and rebuilt (every virtual host, route and domain), the
new host is found by the route table, an unchanged configuration is a no-op, and a
duplicate domain is refused as Envoy refuses it."""

from __future__ import annotations

import pytest
from envoy.config.route.v3 import route_components_pb2, route_pb2

from gwbench.optimized.route_update import (
    DuplicateDomain,
    apply_route_update,
    build_table,
    initial_route_state,
)
from gwbench.workloads.counters import Counters


def vhost(domain: str) -> route_components_pb2.VirtualHost:
    v = route_components_pb2.VirtualHost(name=domain + ":443", domains=[domain])
    probe = v.routes.add()
    probe.match.path = "/"
    probe.direct_response.status = 200
    probe.direct_response.body.inline_string = domain
    backend = v.routes.add()
    backend.match.prefix = "/"
    backend.route.cluster = "outbound|80||" + domain
    return v


def config(n: int) -> route_pb2.RouteConfiguration:
    rc = route_pb2.RouteConfiguration(name="https.443.wildcard.0")
    rc.virtual_hosts.extend(vhost(f"h{i}.example.com") for i in range(n))
    return rc


@pytest.mark.parametrize("n", [10, 40])
def test_adding_one_host_rebuilds_every_virtual_host(n: int) -> None:
    rc = config(n)
    state = initial_route_state(rc.SerializeToString(), Counters())
    rc.virtual_hosts.append(vhost("new.example.com"))
    counters = Counters()
    result, after = apply_route_update(state, rc.SerializeToString(), counters)
    assert result.decision == "rebuilt" and result.virtual_hosts == n + 1
    assert counters.get("route_config_hashes") == 1
    assert counters.get("virtual_hosts_built") == n + 1
    assert counters.get("routes_built") == 2 * (n + 1)
    assert counters.get("domains_indexed") == n + 1
    found = after.table.find("NEW.example.com")
    assert found is not None and found.name == "new.example.com:443"
    assert found.routes[0].action == ("direct_response", 200, "new.example.com")
    assert state.table.find("new.example.com") is None  # the old state was not changed


def test_the_same_configuration_again_is_a_no_op_after_one_hash() -> None:
    data = config(5).SerializeToString()
    state = initial_route_state(data, Counters())
    counters = Counters()
    result, after = apply_route_update(state, data, counters)
    assert result.decision == "no-op" and after is state
    assert counters.get("route_config_hashes") == 1
    assert counters.get("virtual_hosts_built") == 0


def test_a_change_inside_one_route_is_seen_by_the_hash() -> None:
    rc = config(5)
    state = initial_route_state(rc.SerializeToString(), Counters())
    rc.virtual_hosts[3].routes[1].route.cluster = "outbound|81||other"
    result, _ = apply_route_update(state, rc.SerializeToString(), Counters())
    assert result.decision == "rebuilt"


def test_wildcards_and_the_default_host_are_indexed_as_envoy_does() -> None:
    rc = config(2)
    rc.virtual_hosts.append(vhost("*.example.com"))
    rc.virtual_hosts.append(vhost("api.*"))
    rc.virtual_hosts.append(vhost("*"))
    table = build_table(rc, Counters())
    assert table.find("h1.example.com").name == "h1.example.com:443"  # type: ignore[union-attr]
    assert table.find("other.example.com").name == "*.example.com:443"  # type: ignore[union-attr]
    assert table.find("api.test").name == "api.*:443"  # type: ignore[union-attr]
    assert table.find("elsewhere.org").name == "*:443"  # type: ignore[union-attr]


@pytest.mark.parametrize("duplicate", ["H0.example.com", "*"])
def test_a_duplicate_domain_is_refused(duplicate: str) -> None:
    rc = config(3)
    rc.virtual_hosts.append(vhost("*"))
    rc.virtual_hosts.append(vhost(duplicate))
    with pytest.raises(DuplicateDomain):
        apply_route_update(None, rc.SerializeToString(), Counters())
