"""GIVEN results with fabricated churn runs WHEN the report is rendered THEN it has a churn
section with both charts (one line per control plane) and the table; without churn runs it
has none."""

from __future__ import annotations

import dataclasses

from gwbench.reports.churn import churn_section, table_rows, waiting_series
from gwbench.reports.churn_table import table_lines
from gwbench.reports.html import render_html
from gwbench.results import ChurnActivation, ChurnRun
from tests.report_data import results


def run(impl: str, transport: str, latencies: list[float], errors: int = 0) -> ChurnRun:
    activations = tuple(
        ChurnActivation(at_s=1.0 + i, latency_s=x, kind="add") for i, x in enumerate(latencies)
    )
    ordered = sorted(latencies)
    return ChurnRun(
        impl=impl,
        shape="per-host",
        transport=transport,
        ingresses=4000,
        rate_per_min=60.0,
        duration_s=60.0,
        seed=1,
        changes=len(latencies) + 1,
        not_seen=1,
        p50_s=ordered[len(ordered) // 2],
        p90_s=ordered[-1],
        p99_s=ordered[-1],
        max_s=ordered[-1],
        pushes=len(latencies),
        push_p50_s=0.5,
        push_max_s=2.0,
        largest_batch=3,
        disruption_errors=errors,
        disruption_requests=900,
        bytes_sent=12345,
        activations=activations,
    )


RUNS = (
    run("baseline", "sotw", [4.0, 9.0, 17.0, 31.0]),
    run("incremental", "delta", [0.2, 0.25, 0.3, 0.21], errors=2),
)


def test_the_report_has_a_churn_section_with_both_charts_and_the_table() -> None:
    html = render_html(dataclasses.replace(results(), churn=RUNS))
    assert 'id="churn"' in html and 'href="#churn"' in html
    assert 'id="chart-churn-timeline"' in html and 'id="chart-churn-cdf"' in html
    section = html[html.index('id="churn"') :]
    # one line per control plane in each chart
    assert section.count('data-series="baseline (per-host, sotw)"') == 2
    assert section.count('data-series="incremental (per-host, delta)"') == 2
    assert "4/5" in section  # activations seen of those expected
    assert "2 disruption error(s)" in section


def test_a_report_without_churn_has_no_churn_section() -> None:
    html = render_html(results())
    assert 'id="churn"' not in html and churn_section(None) is None


def test_the_rows_and_the_distribution_follow_the_runs() -> None:
    rows = table_rows(RUNS)
    assert [r[0] for r in rows] == ["baseline", "incremental"]
    assert rows[0][2] == "sotw" and rows[0][3] == "4,000"
    shares = waiting_series(RUNS)[0].points
    # sorted latencies, each with the share of changes that took at least that long
    assert shares == ((4.0, 1.0), (9.0, 0.75), (17.0, 0.5), (31.0, 0.25))


def test_the_churn_text_table_lines_up_one_row_per_run() -> None:
    summary = {
        "impl": "optimized",
        "shape": "per-host",
        "transport": "sotw",
        "mode": "live",
        "ingresses": 4000,
        "rate_per_min": 60.0,
        "p50_s": 0.5,
        "p90_s": 1.0,
        "p99_s": 2.0,
        "max_s": None,
        "activations": 9,
        "not_seen": 1,
        "handover_p99_s": 0.4,
        "envoy_update_p50_s": 0.1,
        "pushes": 7,
        "push_p50_s": 0.3,
        "push_max_s": 0.6,
        "largest_batch": 2,
        "disruption_errors": 0,
        "disruption_requests": 500,
        "notes": ["initial load 1.00 s"],
    }
    lines = table_lines([summary, {**summary, "impl": "baseline", "mode": "simulated"}])
    assert len({len(line) for line in lines[:3]}) == 1  # aligned columns
    assert "sotw" in lines[1] and "9/10" in lines[1] and "4,000" in lines[1]
    assert lines[2].rstrip().endswith("-")  # no disruption figures for a simulation
    assert lines[3] == "note (optimized): initial load 1.00 s"
