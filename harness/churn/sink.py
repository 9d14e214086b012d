"""Where a push goes: the seam between the control plane and the data plane.

:class:`ConfigSink` is what the churn loop needs from a transport: hand over the listener a
push built, and say when it was handed over. Two transports:

- :class:`GrpcSink` (``sotw`` or ``delta``), what istiod does: the local Envoy of
  :mod:`gwbench.harness.envoy.session` subscribed over ADS to the gRPC control plane of
  :mod:`gwbench.harness.envoy.xds.server`, every certificate served by SDS on the same
  stream. The server keeps one response per type in flight and merges what changed
  meanwhile into the next one. Over SotW a push sends every listener; over delta only the
  resources whose bytes changed (for the per-host shape the one listener is always one of
  them: Envoy has no smaller unit than a listener for filter chains).
- :class:`FileSink` (``files``): filesystem LDS (the listener file replaced by rename,
  certificates as static SDS secrets), one update in flight at a time as over xDS.

Either way the incremental control plane's ``delta_bytes`` says what changed in the
listener.

Localizing (SDS references made static, RDS made inline direct responses, the address made
loopback, :mod:`gwbench.harness.envoy.adapt`; the patched-in Wasm plugins dropped) is
cached per chain by its bytes, so it costs every control plane the same: the chains a push
did not change are not localized again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, Self, TypeVar

from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import any_pb2

from gwbench.errors import HarnessError
from gwbench.harness.churn.controlplane import ListenerParts, entry, frame_of
from gwbench.harness.envoy import adapt
from gwbench.harness.envoy.session import TRANSPORTS as ENVOY_TRANSPORTS
from gwbench.harness.envoy.session import LocalEnvoy, Transport
from gwbench.harness.envoy.xds.server import XdsRejected
from gwbench.harness.envoy.xds_files import LISTENER_TYPE

TRANSPORTS = ("sotw", "delta", "files")
AUTO = "auto"
AUTO_TRANSPORT = {"baseline": "sotw", "optimized": "sotw", "incremental": "delta"}
"""``--transport auto``: the full control planes push the whole listener over SotW, as
istiod does; the incremental one sends only changed resources over delta."""

VERSION_STAT = "listener_manager.lds.version_text"

WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"


def without_wasm(chain: listener_components_pb2.FilterChain) -> None:
    """Drop the Wasm HTTP filters the EnvoyFilter patches inserted (Higress plugins loaded
    from ``/etc/wasm/*.wasm``, which a local Envoy does not have): Envoy would reject the
    listener. Everything else the patches did stays."""
    for network_filter in chain.filters:
        if not network_filter.typed_config.type_url.endswith(adapt.HCM_TYPE):
            continue
        manager = adapt.connection_manager(chain)
        kept = [f for f in manager.http_filters if f.typed_config.type_url != WASM_TYPE]
        if len(kept) != len(manager.http_filters):
            del manager.http_filters[:]
            manager.http_filters.extend(kept)
            network_filter.typed_config.Pack(manager, deterministic=True)


@dataclass(frozen=True)
class EnvoyUpdate:
    """One listener version Envoy took: renamed in at ``committed``, reported applied at
    ``applied`` (``perf_counter`` times)."""

    version: int
    committed: float
    applied: float


def _version_info(version: int) -> str:
    """Distinct from the versions :class:`LocalEnvoy` wrote before the run."""
    return f"churn-{version}"


class ConfigSink(Protocol):
    transport: str
    updates: list[EnvoyUpdate]

    def deliver(self, parts: ListenerParts) -> float:
        """Hand the listener to the transport; returns the clock time (``perf_counter``) it
        was handed over. The transport sends it when the data plane can take it."""
        ...

    def check(self) -> None:
        """Raise if the data plane rejected an update or died."""
        ...

    def bytes_sent(self) -> int:
        """Bytes handed to the data plane so far."""
        ...

    def close(self) -> None: ...


def transport_for(impl: str, chosen: str) -> Transport:
    """The transport ``impl`` is fed over: ``chosen``, or for ``auto`` its istiod default."""
    name = AUTO_TRANSPORT[impl] if chosen == AUTO else chosen
    for transport in ENVOY_TRANSPORTS:
        if transport == name:
            return transport
    raise ValueError(f"unknown transport {chosen!r}; one of {', '.join(TRANSPORTS)}, {AUTO}")


class Localizer:
    """The listener as the local Envoy serves it, cached per chain by its bytes.

    ``over_ads``: certificates keep their SDS over ADS; else they become static secrets.
    Routes become inline direct responses either way."""

    def __init__(self, port: int, *, over_ads: bool) -> None:
        self.port = port
        self._ads_routes: tuple[str, ...] | None = () if over_ads else None
        self._chains: dict[bytes, bytes] = {}
        self._frames: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}

    def _chain(self, chain: bytes) -> bytes:
        local = self._chains.get(chain)
        if local is None:
            message = adapt.localize_chain(
                listener_components_pb2.FilterChain.FromString(chain), ads_routes=self._ads_routes
            )
            without_wasm(message)
            local = message.SerializeToString(deterministic=True)
            self._chains[chain] = local
        return local

    def _frame(self, prefix: bytes, suffix: bytes) -> tuple[bytes, bytes]:
        local = self._frames.get((prefix, suffix))
        if local is None:
            frame = listener_pb2.Listener.FromString(prefix + suffix)
            local = frame_of(adapt.localize_listener(frame, self.port, ads_routes=self._ads_routes))
            self._frames[(prefix, suffix)] = local
        return local

    def localize(self, parts: ListenerParts, local_chains: tuple[bytes, ...] = ()) -> bytes:
        """The wire bytes of the listener as the local Envoy serves it; ``local_chains``
        (already localized) go after its own."""
        prefix, suffix = self._frame(parts.prefix, parts.suffix)
        chains = [self._chain(c) for c in parts.chains]
        live = set(parts.chains)
        if len(self._chains) > 2 * len(live) + 64:
            self._chains = {c: v for c, v in self._chains.items() if c in live}
        return b"".join([prefix, *(entry(c) for c in [*chains, *local_chains]), suffix])


_Item = TypeVar("_Item")


class _ThreadedSink(Generic[_Item]):
    """What both sinks share: the Envoy, the hand-over of the latest item to a background
    thread under one lock (:meth:`_take`), the error that thread records, and the
    lifecycle (``check`` raises that error, ``close`` stops the thread). Subclasses start
    the thread on their own handler (:meth:`_start`)."""

    JOIN_TIMEOUT_S = 5.0

    def __init__(self, envoy: LocalEnvoy) -> None:
        self.envoy = envoy
        self._cond = threading.Condition()
        self._closed = False
        self._error: BaseException | None = None
        self._latest: _Item | None = None
        self.updates: list[EnvoyUpdate] = []
        self._thread: threading.Thread | None = None

    def _start(self, handle: Callable[[_Item], bool], name: str) -> None:
        """Run ``handle`` on each item handed over, in a thread, until closed or it returns
        False; what it raises is kept for :meth:`check` and the next ``deliver``."""

        def serve() -> None:
            try:
                while (item := self._take()) is not None and handle(item):
                    pass
            except BaseException as exc:  # reported by deliver and check, in the caller
                with self._cond:
                    self._error = exc

        self._thread = threading.Thread(target=serve, name=name, daemon=True)
        self._thread.start()

    def _take(self) -> _Item | None:
        """The latest item handed over (newer ones replace older), waiting for one;
        ``None`` once closed."""
        with self._cond:
            while self._latest is None and not self._closed:
                self._cond.wait()
            if self._closed or self._latest is None:
                return None
            item, self._latest = self._latest, None
            return item

    def _raise_error(self) -> None:
        if self._error is not None:
            raise HarnessError(f"handing the listener to Envoy failed: {self._error}")

    def check(self) -> None:
        self.envoy.check()
        with self._cond:
            self._raise_error()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.JOIN_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GrpcSink(_ThreadedSink[tuple[str, int, float]]):
    """The gRPC ADS control plane of a :class:`LocalEnvoy` started with ``transport="sotw"``
    or ``"delta"``.

    ``deliver`` replaces the listener in the control plane's snapshot and returns; the
    server sends it when Envoy has answered the previous response. An observer thread waits
    for Envoy's ACK of the newest version handed over and records it as an
    :class:`EnvoyUpdate` (versions merged into a later response are not recorded alone).
    A NACK is raised by :meth:`check` with Envoy's message.
    """

    ACK_TIMEOUT_S = 600.0
    POLL_S = 0.5
    JOIN_TIMEOUT_S = 1.0

    def __init__(self, envoy: LocalEnvoy) -> None:
        if envoy.plane is None:
            raise HarnessError("GrpcSink needs an Envoy over ADS (transport sotw or delta)")
        super().__init__(envoy)
        self.plane = envoy.plane
        self.transport: str = envoy.transport
        self._localizer = Localizer(envoy.port, over_ads=True)
        self._name: str | None = None
        self._start(self._observe, "gwbench-churn-acks")

    def localize(self, parts: ListenerParts) -> bytes:
        return self._localizer.localize(parts)

    def deliver(self, parts: ListenerParts) -> float:
        wire = self.localize(parts)
        resource = any_pb2.Any(type_url=LISTENER_TYPE, value=wire)
        listener_name = self._listener_name(wire)
        with self._cond:
            self._raise_error()
        handed = time.perf_counter()
        version = self.plane.update(LISTENER_TYPE, upsert={listener_name: resource})
        with self._cond:
            self._latest = (LISTENER_TYPE, version, handed)
            self._cond.notify_all()
        return handed

    def _listener_name(self, wire: bytes) -> str:
        if self._name is None:
            self._name = listener_pb2.Listener.FromString(wire).name
        return self._name

    def _observe(self, latest: tuple[str, int, float]) -> bool:
        type_url, version, handed = latest
        if not self._wait_acked(type_url, version):
            return False
        self.updates.append(EnvoyUpdate(version, handed, time.perf_counter()))
        return True

    def _wait_acked(self, type_url: str, version: int) -> bool:
        """Wait for Envoy's ACK of ``version`` of ``type_url`` (False: closed meanwhile).
        A NACK raises."""
        deadline = time.monotonic() + self.ACK_TIMEOUT_S
        while True:
            try:
                self.plane.wait_acked(type_url, version, timeout_s=self.POLL_S)
                return True
            except XdsRejected:
                raise
            except HarnessError:
                with self._cond:
                    if self._closed:
                        return False
                if time.monotonic() > deadline:
                    raise

    def bytes_sent(self) -> int:
        return self.plane.bytes_sent

    def _raise_error(self) -> None:
        if isinstance(self._error, XdsRejected):
            raise HarnessError(f"Envoy rejected the listener: {self._error}")
        super()._raise_error()


class FileSink(_ThreadedSink[tuple[int, bytes]]):
    """Filesystem LDS into a :class:`LocalEnvoy`, one update in flight at a time.

    Like an xDS server, which sends a type's next response only once Envoy has ACKed or
    NACKed the previous one (and merges what changed meanwhile into it), a sender thread
    renames the newest listener into Envoy's watched folder only when Envoy reports the
    previous version applied (admin text readout ``listener_manager.lds.version_text``).
    Listeners handed over meanwhile are replaced by the newest: Envoy never works through a
    backlog of stale versions.
    """

    POLL_S = 0.01

    def __init__(self, envoy: LocalEnvoy) -> None:
        super().__init__(envoy)
        self.transport: str = "files"
        self._bytes = 0
        self._localizer = Localizer(envoy.port, over_ads=False)
        self._version = 0
        self._applied_wanted = 0
        self._start(self._send, "gwbench-churn-sink")

    def localize(self, parts: ListenerParts) -> bytes:
        """The wire bytes of the listener as the local Envoy serves it."""
        return self._localizer.localize(parts)

    # delivering --------------------------------------------------------------------------
    def deliver(self, parts: ListenerParts) -> float:
        wire = self.localize(parts)
        with self._cond:
            self._raise_error()
            self._version += 1
            self._latest = (self._version, wire)
            self._cond.notify_all()
        return time.perf_counter()

    def _applied(self) -> str:
        text = self.envoy.admin.get(f"/stats?filter={VERSION_STAT}&type=TextReadouts")
        return text.partition(":")[2].strip().strip('"')

    def _send(self, latest: tuple[int, bytes]) -> bool:
        version, wire = latest
        committed = time.perf_counter()
        self._write(version, wire)
        # flow control: wait for this version before sending the next (a rejection is
        # found by check); admin answers once Envoy's main thread is free again
        while self._applied() != _version_info(version):
            with self._cond:
                if self._closed:
                    return False
                self._cond.wait(self.POLL_S)
        self.updates.append(EnvoyUpdate(version, committed, time.perf_counter()))
        return True

    def _write(self, version: int, wire: bytes) -> None:
        lds = self.envoy.lds
        assert lds is not None
        resource = any_pb2.Any(type_url=LISTENER_TYPE, value=wire)
        response = discovery_pb2.DiscoveryResponse(
            version_info=_version_info(version), type_url=LISTENER_TYPE, resources=[resource]
        )
        staged = lds.directory / ".churn.next.pb"
        data = response.SerializeToString(deterministic=True)
        staged.write_bytes(data)
        self._bytes += len(data)
        os.rename(staged, lds.path)

    def bytes_sent(self) -> int:
        """Bytes of the listener files renamed in."""
        return self._bytes
