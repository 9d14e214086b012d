"""Records of a churn run (live or simulated), its JSON document and its table.

One :class:`ChurnResult` per (implementation, shape): every change with its latencies,
every push with its size and duration, the disruption count, and the summary figures the
table and ``--json`` show. Formatters build lists of lines; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gwbench.results import ChurnActivation, ChurnRun
from gwbench.stats import median, quantile

SCHEMA = "gwbench.churn/1"
ACTIVATING = ("add", "add-custom", "rotate-certificate")
"""Kinds whose activation the data plane shows (a host answers with its own certificate)."""
SUPERSEDED = "superseded: changed again before it was seen"


@dataclass(frozen=True)
class ChangeRecord:
    event: int
    kind: str
    target: str
    at_s: float
    """Arrival, seconds from the start of the stream."""
    push: int | None
    """The push that carried it (None: never pushed)."""
    delivered_s: float | None
    """Arrival until the push carrying it was handed to Envoy."""
    latency_s: float | None
    """Arrival until the data plane showed it (activation, or a deleted host gone); None
    when the data plane cannot show it (path and backend changes) or it was not seen."""
    note: str = ""


@dataclass(frozen=True)
class PushRecord:
    number: int
    size: int
    started_s: float
    """Seconds from the start of the stream."""
    duration_s: float
    """Control plane pipeline plus handing to Envoy."""
    pipeline_s: float
    chains_built: int
    delta_bytes: int
    listener_bytes: int


@dataclass(frozen=True)
class ChurnResult:
    impl: str
    shape: str
    ingresses: int
    rate_per_min: float
    duration_s: float
    seed: int
    mode: str
    """``live`` or ``simulated``."""
    transport: str
    changes: tuple[ChangeRecord, ...]
    pushes: tuple[PushRecord, ...]
    disruption_requests: int = 0
    disruption_errors: int = 0
    disruption_examples: tuple[str, ...] = ()
    envoy_updates_s: tuple[float, ...] = ()
    """Each listener update Envoy took: renamed in until reported applied."""
    envoy_version: str = ""
    bytes_sent: int = 0
    """Bytes the transport handed to Envoy during the stream (initial load excluded)."""
    notes: tuple[str, ...] = field(default_factory=tuple)

    # summaries ---------------------------------------------------------------------------
    def activation_latencies(self) -> list[float]:
        return [
            c.latency_s for c in self.changes if c.kind in ACTIVATING and c.latency_s is not None
        ]

    def removal_latencies(self) -> list[float]:
        return [c.latency_s for c in self.changes if c.kind == "delete" and c.latency_s is not None]

    def not_seen(self) -> int:
        """Activations never seen (a host changed again before it answered is not one)."""
        return sum(
            1
            for c in self.changes
            if c.kind in ACTIVATING and c.latency_s is None and c.note != SUPERSEDED
        )

    def superseded(self) -> int:
        return sum(1 for c in self.changes if c.note == SUPERSEDED)

    def apply_latencies(self) -> list[float]:
        """Data plane's share of activations: seen minus handed over."""
        return [
            c.latency_s - c.delivered_s
            for c in self.changes
            if c.kind in ACTIVATING and c.latency_s is not None and c.delivered_s is not None
        ]

    def handover_latencies(self) -> list[float]:
        """The control plane's share of activations: arrival until handed to the transport."""
        return [
            c.delivered_s
            for c in self.changes
            if c.kind in ACTIVATING and c.delivered_s is not None
        ]

    def summary(self) -> dict[str, Any]:
        latencies = self.activation_latencies()
        removals = self.removal_latencies()
        durations = [p.duration_s for p in self.pushes]
        applies = self.apply_latencies()
        handovers = self.handover_latencies()

        def q(values: Sequence[float], p: float) -> float | None:
            return quantile(values, p) if values else None

        return {
            "impl": self.impl,
            "shape": self.shape,
            "ingresses": self.ingresses,
            "rate_per_min": self.rate_per_min,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "mode": self.mode,
            "transport": self.transport,
            "bytes_sent": self.bytes_sent,
            "changes": len(self.changes),
            "activations": len(latencies),
            "not_seen": self.not_seen(),
            "superseded": self.superseded(),
            "p50_s": q(latencies, 0.5),
            "p90_s": q(latencies, 0.9),
            "p99_s": q(latencies, 0.99),
            "max_s": max(latencies) if latencies else None,
            "removal_p50_s": q(removals, 0.5),
            "removal_max_s": max(removals) if removals else None,
            "pushes": len(self.pushes),
            "push_p50_s": median(durations) if durations else None,
            "push_max_s": max(durations) if durations else None,
            "apply_p50_s": median(applies) if applies else None,
            "handover_p50_s": q(handovers, 0.5),
            "handover_p99_s": q(handovers, 0.99),
            "envoy_updates": len(self.envoy_updates_s),
            "envoy_update_p50_s": median(self.envoy_updates_s) if self.envoy_updates_s else None,
            "largest_batch": max((p.size for p in self.pushes), default=0),
            "disruption_errors": self.disruption_errors,
            "disruption_requests": self.disruption_requests,
            "disruption_examples": list(self.disruption_examples),
            "envoy_version": self.envoy_version,
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        data = self.summary()
        data["change_records"] = [asdict(c) for c in self.changes]
        data["push_records"] = [asdict(p) for p in self.pushes]
        data["envoy_updates_s"] = list(self.envoy_updates_s)
        return data


def document(results: Sequence[ChurnResult], *, details: bool = True) -> dict[str, Any]:
    """The ``--json`` document."""
    return {
        "schema": SCHEMA,
        "results": [r.to_dict() if details else r.summary() for r in results],
    }


def results_record(result: ChurnResult) -> ChurnRun:
    """``result`` as the ``churn`` section of ``results.json`` stores it."""
    s = result.summary()
    activations = tuple(
        ChurnActivation(c.at_s, c.latency_s, c.kind)
        for c in result.changes
        if c.kind in ACTIVATING and c.latency_s is not None
    )
    return ChurnRun(
        impl=result.impl,
        shape=result.shape,
        transport=result.transport,
        ingresses=result.ingresses,
        rate_per_min=result.rate_per_min,
        duration_s=result.duration_s,
        seed=result.seed,
        changes=len(result.changes),
        not_seen=s["not_seen"],
        p50_s=s["p50_s"],
        p90_s=s["p90_s"],
        p99_s=s["p99_s"],
        max_s=s["max_s"],
        pushes=s["pushes"],
        push_p50_s=s["push_p50_s"],
        push_max_s=s["push_max_s"],
        largest_batch=s["largest_batch"],
        disruption_errors=result.disruption_errors,
        disruption_requests=result.disruption_requests,
        bytes_sent=result.bytes_sent,
        activations=activations,
    )
