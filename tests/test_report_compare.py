"""Comparison of two results: verdicts per docs/gate.md, regressions first, refusals (exit 2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from gwbench.errors import InputError
from gwbench.harness.cli import main
from gwbench.reports.regression import ComparisonRow, compare_results, verdict
from gwbench.results import Point, write_results
from tests import report_data


@pytest.mark.parametrize(
    ("ratio", "low", "high", "expected"),
    [
        (1.25, 1.15, 1.40, "regression"),
        (1.25, 0.95, 1.40, "inconclusive"),  # interval reaches below 1
        (1.08, 1.02, 1.12, "slower"),
        (1.00, 0.98, 1.03, "no change"),
        (1.03, 1.01, 1.045, "no change"),  # inside the band, though above 1
        (0.93, 0.90, 0.97, "faster"),
        (0.80, 0.70, 0.88, "faster"),
        (0.80, 0.70, 1.02, "inconclusive"),
    ],
)
def test_verdicts_follow_the_one_ladder(
    ratio: float, low: float, high: float, expected: str
) -> None:
    assert verdict(ratio, low, high) == expected


def test_a_file_against_itself_is_no_change_in_every_row() -> None:
    # GIVEN noisy results (values spread by a few percent)
    results = report_data.results()
    # WHEN compared with themselves
    comparison = compare_results(results, results)
    # THEN every row is no change, its interval the point 1 (one sample, not two)
    assert comparison.rows and comparison.count("no change") == len(comparison.rows)
    assert all(r.identical and r.ci_low == r.ci_high == 1.0 for r in comparison.rows)


def _changed_point(change: Callable[[Point], Point]) -> ComparisonRow:
    """The comparison row of the fabricated results against a copy in which the first
    hot path's optimized implementation has its first point changed by ``change``."""
    reference = report_data.results()
    hp = reference.hotpaths[0]
    impl = hp.implementations[1]
    point = change(impl.points[0])
    changed = replace(impl, points=(point, *impl.points[1:]))
    candidate = replace(
        reference,
        hotpaths=(
            replace(hp, implementations=(hp.implementations[0], changed)),
            *reference.hotpaths[1:],
        ),
    )
    return next(
        r
        for r in compare_results(reference, candidate).rows
        if (r.hotpath, r.implementation, r.size) == (hp.name, impl.name, point.size)
    )


def test_independent_runs_keep_their_interval() -> None:
    # GIVEN a candidate whose values differ from the reference's by a few percent each
    def jittered(point: Point) -> Point:
        assert point.timing is not None
        values = point.timing.values
        jitter = [1.0 + 0.04 * ((i % 3) - 1) for i in range(len(values))]
        moved = tuple(v * j for v, j in zip(values, jitter, strict=True))
        return replace(point, timing=replace(point.timing, values=moved))

    # WHEN compared
    row = _changed_point(jittered)
    # THEN the two samples are resampled independently: an interval, not a point
    assert not row.identical and row.ci_low < row.ratio < row.ci_high


def test_fabricated_regression_is_listed_first() -> None:
    # GIVEN a reference and a candidate whose optimized gateway_lookup is 30% slower
    reference = report_data.results()
    candidate = report_data.results(slowdown=1.3)
    # WHEN compared
    comparison = compare_results(reference, candidate)
    # THEN the regressions come first, each for the slowed implementation
    first = comparison.rows[0]
    assert (first.hotpath, first.implementation, first.verdict) == (
        "gateway_lookup",
        "optimized",
        "regression",
    )
    assert first.ratio == pytest.approx(1.3, rel=0.05)
    assert first.ci_low > 1.0
    regressions = comparison.regressions
    assert {(r.hotpath, r.implementation) for r in regressions} == {("gateway_lookup", "optimized")}
    assert len(regressions) == len(report_data.SIZES)
    verdicts = [r.verdict for r in comparison.rows]
    assert verdicts[: len(regressions)] == ["regression"] * len(regressions)
    assert "regression" not in verdicts[len(regressions) :]


def test_unchanged_code_is_no_regression() -> None:
    comparison = compare_results(report_data.results(), report_data.results())
    assert not comparison.regressions
    assert comparison.count("no change") == len(comparison.rows)


def test_counter_changes_are_listed() -> None:
    row = _changed_point(lambda p: replace(p, counters={**p.counters, "lookups": 999}))
    assert [(c.name, c.candidate) for c in row.counter_changes] == [("lookups", 999)]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"seed": 7}, "seed"),
        ({"source": "file:/tmp/mine.yaml"}, "source"),
        ({"custom_domain_share": 0.5}, "custom-domain share"),
        ({"ingresses": 20000}, "N (Ingresses)"),
    ],
)
def test_different_workloads_are_refused(changes: dict[str, object], named: str) -> None:
    reference = report_data.results()
    candidate = report_data.with_workload(reference, **changes)
    with pytest.raises(InputError, match="different workloads") as info:
        compare_results(reference, candidate)
    assert named in str(info.value)


def test_different_schema_versions_are_refused() -> None:
    reference = report_data.results()
    with pytest.raises(InputError, match="schema version"):
        compare_results(reference, replace(reference, schema_version=0))


def test_cli_refuses_mismatched_workloads_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN two results files of different seeds
    write_results(report_data.results(), tmp_path / "ref" / "results.json")
    write_results(report_data.results(seed=7), tmp_path / "new" / "results.json")
    # WHEN rendering with --compare THEN exit 2, one clear line, no report written
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path / "new"), "--compare", str(tmp_path / "ref")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "gwbench: error:" in err and "different workloads" in err
    assert "seed 42 in the reference, 7 here" in err
    assert "Traceback" not in err
    assert not (tmp_path / "new" / "report.html").exists()


def test_cli_compare_renders_regression_first(tmp_path: Path) -> None:
    write_results(report_data.results(), tmp_path / "ref" / "results.json")
    write_results(report_data.results(slowdown=1.3), tmp_path / "new" / "results.json")
    main(
        [
            "report",
            str(tmp_path / "new" / "results.json"),
            "--compare",
            str(tmp_path / "ref" / "results.json"),
        ]
    )
    html = (tmp_path / "new" / "report.html").read_text()
    table = html[html.index('<table class="data comparison">') :]
    first_row = table[table.index("<tbody>") : table.index("</tr>", table.index("<tbody>"))]
    assert "verdict-regression" in first_row and "gateway_lookup" in first_row


def test_cli_input_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", str(tmp_path / "missing")])
    assert exc.value.code == 2
    assert "no such results file" in capsys.readouterr().err
    future = tmp_path / "future.json"
    future.write_text('{"schema_version": 99}')
    with pytest.raises(SystemExit) as exc:
        main(["report", str(future)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "99" in err and "schema version" in err and "Traceback" not in err
