"""One local Envoy fed by files or by gwbench's xDS control plane: the measurements' driver.

A :class:`LocalEnvoy` owns a temporary folder, one Envoy process and a listener port on
127.0.0.1, and delivers config by one of three transports:

- ``files``: filesystem xDS (bootstrap with certificates as static SDS secrets, one watched
  folder per xDS file: ``lds/``, ``rds/<n>/``, ``sds/<n>/``); an update is committed by rename;
- ``sotw`` / ``delta``: a :class:`~gwbench.harness.envoy.xds.server.ControlPlane` on loopback
  that Envoy's bootstrap points at over ADS (``GRPC`` / ``DELTA_GRPC``); listeners, routes,
  scopes and secrets all cross the ADS stream; an update is committed by handing the staged
  resources to the control plane, which pushes them.

Updates are staged (serialized and packed, not timed) and then committed (timed from that
instant). While waiting for an update to take effect it watches Envoy's log and the control
plane's NACKs, so a rejected configuration stops the wait at once with Envoy's own message
instead of a timeout. Leaving the ``with`` block stops Envoy, then the control plane, and
removes the folder, on success, error and Ctrl-C alike.
"""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2, scoped_route_pb2
from google.protobuf import any_pb2

from gwbench.errors import HarnessError
from gwbench.harness.envoy.bootstrap import (
    LOOPBACK,
    CertificateKeyPair,
    ads_bootstrap,
    local_bootstrap,
    tls_secret,
)
from gwbench.harness.envoy.lifecycle import Stoppable
from gwbench.harness.envoy.probe import (
    PROBE_TIMEOUT_S,
    ProbeResult,
    ProbeTimeout,
    probe,
    wait_until,
)
from gwbench.harness.envoy.process import EnvoyProcess, envoy_version, find_envoy
from gwbench.harness.envoy.stats import AdminClient
from gwbench.harness.envoy.xds.server import Change, ControlPlane, XdsRejected
from gwbench.harness.envoy.xds.snapshot import SCOPED_ROUTE_TYPE, pack
from gwbench.harness.envoy.xds_files import (
    LISTENER_TYPE,
    ROUTE_TYPE,
    SECRET_TYPE,
    Format,
    XdsFile,
)

Transport = Literal["files", "sotw", "delta"]
TRANSPORTS: tuple[Transport, ...] = ("files", "sotw", "delta")

REJECTED = re.compile(r"(?:config update rejected|config rejected|update rejected)[:\s]*(.*)$")
PORT_TAKEN = "Address already in use"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def rejection_in(log: str) -> str | None:
    """Envoy's own message for the first rejected update in ``log``, if any."""
    for line in log.splitlines():
        match = REJECTED.search(line)
        if match:
            return match.group(1).strip() or line.strip()
    return None


