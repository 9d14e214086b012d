"""The log-log chart renderer: valid SVG, one line per implementation, exponents in the
legend, ticks on both axes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gwbench.reports.svgchart import Series, format_count, log_ticks, loglog_chart
from gwbench.units import format_seconds

SVG = "{http://www.w3.org/2000/svg}"


def _series() -> list[Series]:
    sizes = (1250, 2500, 5000, 10000, 20000)
    return [
        Series("baseline", tuple((n, 1e-8 * n**2) for n in sizes), 2.0, 0.999, -18.42),
        Series("optimized", tuple((n, 1e-6 * n) for n in sizes), 1.01, 0.98, -13.8),
        Series("cached", tuple((n, 5e-7 * n) for n in sizes), None),
    ]


def test_chart_parses_and_has_one_path_per_implementation() -> None:
    # GIVEN three implementations WHEN charted THEN the SVG is well-formed XML with one
    # data line each, named after its implementation
    root = ET.fromstring(str(loglog_chart(_series(), title="gateway_lookup")))
    assert root.tag == f"{SVG}svg"
    paths = [p for p in root.iter(f"{SVG}path") if p.get("class") == "series"]
    assert [p.get("data-series") for p in paths] == ["baseline", "optimized", "cached"]
    assert len({p.get("stroke") for p in paths}) == 3
    # five markers per series, each with a hover title
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 15
    assert all(c.find(f"{SVG}title") is not None for c in circles)


def test_legend_shows_fitted_exponents() -> None:
    root = ET.fromstring(str(loglog_chart(_series(), title="t")))
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend[0] == "baseline  N^2.00 (R² 0.999)"
    assert legend[1] == "optimized  N^1.01 (R² 0.980)"
    assert legend[2] == "cached"  # no fit, no exponent claimed


def test_axes_have_ticks_and_a_higher_value_is_drawn_higher() -> None:
    root = ET.fromstring(str(loglog_chart(_series(), title="t")))
    x_ticks = [t.text for t in root.iter(f"{SVG}text") if "x-tick" in (t.get("class") or "")]
    y_ticks = [t.text for t in root.iter(f"{SVG}text") if "y-tick" in (t.get("class") or "")]
    assert "10k" in x_ticks and "2k" in x_ticks
    assert len(y_ticks) >= 3
    base = next(p for p in root.iter(f"{SVG}path") if p.get("data-series") == "baseline")
    ys = [float(seg.split(",")[1]) for seg in (base.get("d") or "").replace("M", "").split(" L")]
    assert ys == sorted(ys, reverse=True)  # time grows with N: SVG y shrinks


def test_dashed_fit_line_only_with_intercept() -> None:
    root = ET.fromstring(str(loglog_chart(_series(), title="t")))
    fits = [ln for ln in root.iter(f"{SVG}line") if ln.get("class") == "fit"]
    assert len(fits) == 2


def test_text_is_escaped() -> None:
    svg = str(loglog_chart([Series("<b>x</b>", ((1, 1.0), (10, 2.0)))], title="<script>"))
    assert "<b>" not in svg and "<script>" not in svg
    ET.fromstring(svg)


def test_empty_chart_says_so() -> None:
    root = ET.fromstring(str(loglog_chart([Series("a", ())], title="t")))
    assert any(t.text == "no data" for t in root.iter(f"{SVG}text"))


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (1.0, 1000.0, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
        (1.0, 1e5, [1, 10, 100, 1000, 1e4, 1e5]),
        (3.7e-5, 7.6e-5, [4e-5, 5e-5, 6e-5, 7e-5]),
        (3.1, 3.9, [3.1, 3.9]),
    ],
)
def test_log_ticks(low: float, high: float, expected: list[float]) -> None:
    assert log_ticks(low, high) == pytest.approx(expected)


def test_formats() -> None:
    assert format_count(20000) == "20k"
    assert format_seconds(0.0123) == "12.3 ms"
    assert format_seconds(4.2e-6) == "4.2 µs"
