"""The ``gwbench churn`` text table, from the run summaries of the churn JSON document
(``results[]`` of ``gwbench.churn/1``: what ``ChurnResult.summary()`` returns).

A pure renderer: summaries in, lines out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gwbench.units import format_seconds

COLUMNS = (
    "impl",
    "shape",
    "transport",
    "mode",
    "N",
    "rate/min",
    "p50",
    "p90",
    "p99",
    "max",
    "seen",
    "cp p99",
    "envoy upd",
    "pushes",
    "push p50",
    "push max",
    "batch max",
    "disrupted",
    "requests",
)


def table_rows(summaries: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for s in summaries:
        live = s["mode"] == "live"
        rows.append(
            (
                str(s["impl"]),
                str(s["shape"]),
                str(s["transport"]),
                str(s["mode"]),
                f"{s['ingresses']:,}",
                f"{s['rate_per_min']:g}",
                format_seconds(s["p50_s"]),
                format_seconds(s["p90_s"]),
                format_seconds(s["p99_s"]),
                format_seconds(s["max_s"]),
                f"{s['activations']}/{s['activations'] + s['not_seen']}",
                format_seconds(s["handover_p99_s"]),
                format_seconds(s["envoy_update_p50_s"]),
                str(s["pushes"]),
                format_seconds(s["push_p50_s"]),
                format_seconds(s["push_max_s"]),
                str(s["largest_batch"]),
                str(s["disruption_errors"]) if live else "-",
                str(s["disruption_requests"]) if live else "-",
            )
        )
    return rows


def table_lines(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """A plain-text table: activation percentiles, pushes, disruption, per run.
    ``cp p99``: the control plane's share (arrival until handed to the transport);
    ``envoy upd``: Envoy's median time to apply one listener update."""
    rows = [COLUMNS, *table_rows(summaries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    notes = [f"note ({s['impl']}): {n}" for s in summaries for n in s.get("notes", ())]
    return [*lines, *notes]