class LocalEnvoy(Stoppable):
    """Envoy on loopback fed by files or over ADS; a context manager."""

    def __init__(
        self,
        secrets: Mapping[str, CertificateKeyPair],
        *,
        transport: Transport = "files",
        fmt: Format = "pb",
        dynamic_secrets: Sequence[str] = (),
        route_names: Sequence[str] = (),
        binary: Path | None = None,
        listener_port: int | None = None,
        concurrency: int = 1,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.fmt: Format = fmt
        self.transport: Transport = transport
        self.binary = binary if binary is not None else find_envoy()
        self.version = envoy_version(self.binary)
        self.port = listener_port if listener_port is not None else free_port()
        self._static = {n: p for n, p in secrets.items() if n not in dynamic_secrets}
        self._dynamic = {n: secrets[n] for n in dynamic_secrets}
        self._route_names = tuple(route_names)
        self.concurrency = concurrency
        self.startup_timeout_s = startup_timeout_s
        self.workdir: Path | None = None
        self._process: EnvoyProcess | None = None
        self._admin: AdminClient | None = None
        self._log_offset = 0
        self.lds: XdsFile | None = None
        self.rds: dict[str, XdsFile] = {}
        self.sds: dict[str, XdsFile] = {}
        self.plane: ControlPlane | None = None
        self._staged: dict[str, dict[str, any_pb2.Any]] = {}
        self._staged_removals: dict[str, list[str]] = {}
        self._file_bytes = 0

    # lifecycle ---------------------------------------------------------------------------
    @property
    def over_ads(self) -> bool:
        return self.transport != "files"

    def _begin(self) -> None:
        self._start()  # looked up on every call, so that a wrapped ``_start`` runs

    def _start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="gwbench-envoy-"))
        if self.over_ads:
            self._start_ads(self.workdir)
        else:
            self._start_files(self.workdir)
        self._admin = AdminClient(self.process.admin_port)
        self._log_offset = self.process.log_size()

    def _start_ads(self, workdir: Path) -> None:
        self.plane = ControlPlane().start()
        bootstrap = ads_bootstrap(self.plane.port, delta=self.transport == "delta")
        bootstrap_path = workdir / "bootstrap.pb"
        bootstrap_path.write_bytes(bootstrap.SerializeToString(deterministic=True))
        self._process = EnvoyProcess(
            self.binary,
            bootstrap_path,
            workdir,
            concurrency=self.concurrency,
            startup_timeout_s=self.startup_timeout_s,
        )
        self._process.start()
        # every certificate is served by SDS over ADS, as istiod serves a gateway's
        self.plane.set_resources(
            SECRET_TYPE, {n: tls_secret(n, p) for n, p in {**self._static, **self._dynamic}.items()}
        )

    def _start_files(self, workdir: Path) -> None:
        self.workdir = workdir
        self.lds = XdsFile(self.workdir / "lds", "lds", LISTENER_TYPE, self.fmt)
        self.lds.write_initial()
        for index, name in enumerate(self._route_names):
            rds = XdsFile(self.workdir / "rds" / str(index), "rds", ROUTE_TYPE, self.fmt)
            rds.write_initial()
            self.rds[name] = rds
        for index, (name, pair) in enumerate(self._dynamic.items()):
            sds = XdsFile(self.workdir / "sds" / str(index), "sds", SECRET_TYPE, self.fmt)
            sds.write_initial([tls_secret(name, pair)])
            self.sds[name] = sds
        bootstrap = local_bootstrap(
            self.lds.path, [tls_secret(n, p) for n, p in self._static.items()]
        )
        bootstrap_path = self.workdir / "bootstrap.pb"
        bootstrap_path.write_bytes(bootstrap.SerializeToString(deterministic=True))
        self._process = EnvoyProcess(
            self.binary,
            bootstrap_path,
            self.workdir,
            concurrency=self.concurrency,
            startup_timeout_s=self.startup_timeout_s,
        )
        self._process.start()

    def close(self) -> None:
        """Stop Envoy (SIGTERM, grace, SIGKILL), then the control plane, and remove the
        temporary folder."""
        try:
            if self._process is not None:
                self._process.stop()
        finally:
            if self.plane is not None:
                self.plane.stop()
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None

    # accessors ---------------------------------------------------------------------------
    _end = close

    @property
    def process(self) -> EnvoyProcess:
        if self._process is None:
            raise HarnessError("Envoy is not running")
        return self._process

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            raise HarnessError("Envoy is not running")
        return self._admin

    def dynamic_secret_paths(self) -> dict[str, Path]:
        """Secret name -> watched SDS file, for :func:`harness.envoy.adapt.localize_listener`."""
        return {name: sds.path for name, sds in self.sds.items()}

    def rds_paths(self) -> dict[str, Path]:
        """Route name -> watched RDS file (one folder each: RDS expects one resource per file)."""
        return {name: rds.path for name, rds in self.rds.items()}

    # updates -----------------------------------------------------------------------------
    def _stage(self, type_url: str, name: str, packed: any_pb2.Any) -> None:
        self._staged.setdefault(type_url, {})[name] = packed

    def stage_listener(self, listener: listener_pb2.Listener) -> None:
        if self.over_ads:
            self._stage(LISTENER_TYPE, listener.name, pack(listener))
            return
        assert self.lds is not None
        self.lds.stage([listener])

    def stage_routes(self, routes: route_pb2.RouteConfiguration) -> None:
        if self.over_ads:
            self._stage(ROUTE_TYPE, routes.name, pack(routes))
            return
        self.rds[routes.name].stage([routes])

    def stage_secret(self, name: str, pair: CertificateKeyPair) -> None:
        if self.over_ads:
            self._stage(SECRET_TYPE, name, pack(tls_secret(name, pair)))
            return
        self.sds[name].stage([tls_secret(name, pair)])

    def stage_scope(self, scope: scoped_route_pb2.ScopedRouteConfiguration) -> None:
        """A scoped route configuration (SRDS); over ADS only."""
        if not self.over_ads:
            raise HarnessError("scoped routes are served over ADS only (--transport sotw|delta)")
        self._stage(SCOPED_ROUTE_TYPE, scope.name, pack(scope))

    def stage_removal(self, type_url: str, name: str) -> None:
        """Delete a resource by name with the next commit (over ADS)."""
        self._staged_removals.setdefault(type_url, []).append(name)

    def commit(self) -> float:
        """Hand every staged resource to the control plane (secrets, routes, scopes, then
        listeners: make before break); returns ``time.perf_counter()`` just before."""
        if self.plane is None:
            raise HarnessError("commit() needs a transport over ADS")
        order = [SECRET_TYPE, ROUTE_TYPE, SCOPED_ROUTE_TYPE, LISTENER_TYPE]
        types = sorted(
            set(self._staged) | set(self._staged_removals),
            key=lambda t: order.index(t) if t in order else len(order),
        )
        changes = [
            Change(t, self._staged.get(t, {}), tuple(self._staged_removals.get(t, ())))
            for t in types
        ]
        self._staged, self._staged_removals = {}, {}
        start = time.perf_counter()
        self.plane.apply(changes)
        return start

    def _commit_file(self, xds: XdsFile) -> float:
        self._file_bytes += xds.staged_bytes()
        return _timed_commit(xds)

    def commit_listener(self) -> float:
        """Hand the staged listener to Envoy; returns ``time.perf_counter()`` just before."""
        if self.over_ads:
            return self.commit()
        assert self.lds is not None
        return self._commit_file(self.lds)

    def commit_routes(self, name: str) -> float:
        if self.over_ads:
            return self.commit()
        return self._commit_file(self.rds[name])

    def commit_secret(self, name: str) -> float:
        if self.over_ads:
            return self.commit()
        return self._commit_file(self.sds[name])

    def bytes_sent(self) -> int:
        """Bytes handed to Envoy so far: DiscoveryResponse messages sent by the control
        plane, or files renamed into the watched folders."""
        if self.plane is not None:
            return self.plane.bytes_sent
        return self._file_bytes

    def wait_synced(self, timeout_s: float) -> None:
        """Over ADS: wait until Envoy has ACKed everything it subscribes to (a NACK raises
        with Envoy's message). From files there is no ACK: returns at once."""
        if self.plane is not None:
            try:
                self.plane.wait_acked(timeout_s=timeout_s)
            except XdsRejected as exc:
                raise self._rejection(str(exc)) from exc

    # observation -------------------------------------------------------------------------
    def check(self) -> None:
        """Raise with Envoy's message if it exited or logged a rejected update."""
        process = self.process
        process.check_alive("while applying an update")
        if self.plane is not None:
            try:
                self.plane.check()
            except XdsRejected as exc:
                raise self._rejection(str(exc)) from exc
        message = rejection_in(process.log_text(self._log_offset))
        if message is not None:
            raise self._rejection(f"Envoy rejected the configuration: {message}")

    def _rejection(self, message: str) -> HarnessError:
        if PORT_TAKEN in message:
            return HarnessError(
                f"listener port {self.port} on {LOOPBACK} is taken; Envoy said: {message}"
            )
        return HarnessError(message)

    def probe(
        self, host: str, timeout_s: float = PROBE_TIMEOUT_S, *, authority: str | None = None
    ) -> ProbeResult:
        return probe(self.port, host, timeout_s=timeout_s, authority=authority)

    def wait_for(
        self,
        host: str,
        *,
        start: float,
        timeout_s: float,
        accept: Callable[[ProbeResult], bool] | None = None,
        what: str = "activation",
    ) -> tuple[float, ProbeResult]:
        """Probe ``host`` until ``accept`` (default: 200 with the host as body)."""
        accepted = accept if accept is not None else lambda r: r.ok and r.body == host.encode()
        try:
            elapsed, result = wait_until(
                lambda: self.probe(host),
                accepted,
                timeout_s=timeout_s,
                check=self.check,
                what=what,
                start=start,
            )
        except ProbeTimeout:
            self.check()  # a rejection or a dead Envoy explains the timeout better
            raise
        self.check()
        return elapsed, result


def _timed_commit(xds: XdsFile) -> float:
    start = time.perf_counter()
    xds.commit()
    return start
