"""GIVEN gwbench's xDS control plane WHEN a gRPC client speaks the xDS transport protocol to it
(the requests Envoy sends, built by hand) THEN versions, nonces, ACK/NACK, named and wildcard
subscriptions, removals and reconnects follow Envoy's "xDS REST and gRPC protocol" (no Envoy)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from gwbench.harness.envoy.xds.server import ControlPlane, XdsRejected
from gwbench.harness.envoy.xds.snapshot import LISTENER_TYPE, ROUTE_TYPE

WAIT_S = 10.0


class Client:
    """One ADS stream driven by hand: ``send`` a request, ``recv`` the next response."""

    def __init__(self, plane: ControlPlane, *, delta: bool) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{plane.port}")
        stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(self.channel)
        self.requests: queue.Queue[Any] = queue.Queue()
        method = stub.DeltaAggregatedResources if delta else stub.StreamAggregatedResources
        self.stream = method(iter(self.requests.get, None))
        self.responses: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            for response in self.stream:
                self.responses.put(response)
        except grpc.RpcError:
            pass

    def send(self, request: Any) -> None:
        self.requests.put(request)

    def recv(self) -> Any:
        return self.responses.get(timeout=WAIT_S)

    def nothing(self, wait_s: float = 0.3) -> bool:
        try:
            self.responses.get(timeout=wait_s)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.requests.put(None)
        self.stream.cancel()
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def plane() -> Iterator[ControlPlane]:
    with ControlPlane() as running:
        yield running


def _listener(name: str) -> listener_pb2.Listener:
    return listener_pb2.Listener(name=name)


def _routes(name: str, vhosts: int = 1) -> route_pb2.RouteConfiguration:
    config = route_pb2.RouteConfiguration(name=name)
    for index in range(vhosts):
        config.virtual_hosts.add(name=f"v{index}", domains=[f"h{index}.{name}"])
    return config


def _sotw(type_url: str, names: list[str] = [], nonce: str = "", version: str = "") -> Any:  # noqa: B006
    request = discovery_pb2.DiscoveryRequest(
        type_url=type_url, resource_names=names, response_nonce=nonce, version_info=version
    )
    request.node.id = "test"
    return request


def _names(response: Any) -> list[str]:
    out = []
    for packed in response.resources:
        any_value = packed.resource if hasattr(packed, "resource") else packed
        message = (
            listener_pb2.Listener()
            if any_value.type_url == LISTENER_TYPE
            else route_pb2.RouteConfiguration()
        )
        any_value.Unpack(message)
        out.append(message.name)
    return out


def test_sotw_wildcard_full_state_ack_and_nack(plane: ControlPlane) -> None:
    plane.set_resources(LISTENER_TYPE, {"a": _listener("a")})
    with Client(plane, delta=False) as client:
        client.send(_sotw(LISTENER_TYPE))  # empty names: the legacy wildcard
        first = client.recv()
        assert first.type_url == LISTENER_TYPE and _names(first) == ["a"]
        assert first.version_info == "1" and first.nonce
        client.send(_sotw(LISTENER_TYPE, nonce=first.nonce, version=first.version_info))
        plane.wait_acked(LISTENER_TYPE, 1, timeout_s=WAIT_S)

        version = plane.update(LISTENER_TYPE, {"b": _listener("b")})
        second = client.recv()
        assert sorted(_names(second)) == ["a", "b"]  # Listener: the whole state every time
        assert second.version_info == str(version) and second.nonce != first.nonce

        nack = _sotw(LISTENER_TYPE, nonce=second.nonce, version=first.version_info)
        nack.error_detail.message = "Error adding/updating listener(s) b: bad"
        client.send(nack)
        with pytest.raises(XdsRejected, match=r"NACK of .*Listener version 2\): .* b: bad"):
            plane.wait_acked(LISTENER_TYPE, version, timeout_s=WAIT_S)


def test_one_response_in_flight_per_type_changes_merged(plane: ControlPlane) -> None:
    plane.set_resources(LISTENER_TYPE, {"a": _listener("a")})
    with Client(plane, delta=False) as client:
        client.send(_sotw(LISTENER_TYPE))
        first = client.recv()
        plane.update(LISTENER_TYPE, {"b": _listener("b")})
        latest = plane.update(LISTENER_TYPE, {"c": _listener("c")})
        assert client.nothing()  # not before the ACK of the first
        client.send(_sotw(LISTENER_TYPE, nonce=first.nonce, version=first.version_info))
        merged = client.recv()
        assert sorted(_names(merged)) == ["a", "b", "c"]
        assert merged.version_info == str(latest)
        assert client.nothing()


def test_sotw_named_subscription_sends_only_what_is_asked(plane: ControlPlane) -> None:
    plane.set_resources(ROUTE_TYPE, {"r1": _routes("r1"), "r2": _routes("r2")})
    with Client(plane, delta=False) as client:
        client.send(_sotw(ROUTE_TYPE, ["r1"]))
        first = client.recv()
        assert _names(first) == ["r1"]
        client.send(_sotw(ROUTE_TYPE, ["r1"], first.nonce, first.version_info))
        plane.update(ROUTE_TYPE, {"r2": _routes("r2", 2)})  # not subscribed: nothing sent
        assert client.nothing()
        client.send(_sotw(ROUTE_TYPE, ["r1", "r2"], first.nonce, first.version_info))
        both = client.recv()
        assert sorted(_names(both)) == ["r1", "r2"]


def _delta(
    type_url: str,
    subscribe: list[str] = [],  # noqa: B006
    unsubscribe: list[str] = [],  # noqa: B006
    nonce: str = "",
    initial: dict[str, str] | None = None,
) -> Any:
    request = discovery_pb2.DeltaDiscoveryRequest(
        type_url=type_url,
        resource_names_subscribe=subscribe,
        resource_names_unsubscribe=unsubscribe,
        response_nonce=nonce,
        initial_resource_versions=initial or {},
    )
    request.node.id = "test"
    return request


def test_delta_subscribe_change_remove_and_missing(plane: ControlPlane) -> None:
    plane.set_resources(ROUTE_TYPE, {"r1": _routes("r1"), "r2": _routes("r2")})
    with Client(plane, delta=True) as client:
        client.send(_delta(ROUTE_TYPE, ["r1", "ghost"]))
        first = client.recv()
        assert _names(first) == ["r1"]
        assert list(first.removed_resources) == ["ghost"]  # asked for, does not exist
        client.send(_delta(ROUTE_TYPE, nonce=first.nonce))

        plane.update(ROUTE_TYPE, {"r1": _routes("r1", 3), "r2": _routes("r2", 3)})
        changed = client.recv()
        assert _names(changed) == ["r1"]  # only the changed, subscribed resource
        assert changed.resources[0].version != first.resources[0].version
        client.send(_delta(ROUTE_TYPE, nonce=changed.nonce))

        plane.update(ROUTE_TYPE, remove=["r1"])
        removed = client.recv()
        assert list(removed.resources) == [] and list(removed.removed_resources) == ["r1"]
        client.send(_delta(ROUTE_TYPE, nonce=removed.nonce))

        client.send(_delta(ROUTE_TYPE, unsubscribe=["ghost"]))
        assert client.nothing()  # an unsubscription alone needs no response
        plane.wait_acked(ROUTE_TYPE, timeout_s=WAIT_S)


def test_delta_wildcard_and_reconnect_with_known_versions(plane: ControlPlane) -> None:
    plane.set_resources(LISTENER_TYPE, {"a": _listener("a"), "b": _listener("b")})
    with Client(plane, delta=True) as client:
        client.send(_delta(LISTENER_TYPE))  # legacy wildcard
        first = client.recv()
        versions = {r.name: r.version for r in first.resources}
        assert sorted(versions) == ["a", "b"]
        client.send(_delta(LISTENER_TYPE, nonce=first.nonce))
    plane.update(LISTENER_TYPE, {"c": _listener("c")})
    with Client(plane, delta=True) as again:
        # a reconnecting client names what it holds: only what it lacks is sent
        again.send(_delta(LISTENER_TYPE, ["*"], initial=versions))
        response = again.recv()
        assert _names(response) == ["c"]
    with Client(plane, delta=True) as fresh:
        fresh.send(_delta(LISTENER_TYPE, ["*"]))  # a restarted Envoy: the whole state
        assert sorted(_names(fresh.recv())) == ["a", "b", "c"]
        assert plane.streams_opened == 3
