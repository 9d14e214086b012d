"""The probes of a live run: activation and removal of changed hosts, disruption of the rest.

Both run in threads beside the control loop and use the TLS probe of
:mod:`gwbench.harness.envoy.probe` (a handshake with the host's SNI, then ``GET /``).

- :class:`Watcher`: each change whose effect the data plane shows gets a :class:`Target`
  once the push carrying it has been handed to Envoy (probing earlier cannot succeed). An
  added host is probed until it answers 200, names itself, and serves its own certificate;
  a renewed certificate until the handshake serves the new one; a deleted host until it stops
  answering. Latency runs from the change's arrival. Probes of one target are spaced by
  ``next_interval`` (1 ms at first, then 2% of the time waited, at most 250 ms), so the
  timing error stays within about 2% while the probe's share of the machine stays small.
- :class:`DisruptionLoop`: a steady loop over hosts no change touches; every answer that is
  not 200 with the host's own body and certificate (refused, reset, 404, 503, another
  certificate) counts as a disruption error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gwbench.harness.envoy.probe import ProbeResult, next_interval, probe

ACCEPT = ("answers", "stops")
MAX_INTERVAL_S = 0.25
"""Longest pause between probes of one target: a per-host update of thousands of chains
takes seconds, and a probe every 50 ms of every pending host would take a loaded machine's
CPU from Envoy; 2% of the wait reaches 250 ms only after 12.5 s."""


@dataclass(frozen=True)
class Target:
    """What to wait for after one change."""

    event: int
    host: str
    arrival: float
    """Clock time (``perf_counter``) the change reached the control plane."""
    expect: str
    """``answers``: 200, the host as body, certificate ``der``; ``stops``: anything else."""
    der: bytes = b""


@dataclass(frozen=True)
class Seen:
    event: int
    host: str
    expect: str
    latency_s: float | None
    """None: not seen before the run's deadline."""
    last_error: str


def accepted(target: Target, result: ProbeResult) -> bool:
    answers = result.ok and result.body == target.host.encode() and result.cert_der == target.der
    return answers if target.expect == "answers" else not result.ok


def describe(result: ProbeResult) -> str:
    return result.error or f"HTTP {result.status}"


class Watcher(threading.Thread):
    """Probes every registered target until it is seen (or :meth:`finish` gives up)."""

    def __init__(
        self, port: int, *, probe_fn: Callable[[int, str], ProbeResult] | None = None
    ) -> None:
        super().__init__(name="gwbench-churn-watcher", daemon=True)
        self.port = port
        self._probe = probe_fn if probe_fn is not None else (lambda p, h: probe(p, h))
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[Target, float, float, str]] = {}
        self.seen: list[Seen] = []
        self._halt = threading.Event()
        self._idle = threading.Event()

    def add(self, targets: Sequence[Target], delivered: float) -> None:
        """Watch ``targets`` from ``delivered`` on."""
        with self._lock:
            for target in targets:
                self._pending[target.event] = (target, delivered, delivered, "")
            self._idle.clear()

    def drop(self, event: int, why: str) -> None:
        with self._lock:
            entry = self._pending.pop(event, None)
            if entry is not None:
                self.seen.append(Seen(event, entry[0].host, entry[0].expect, None, why))

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def run(self) -> None:
        while not self._halt.is_set():
            now = time.perf_counter()
            with self._lock:
                due = [entry for entry in self._pending.values() if entry[2] <= now]
            if not due:
                self._halt.wait(0.001)
                continue
            for target, delivered, _, _ in due:
                result = self._probe(self.port, target.host)
                seen_at = time.perf_counter()
                with self._lock:
                    if target.event not in self._pending:
                        continue
                    if accepted(target, result):
                        del self._pending[target.event]
                        latency = seen_at - target.arrival
                        self.seen.append(
                            Seen(target.event, target.host, target.expect, latency, "")
                        )
                    else:
                        wait = next_interval(seen_at - delivered, ceiling_s=MAX_INTERVAL_S)
                        self._pending[target.event] = (
                            target,
                            delivered,
                            seen_at + wait,
                            describe(result),
                        )

    def finish(self, deadline_s: float, clock: Callable[[], float] = time.perf_counter) -> None:
        """Wait up to ``deadline_s`` for the pending targets, then stop; the rest are
        recorded as not seen, with their last probe's outcome."""
        end = clock() + deadline_s
        while self.pending() and clock() < end and self.is_alive():
            time.sleep(0.01)
        self._halt.set()
        if self.is_alive():
            self.join(timeout=5)
        with self._lock:
            for target, _, _, last in self._pending.values():
                self.seen.append(Seen(target.event, target.host, target.expect, None, last))
            self._pending.clear()


@dataclass(frozen=True)
class Disruption:
    requests: int
    errors: int
    examples: tuple[str, ...]
    """The first few failures: host and what the probe saw."""


class DisruptionLoop(threading.Thread):
    """Probes ``hosts`` round robin, one every ``interval_s``, counting every failure."""

    MAX_EXAMPLES = 10

    def __init__(
        self,
        port: int,
        hosts: Sequence[tuple[str, bytes]],
        *,
        interval_s: float = 0.02,
        probe_fn: Callable[[int, str], ProbeResult] | None = None,
    ) -> None:
        super().__init__(name="gwbench-churn-disruption", daemon=True)
        self.port = port
        self.hosts = list(hosts)
        self.interval_s = interval_s
        self._probe = probe_fn if probe_fn is not None else (lambda p, h: probe(p, h))
        self._halt = threading.Event()
        self.requests = 0
        self.errors = 0
        self.examples: list[str] = []

    def run(self) -> None:
        index = 0
        while self.hosts and not self._halt.is_set():
            host, der = self.hosts[index % len(self.hosts)]
            index += 1
            result = self._probe(self.port, host)
            self.requests += 1
            if not (result.ok and result.body == host.encode() and result.cert_der == der):
                self.errors += 1
                if len(self.examples) < self.MAX_EXAMPLES:
                    wrong = " (another certificate)" if result.ok and result.cert_der != der else ""
                    self.examples.append(f"{host}: {describe(result)}{wrong}")
            self._halt.wait(self.interval_s)

    def finish(self) -> Disruption:
        self._halt.set()
        if self.is_alive():
            self.join(timeout=5)
        return Disruption(self.requests, self.errors, tuple(self.examples))
