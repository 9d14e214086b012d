"""``ControlPlane``: an Aggregated Discovery Service (ADS) server on 127.0.0.1, over grpcio.

Implements the xDS transport protocol as Envoy speaks it (Envoy's "xDS REST and gRPC
protocol"; ``envoy.service.discovery.v3.AggregatedDiscoveryService``):

- both variants on one server: state of the world (``StreamAggregatedResources``,
  DiscoveryRequest/DiscoveryResponse) and incremental (``DeltaAggregatedResources``,
  DeltaDiscoveryRequest/DeltaDiscoveryResponse);
- per stream and type: a version (``version_info`` / ``system_version_info``) and a nonce;
  at most one response in flight per type: changes made meanwhile are merged into the next
  response, sent once Envoy has ACKed or NACKed the previous one;
- ACK (the nonce echoed, no ``error_detail``) and NACK (``error_detail`` set): a NACK is kept
  with Envoy's message and raised by :meth:`ControlPlane.check` and the ``wait_*`` methods;
- subscriptions: named resources, the wildcard (``*``, or the legacy empty first request),
  unsubscribing; in SotW every response holds the whole subscribed set (Listener, Cluster
  and ScopedRouteConfiguration: every resource); in delta only what changed, plus
  ``removed_resources``, and a subscribed name that does not exist is reported removed;
- a stream that starts (Envoy started or reconnected) gets the whole state again: SotW
  answers the first request of each type; delta compares ``initial_resource_versions``.

Responses are serialized once, by the stream, and counted: :attr:`ControlPlane.bytes_sent`
is the bytes of DiscoveryResponse messages put on the wire (gRPC framing excluded).

API, for a measurement or a churn driver::

    with ControlPlane() as plane:          # listening on 127.0.0.1:plane.port
        plane.set_resources(LISTENER_TYPE, {"l": listener})        # whole state of a type
        version = plane.update(ROUTE_TYPE, upsert={"r": routes}, remove=["old"])
        plane.wait_acked(ROUTE_TYPE, version, timeout_s=10)   # raises XdsRejected on NACK
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

# Envoy is started with fork + exec while the server's threads run; gRPC's fork handlers are
# for children that keep using gRPC, which Envoy does not, and they log a line per fork.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
import grpc  # type: ignore[import-untyped]
from envoy.service.discovery.v3 import ads_pb2, discovery_pb2
from google.protobuf import any_pb2
from google.protobuf.message import Message

from gwbench.errors import HarnessError
from gwbench.harness.envoy.lifecycle import Stoppable
from gwbench.harness.envoy.xds.snapshot import Packed, Snapshot, pack

LOOPBACK = "127.0.0.1"
WILDCARD = "*"
SERVICE = ads_pb2.DESCRIPTOR.services_by_name["AggregatedDiscoveryService"].full_name
_END = object()
_CHANGED = object()


@dataclass(frozen=True)
class Nack:
    """Envoy refused a response: the type, the version it carried, and Envoy's reason."""

    type_url: str
    version: int
    nonce: str
    message: str


class XdsRejected(HarnessError):
    """Envoy NACKed a response; the message is Envoy's ``error_detail``."""

    def __init__(self, nack: Nack) -> None:
        super().__init__(
            f"Envoy rejected the configuration (NACK of {nack.type_url.rsplit('/', 1)[-1]} "
            f"version {nack.version}): {nack.message}"
        )
        self.nack = nack


@dataclass
class Change:
    """One type's change, for :meth:`ControlPlane.apply`: ``upsert`` resources by name,
    ``remove`` names; ``replace`` makes ``upsert`` the type's whole state."""

    type_url: str
    upsert: Mapping[str, Message | any_pb2.Any] = field(default_factory=dict)
    remove: Sequence[str] = ()
    replace: bool = False


@dataclass
class _TypeState:
    """One type on one stream."""

    wildcard: bool = False
    names: set[str] = field(default_factory=set)
    explicit: bool = False
    """The stream named resources for this type at least once (no legacy wildcard then)."""
    fresh: bool = True
    """No response sent yet on this stream (SotW answers the first request always)."""
    sent: dict[str, str] = field(default_factory=dict)
    """Name -> version the client holds (or was last sent)."""
    told_missing: set[str] = field(default_factory=set)
    inflight_nonce: str | None = None
    inflight_version: int = 0
    synced: int = -1
    """Type version the client is complete at (every subscribed change ACKed or NACKed)."""
    seen: int = 0
    """Snapshot version of the type this stream last examined."""
    pending: set[str] = field(default_factory=set)
    """Names to examine at the next response besides what changed since ``seen``."""
    full: bool = True
    """Examine every name at the next response (first request, wildcard switched on)."""


