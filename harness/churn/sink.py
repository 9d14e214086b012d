"""Where a push goes: the seam between the control plane and the data plane.

:class:`ConfigSink` is what the churn loop needs from a transport: hand over the listener a
push built, and say when it was handed over. :class:`FileSink` is the one written today: the
local Envoy of :mod:`gwbench.harness.envoy.session` over filesystem LDS (the listener file
replaced by rename, certificates as static SDS secrets). Every push sends the whole listener
(state of the world), whichever control plane built it; the incremental control plane's
``delta_bytes`` says what a delta transport would have sent instead.

Localizing (SDS references made static, RDS made inline direct responses, the address made
loopback, :mod:`gwbench.harness.envoy.adapt`; the patched-in Wasm plugins dropped) is
cached per chain by its bytes, so it costs every control plane the same: the chains a push
did not change are not localized again.
"""

from __future__ import annotations

from typing import Protocol

from envoy.config.listener.v3 import listener_components_pb2, listener_pb2

from gwbench.harness.churn.controlplane import ListenerParts, entry, frame_of
from gwbench.harness.envoy import adapt
from gwbench.harness.envoy.session import LocalEnvoy

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


class ConfigSink(Protocol):
    def deliver(self, parts: ListenerParts) -> float:
        """Hand the listener to the data plane; returns the clock time (``perf_counter``)
        just before the data plane could see it."""
        ...

    def check(self) -> None:
        """Raise if the data plane rejected an update or died."""
        ...


class FileSink:
    """Filesystem LDS into a :class:`LocalEnvoy`: stage (serialize), then commit (rename)."""

    def __init__(self, envoy: LocalEnvoy) -> None:
        self.envoy = envoy
        self._chains: dict[bytes, bytes] = {}
        self._frames: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}

    def _chain(self, chain: bytes) -> bytes:
        local = self._chains.get(chain)
        if local is None:
            message = adapt.localize_chain(listener_components_pb2.FilterChain.FromString(chain))
            without_wasm(message)
            local = message.SerializeToString(deterministic=True)
            self._chains[chain] = local
        return local

    def _frame(self, prefix: bytes, suffix: bytes) -> tuple[bytes, bytes]:
        local = self._frames.get((prefix, suffix))
        if local is None:
            frame = listener_pb2.Listener.FromString(prefix + suffix)
            local = frame_of(adapt.localize_listener(frame, self.envoy.port))
            self._frames[(prefix, suffix)] = local
        return local

    def localize(self, parts: ListenerParts) -> listener_pb2.Listener:
        """The listener as the local Envoy serves it."""
        prefix, suffix = self._frame(parts.prefix, parts.suffix)
        chains = [self._chain(c) for c in parts.chains]
        live = set(parts.chains)
        if len(self._chains) > 2 * len(live) + 64:
            self._chains = {c: v for c, v in self._chains.items() if c in live}
        wire = b"".join([prefix, *(entry(c) for c in chains), suffix])
        return listener_pb2.Listener.FromString(wire)

    def deliver(self, parts: ListenerParts) -> float:
        self.envoy.stage_listener(self.localize(parts))
        return self.envoy.commit_listener()

    def check(self) -> None:
        self.envoy.check()
