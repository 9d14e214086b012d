"""One local Envoy fed by filesystem xDS: the driver the measurements run on.

A :class:`LocalEnvoy` owns a temporary folder (bootstrap, certificates as static SDS
secrets, one watched folder per xDS file: ``lds/``, ``rds/<n>/``, ``sds/<n>/``), one Envoy
process and a listener port on 127.0.0.1. Updates are staged (serialized, not timed) and then
committed by rename (timed from that instant). While waiting for an update to take effect it
watches Envoy's log, so a rejected configuration stops the wait at once with Envoy's own
message instead of a timeout. Leaving the ``with`` block stops Envoy and removes the folder,
on success, error and Ctrl-C alike.
"""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2

from gwbench.errors import HarnessError
from gwbench.harness.envoy.bootstrap import (
    LOOPBACK,
    CertificateKeyPair,
    local_bootstrap,
    tls_secret,
)
from gwbench.harness.envoy.probe import (
    PROBE_TIMEOUT_S,
    ProbeResult,
    ProbeTimeout,
    probe,
    wait_until,
)
from gwbench.harness.envoy.process import EnvoyProcess, envoy_version, find_envoy
from gwbench.harness.envoy.stats import AdminClient
from gwbench.harness.envoy.xds_files import (
    LISTENER_TYPE,
    ROUTE_TYPE,
    SECRET_TYPE,
    Format,
    XdsFile,
)

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


class LocalEnvoy:
    """Envoy on loopback with filesystem LDS, RDS and SDS; a context manager."""

    def __init__(
        self,
        secrets: Mapping[str, CertificateKeyPair],
        *,
        fmt: Format = "pb",
        dynamic_secrets: Sequence[str] = (),
        route_names: Sequence[str] = (),
        binary: Path | None = None,
        listener_port: int | None = None,
        concurrency: int = 1,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.fmt: Format = fmt
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

    # lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> LocalEnvoy:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="gwbench-envoy-"))
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
        self._admin = AdminClient(self._process.admin_port)
        self._log_offset = self._process.log_size()

    def close(self) -> None:
        """Stop Envoy (SIGTERM, grace, SIGKILL) and remove the temporary folder."""
        try:
            if self._process is not None:
                self._process.stop()
        finally:
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None

    # accessors ---------------------------------------------------------------------------
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
    def stage_listener(self, listener: listener_pb2.Listener) -> None:
        assert self.lds is not None
        self.lds.stage([listener])

    def stage_routes(self, routes: route_pb2.RouteConfiguration) -> None:
        self.rds[routes.name].stage([routes])

    def stage_secret(self, name: str, pair: CertificateKeyPair) -> None:
        self.sds[name].stage([tls_secret(name, pair)])

    def commit_listener(self) -> float:
        """Hand the staged listener to Envoy; returns ``time.perf_counter()`` just before."""
        assert self.lds is not None
        return _timed_commit(self.lds)

    def commit_routes(self, name: str) -> float:
        return _timed_commit(self.rds[name])

    def commit_secret(self, name: str) -> float:
        return _timed_commit(self.sds[name])

    # observation -------------------------------------------------------------------------
    def check(self) -> None:
        """Raise with Envoy's message if it exited or logged a rejected update."""
        process = self.process
        process.check_alive("while applying an update")
        message = rejection_in(process.log_text(self._log_offset))
        if message is not None:
            if PORT_TAKEN in message:
                raise HarnessError(
                    f"listener port {self.port} on {LOOPBACK} is taken; Envoy said: {message}"
                )
            raise HarnessError(f"Envoy rejected the configuration: {message}")

    def probe(self, host: str, timeout_s: float = PROBE_TIMEOUT_S) -> ProbeResult:
        return probe(self.port, host, timeout_s=timeout_s)

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
