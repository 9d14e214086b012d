"""The real-Envoy table: ``gwbench envoy`` records (plain JSON mappings) in, lines out.

Pure: it reads only the records it is handed (the ``results`` of a ``gwbench.envoy/2``
document, or ``results.json``'s ``envoy`` section) and returns a list of lines, one per case,
plus a legend naming the Envoy version and the repeats. A field a record does not hold (an
older record) shows as ``-``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

HEADERS = (
    "N",
    "shape",
    "transport",
    "chains",
    "initial load s",
    "activation s",
    "act. CPU s",
    "act. bytes",
    "rotation s",
    "in place",
    "rejected",
    "RSS MB",
    "probes ok",
)
LEFT = frozenset({1, 2})


def seconds(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}" if value >= 0.01 else f"{value:.4f}"


def _spread(samples: object) -> str:
    if not isinstance(samples, Sequence) or len(samples) < 2:
        return ""
    values = [v for v in samples if isinstance(v, int | float)]
    if len(values) < 2:
        return ""
    return f" [{seconds(min(values))}-{seconds(max(values))}]"


def size(value: object) -> str:
    """Bytes as B, kB or MB (decimal)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return "-"
    if value < 10_000:
        return f"{value:,} B"
    if value < 10_000_000:
        return f"{value / 1e3:,.0f} kB"
    return f"{value / 1e6:,.1f} MB"


def _count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "-"


def transport_label(record: Mapping[str, Any]) -> str:
    """``files (pb)``, ``sotw`` or ``delta``."""
    transport = str(record.get("transport") or "files")
    fmt = record.get("format")
    return f"{transport} ({fmt})" if transport == "files" and fmt else transport


def row(record: Mapping[str, Any]) -> tuple[str, ...]:
    in_place = record.get("in_place")
    rss = record.get("rss_bytes")
    return (
        _count(record.get("ingresses")),
        str(record.get("shape", "-")),
        transport_label(record),
        _count(record.get("filter_chains")),
        seconds(record.get("initial_load_s")),
        seconds(record.get("activation_s")) + _spread(record.get("activation_samples_s")),
        seconds(record.get("activation_cpu_s")),
        size(record.get("activation_bytes")),
        seconds(record.get("rotation_s")) + _spread(record.get("rotation_samples_s")),
        "-" if not isinstance(in_place, bool) else ("yes" if in_place else "NO"),
        _count(record.get("update_rejected")),
        f"{rss / 1e6:,.0f}" if isinstance(rss, int) else "-",
        f"{_count(record.get('probes_ok'))}/{_count(record.get('probes'))}",
    )


def format_table(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Aligned text table, one line per case, a legend, and one line per failed probe."""
    rows = [HEADERS, *(row(r) for r in records)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = []
    for index, cells in enumerate(rows):
        padded = [
            c.ljust(w) if i in LEFT else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    if records:
        versions = sorted({str(r.get("envoy_version", "?")) for r in records})
        repeats = sorted({str(r.get("repeat", "?")) for r in records})
        lines.append(
            f"Envoy {', '.join(versions)}; activation and rotation: median of "
            f"{', '.join(repeats)} [min-max]; act. CPU: Envoy's CPU time per activation; "
            "act. bytes: what the transport delivered for one activation (xDS responses "
            "sent, or files written)"
        )
    for record in records:
        for failure in record.get("probe_failures") or ():
            if isinstance(failure, Mapping):
                lines.append(
                    f"probe failed: N={record.get('ingresses')} {record.get('shape')} "
                    f"{transport_label(record)} {failure.get('host')}: {failure.get('error')}"
                )
    return lines
