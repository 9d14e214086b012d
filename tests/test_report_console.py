"""The run's console output: the summary table (80 columns, slowdowns marked) and the
progress lines a CI log gets instead of a progress bar."""

from __future__ import annotations

import io
from dataclasses import replace

from gwbench.harness.progress import LineProgress, RichProgress, progress_for
from gwbench.reports.console import SLOWER_MARK, render_console
from tests import report_data


def test_table_fits_80_columns_and_marks_the_slowdown() -> None:
    # GIVEN a slower fix, an ablation, and hot path and implementation names far too long
    results = report_data.results(slowdown=20.0, ablation=True)
    hp = results.hotpaths[0]
    long_impl = replace(hp.implementations[2], name="serialized_with_a_very_long_name_indeed")
    hp = replace(
        hp,
        name="a_plugin_hot_path_with_a_name_of_forty_chars",
        implementations=(*hp.implementations[:2], long_impl),
    )
    results = replace(results, hotpaths=(hp, *results.hotpaths[1:]))
    # WHEN the table is rendered
    lines = render_console(results)
    # THEN no line is wider than 80 columns
    assert max(len(line) for line in lines) <= 80
    # the slower row says so, and only that row
    marked = [line for line in lines if SLOWER_MARK in line]
    assert len(marked) == 1 and "optimized" in marked[0]
    # every timed row names its hot path (clipped) for grep
    rows = [line for line in lines if "serialized" in line or "optimized" in line]
    assert all(line.startswith("a_plugin_hot") for line in rows[:2])
    # the thresholds and the CI level close it
    assert any("±5%" in line for line in lines) and "95% CI" in lines[3]


def test_progress_without_a_terminal_is_one_line_per_finished_step() -> None:
    # GIVEN a fake clock and a stream that is not a terminal
    now = [100.0]
    out = io.StringIO()
    progress = LineProgress(out, clock=lambda: now[0])
    # WHEN a run of three steps goes by
    progress.start(3)
    progress.describe("time gateway_lookup/baseline N=2000 (3x5 values)")
    now[0] += 12.0
    progress.advance()
    progress.describe("time gateway_lookup/optimized N=2000 (3x5 values)")
    now[0] += 3.5
    progress.advance()
    progress.note("gwbench: warning: something to know")
    now[0] += 60.0
    progress.advance()
    progress.stop()
    # THEN each finished step is one line, with the plan's count and the time
    lines = out.getvalue().splitlines()
    assert lines[0] == "gwbench: 3 steps"
    assert (
        lines[1] == "gwbench [1/3] 0:12 +12.0 s  time gateway_lookup/baseline N=2000 (3x5 values)"
    )
    assert (
        lines[2] == "gwbench [2/3] 0:15 +3.5 s  time gateway_lookup/optimized N=2000 (3x5 values)"
    )
    assert lines[3] == "gwbench: warning: something to know"
    assert lines[4].startswith("gwbench [3/3] 1:15 +60.0 s")
    assert lines[5] == "gwbench: 3 of 3 steps in 1:15"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_for_picks_the_bar_only_for_a_terminal() -> None:
    assert isinstance(progress_for(io.StringIO()), LineProgress)
    assert isinstance(progress_for(_Tty()), RichProgress)
