"""Pure formatters for Envoy results: records in, lines or a JSON document out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gwbench.harness.envoy.measure import RESULT_SCHEMA, EnvoyResult

HEADERS = (
    "N",
    "shape",
    "fmt",
    "chains",
    "initial load s",
    "activation s",
    "act. CPU s",
    "rotation s",
    "in place",
    "rejected",
    "RSS MB",
    "probes ok",
)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}" if value >= 0.01 else f"{value:.4f}"


def _spread(samples: Sequence[float]) -> str:
    if len(samples) < 2:
        return ""
    return f" [{_seconds(min(samples))}-{_seconds(max(samples))}]"


def row(result: EnvoyResult) -> tuple[str, ...]:
    return (
        f"{result.ingresses:,}",
        result.shape,
        result.format,
        f"{result.filter_chains:,}",
        _seconds(result.initial_load_s),
        _seconds(result.activation_s) + _spread(result.activation_samples_s),
        _seconds(result.activation_cpu_s),
        _seconds(result.rotation_s) + _spread(result.rotation_samples_s),
        "yes" if result.in_place else "NO",
        str(result.update_rejected),
        f"{result.rss_bytes / 1e6:,.0f}",
        f"{result.probes_ok}/{result.probes}",
    )


def format_table(results: Sequence[EnvoyResult]) -> list[str]:
    """Aligned text table, one line per case, plus a line naming the Envoy version."""
    rows = [HEADERS, *(row(r) for r in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = []
    for index, cells in enumerate(rows):
        padded = [
            c.ljust(w) if i in (1, 2) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    if results:
        versions = sorted({r.envoy_version for r in results})
        repeats = sorted({r.repeat for r in results})
        lines.append(
            f"Envoy {', '.join(versions)}; activation and rotation: median of "
            f"{', '.join(map(str, repeats))} [min-max]; act. CPU: Envoy's CPU time per activation"
        )
    for result in results:
        for failure in result.probe_failures:
            lines.append(
                f"probe failed: N={result.ingresses} {result.shape} {failure.host}: {failure.error}"
            )
    return lines


def results_document(results: Sequence[EnvoyResult], options: dict[str, Any]) -> dict[str, Any]:
    """The versioned JSON document of ``gwbench envoy --json`` / ``-o``."""
    return {
        "schema": RESULT_SCHEMA,
        "options": options,
        "results": [r.to_dict() for r in results],
    }