def _to_any(resource: Message | any_pb2.Any) -> any_pb2.Any:
    return resource if isinstance(resource, any_pb2.Any) else pack(resource)


class _Stream:
    """One ADS stream (one connected Envoy), SotW or delta."""

    def __init__(self, plane: ControlPlane, delta: bool, ident: int) -> None:
        self.plane = plane
        self.delta = delta
        self.ident = ident
        self.events: queue.Queue[object] = queue.Queue()
        self.types: dict[str, _TypeState] = {}
        self.node_id = ""
        self.open = True
        self._nonces = itertools.count(1)

    # ---------------------------------------------------------------- transport
    def serve(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[bytes]:
        reader = threading.Thread(
            target=self._read, args=(requests,), name=f"xds-read-{self.ident}", daemon=True
        )
        context.add_callback(lambda: self.events.put(_END))
        reader.start()
        try:
            while True:
                event = self.events.get()
                if event is _END:
                    return
                if event is not _CHANGED:
                    self._on_request(event)
                yield from self._responses()
        finally:
            self.open = False
            self.plane._closed(self)

    def _read(self, requests: Iterator[Any]) -> None:
        try:
            for request in requests:
                self.events.put(request)
        except grpc.RpcError:
            pass
        except ValueError:  # iterator closed by a server shutdown
            pass
        finally:
            self.events.put(_END)

    # ---------------------------------------------------------------- requests
    def _on_request(self, request: Any) -> None:
        if request.node.id:
            self.node_id = request.node.id
        state = self.types.setdefault(request.type_url, _TypeState())
        if self.delta:
            self._subscribe_delta(state, request)
        else:
            self._subscribe_sotw(state, request)
        nonce = request.response_nonce
        if nonce and nonce == state.inflight_nonce:
            if request.HasField("error_detail"):
                self.plane._nacked(
                    Nack(
                        request.type_url,
                        state.inflight_version,
                        nonce,
                        request.error_detail.message,
                    )
                )
            state.synced = state.inflight_version
            state.inflight_nonce = None
        self.plane._progress()

    @staticmethod
    def _subscribe_sotw(state: _TypeState, request: discovery_pb2.DiscoveryRequest) -> None:
        names = set(request.resource_names)
        if names:
            state.explicit = True
        wildcard = WILDCARD in names or (not state.explicit and not names)
        if wildcard != state.wildcard:
            state.wildcard = wildcard
            state.full = True
        names.discard(WILDCARD)
        if names != state.names:
            state.pending |= names ^ state.names
            # newly named resources must be sent even when unchanged; dropped ones forgotten
            for gone in state.names - names:
                state.sent.pop(gone, None)
            for new in names - state.names:
                state.sent.pop(new, None)
            state.names = names

    @staticmethod
    def _subscribe_delta(state: _TypeState, request: discovery_pb2.DeltaDiscoveryRequest) -> None:
        if state.fresh and not state.explicit:
            for name, version in request.initial_resource_versions.items():
                state.sent[name] = version
        subscribe = set(request.resource_names_subscribe)
        unsubscribe = set(request.resource_names_unsubscribe)
        if subscribe:
            state.explicit = True
        if WILDCARD in subscribe or (not state.explicit and not unsubscribe and state.fresh):
            state.full = state.full or not state.wildcard
            state.wildcard = True
        if WILDCARD in unsubscribe:
            state.wildcard = False
        subscribe.discard(WILDCARD)
        unsubscribe.discard(WILDCARD)
        state.pending |= subscribe
        for name in subscribe:
            state.names.add(name)
            state.sent.pop(name, None)  # a (re)subscribed name is sent even when unchanged
            state.told_missing.discard(name)
        for name in unsubscribe:
            state.names.discard(name)
            state.told_missing.discard(name)
            if not state.wildcard:
                state.sent.pop(name, None)

    # ---------------------------------------------------------------- responses
    def _responses(self) -> Iterator[bytes]:
        for type_url, state in list(self.types.items()):
            if state.inflight_nonce is not None:
                continue
            view = self.plane.snapshot.view(type_url)
            candidates = (
                None
                if state.full
                else state.pending | self.plane.snapshot.changed_since(type_url, state.seen)
            )
            message = (
                self._delta_response(type_url, state, view.version, view.resources, candidates)
                if self.delta
                else self._sotw_response(type_url, state, view.version, view.resources, candidates)
            )
            state.pending = set()
            state.full = False
            state.seen = view.version
            if message is None:
                if state.synced < view.version:
                    state.synced = view.version
                    self.plane._progress()
                continue
            nonce = f"{self.ident}-{next(self._nonces)}"
            message.nonce = nonce
            state.inflight_nonce = nonce
            state.inflight_version = view.version
            state.fresh = False
            data: bytes = message.SerializeToString()
            self.plane._sent(type_url, len(data))
            yield data

    def _sotw_response(
        self,
        type_url: str,
        state: _TypeState,
        version: int,
        resources: Mapping[str, Packed],
        candidates: set[str] | None,
    ) -> discovery_pb2.DiscoveryResponse | None:
        if not state.fresh and candidates is not None:
            relevant = state.wildcard or not candidates.isdisjoint(state.names)
            if not relevant:
                return None
        if state.wildcard:
            chosen = list(resources.values())
        else:
            found = (resources.get(n) for n in state.names)
            chosen = [p for p in found if p is not None]
        desired = {p.name: p.version for p in chosen}
        if not state.fresh and desired == state.sent:
            return None
        if state.fresh and not chosen and not state.wildcard:
            return None  # named resources that do not exist yet: nothing to answer
        state.sent = desired
        return discovery_pb2.DiscoveryResponse(
            version_info=str(version),
            type_url=type_url,
            resources=[p.resource for p in chosen],
        )

    def _delta_response(
        self,
        type_url: str,
        state: _TypeState,
        version: int,
        resources: Mapping[str, Packed],
        candidates: set[str] | None,
    ) -> discovery_pb2.DeltaDiscoveryResponse | None:
        names = set(resources) | set(state.sent) | state.names if candidates is None else candidates
        changed: list[Packed] = []
        removed: list[str] = []
        missing: list[str] = []
        for name in sorted(names):
            packed = resources.get(name)
            if packed is not None:
                wanted = state.wildcard or name in state.names
                if wanted and state.sent.get(name) != packed.version:
                    changed.append(packed)
            elif name in state.sent:
                removed.append(name)
            elif name in state.names and name not in state.told_missing:
                missing.append(name)
        if not changed and not removed and not missing and not (state.fresh and state.wildcard):
            return None
        for packed in changed:
            state.sent[packed.name] = packed.version
        for name in removed:
            del state.sent[name]
        state.told_missing.update(missing)
        response = discovery_pb2.DeltaDiscoveryResponse(
            system_version_info=str(version),
            type_url=type_url,
            removed_resources=[*removed, *missing],
        )
        for packed in changed:
            response.resources.add(name=packed.name, version=packed.version).resource.CopyFrom(
                packed.resource
            )
        return response


class ControlPlane(Stoppable):
    """The ADS server; a context manager (started on enter, stopped on exit)."""

    def __init__(self, *, address: str = LOOPBACK, port: int = 0, workers: int = 8) -> None:
        self.address = address
        self.snapshot = Snapshot()
        self.port = port
        self._workers = workers
        self._server: grpc.Server | None = None
        self._lock = threading.Condition()
        self._streams: list[_Stream] = []
        self._ids = itertools.count(1)
        self.nacks: list[Nack] = []
        self._checked_nacks = 0
        self.bytes_sent = 0
        self.bytes_by_type: dict[str, int] = {}
        self.responses_sent = 0
        self.streams_opened = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> ControlPlane:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="xds"),
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        handlers = {
            "StreamAggregatedResources": grpc.stream_stream_rpc_method_handler(
                lambda it, ctx: self._serve(it, ctx, delta=False),
                request_deserializer=discovery_pb2.DiscoveryRequest.FromString,
                response_serializer=bytes,
            ),
            "DeltaAggregatedResources": grpc.stream_stream_rpc_method_handler(
                lambda it, ctx: self._serve(it, ctx, delta=True),
                request_deserializer=discovery_pb2.DeltaDiscoveryRequest.FromString,
                response_serializer=bytes,
            ),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        bound = server.add_insecure_port(f"{self.address}:{self.port}")
        if bound == 0:
            raise HarnessError(f"the xDS control plane cannot listen on {self.address}:{self.port}")
        self.port = bound
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Close every stream and stop the server (no grace: Envoy keeps its config)."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.events.put(_END)
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None

    _begin = start
    _end = stop

    def _serve(
        self, requests: Iterator[Any], context: grpc.ServicerContext, *, delta: bool
    ) -> Iterator[bytes]:
        stream = _Stream(self, delta, next(self._ids))
        with self._lock:
            self._streams.append(stream)
            self.streams_opened += 1
            self._lock.notify_all()
        return stream.serve(requests, context)

    def _closed(self, stream: _Stream) -> None:
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)
            self._lock.notify_all()

    # ---------------------------------------------------------------- callbacks from streams
    def _sent(self, type_url: str, size: int) -> None:
        with self._lock:
            self.bytes_sent += size
            self.bytes_by_type[type_url] = self.bytes_by_type.get(type_url, 0) + size
            self.responses_sent += 1

    def _nacked(self, nack: Nack) -> None:
        with self._lock:
            self.nacks.append(nack)
            self._lock.notify_all()

    def _progress(self) -> None:
        with self._lock:
            self._lock.notify_all()

    # ---------------------------------------------------------------- the API
    def set_resources(self, type_url: str, resources: Mapping[str, Message | any_pb2.Any]) -> int:
        """Make ``resources`` the whole state of ``type_url`` and push; the type's version."""
        return self.apply([Change(type_url, resources, replace=True)])[type_url]

    def update(
        self,
        type_url: str,
        upsert: Mapping[str, Message | any_pb2.Any] | None = None,
        remove: Iterable[str] = (),
    ) -> int:
        """Add or change ``upsert`` and delete ``remove`` in ``type_url``; push; the version."""
        return self.apply([Change(type_url, upsert or {}, tuple(remove))])[type_url]

    def apply(self, changes: Sequence[Change]) -> dict[str, int]:
        """Apply several types' changes, then push once: type URL -> new version. Resources
        given as messages are packed here; pass ``Any`` values (see :func:`pack`) to keep
        packing out of a timed section."""
        packed = [(c, {name: _to_any(r) for name, r in c.upsert.items()}) for c in changes]
        versions = {
            c.type_url: self.snapshot.apply(c.type_url, p, c.remove, replace=c.replace)
            for c, p in packed
        }
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.events.put(_CHANGED)
        return versions

    def connected(self) -> int:
        with self._lock:
            return len(self._streams)

    def check(self) -> None:
        """Raise :class:`XdsRejected` for the first NACK not reported yet."""
        with self._lock:
            if self._checked_nacks < len(self.nacks):
                nack = self.nacks[self._checked_nacks]
                self._checked_nacks = len(self.nacks)
                raise XdsRejected(nack)

    def wait_connected(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not self._streams:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError(
                        f"no Envoy connected to the xDS control plane on {self.address}:"
                        f"{self.port} within {timeout_s:.0f} s"
                    )
                self._lock.wait(left)

    def _synced(self, type_url: str | None, version: int | None) -> bool:
        if not self._streams:
            return False
        for stream in self._streams:
            for url, state in list(stream.types.items()):
                if type_url is not None and url != type_url:
                    continue
                target = version if version is not None else self.snapshot.view(url).version
                if state.inflight_nonce is not None or state.synced < target:
                    return False
            if type_url is not None and type_url not in stream.types:
                return False
        return True

    def wait_acked(
        self, type_url: str | None = None, version: int | None = None, *, timeout_s: float
    ) -> None:
        """Wait until every connected Envoy has ACKed ``version`` of ``type_url`` (default:
        every type it subscribes to, at its current version), or holds nothing it subscribed
        to that changed since. Raises :class:`XdsRejected` on a NACK, HarnessError on
        timeout."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                if self._checked_nacks < len(self.nacks):
                    nack = self.nacks[self._checked_nacks]
                    self._checked_nacks = len(self.nacks)
                    raise XdsRejected(nack)
                if self._synced(type_url, version):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    what = type_url.rsplit("/", 1)[-1] if type_url else "every type"
                    raise HarnessError(
                        f"Envoy did not ACK {what}"
                        + (f" version {version}" if version is not None else "")
                        + f" within {timeout_s:.0f} s"
                    )
                self._lock.wait(min(left, 0.5))
