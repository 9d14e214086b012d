"""The report's churn section: activation latency under a live change stream.

Pure functions from the ``churn`` records of ``results.json`` (:class:`ChurnRun`) to what
the report shows: the activation latency of every change against its arrival time, one
line per control plane (a full push that cannot keep up climbs; one that can stays flat),
the latency distribution as the share of changes still waiting after each latency
(``1 - CDF``, log-log, so the tail is readable), and the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from gwbench.reports.churn_table import COLUMNS as CONSOLE_COLUMNS
from gwbench.reports.svgchart import Series, loglog_chart
from gwbench.results import ChurnRun
from gwbench.units import format_seconds

COLUMNS = tuple(c for c in CONSOLE_COLUMNS if c not in ("mode", "cp p99", "envoy upd"))
"""The console table's columns (:mod:`.churn_table`) but the mode and the control plane's
and Envoy's shares."""


def label(run: ChurnRun) -> str:
    """The run's name in legends: implementation, shape and transport."""
    return f"{run.impl} ({run.shape}, {run.transport})"


def table_rows(runs: Sequence[ChurnRun]) -> tuple[tuple[str, ...], ...]:
    """One row per run, in :data:`COLUMNS` order."""
    return tuple(
        (
            run.impl,
            run.shape,
            run.transport,
            f"{run.ingresses:,}",
            f"{run.rate_per_min:g}",
            format_seconds(run.p50_s),
            format_seconds(run.p90_s),
            format_seconds(run.p99_s),
            format_seconds(run.max_s),
            f"{len(run.activations)}/{len(run.activations) + run.not_seen}",
            str(run.pushes),
            format_seconds(run.push_p50_s),
            format_seconds(run.push_max_s),
            str(run.largest_batch),
            str(run.disruption_errors),
            str(run.disruption_requests),
        )
        for run in runs
    )


def timeline_series(runs: Sequence[ChurnRun]) -> tuple[Series, ...]:
    """Per run: (arrival seconds, activation latency) of every activation, in arrival order."""
    return tuple(
        Series(label(run), tuple(sorted((a.at_s, a.latency_s) for a in run.activations)))
        for run in runs
    )


def waiting_series(runs: Sequence[ChurnRun]) -> tuple[Series, ...]:
    """Per run: (latency, share of activations that took at least that long)."""
    out = []
    for run in runs:
        latencies = sorted(a.latency_s for a in run.activations)
        n = len(latencies)
        out.append(Series(label(run), tuple((x, (n - i) / n) for i, x in enumerate(latencies))))
    return tuple(out)


def _share(value: float) -> str:
    return f"{value * 100:.3g}%"


def _elapsed(value: float) -> str:
    return f"{value:.3g} s"


@dataclass(frozen=True)
class ChurnSection:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    timeline: Markup
    waiting: Markup
    disruption_errors: int
    seed_figures: str = (
        "The seed's production figures, 20,000+ Ingresses: more than 10 minutes for a new "
        "domain (30 at peaks) before the fixes, under 5 s after."
    )


def churn_section(runs: Sequence[ChurnRun] | None) -> ChurnSection | None:
    """The section, or None when the results hold no churn run."""
    if not runs:
        return None
    timeline = loglog_chart(
        timeline_series(runs),
        title="Activation latency of every change over the stream",
        x_label="arrival (seconds into the stream)",
        y_label="activation latency",
        x_format=_elapsed,
        chart_id="chart-churn-timeline",
    )
    waiting = loglog_chart(
        waiting_series(runs),
        title="Latency distribution: share of changes waiting at least this long",
        x_label="activation latency",
        y_label="share of changes (1 - CDF)",
        x_format=format_seconds,
        y_format=_share,
        chart_id="chart-churn-cdf",
    )
    return ChurnSection(
        COLUMNS,
        table_rows(runs),
        timeline,
        waiting,
        sum(run.disruption_errors for run in runs),
    )
