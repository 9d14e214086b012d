"""The one atomic write and the one seconds formatter."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import pytest

from gwbench.files import atomic_write_bytes, atomic_write_text
from gwbench.units import format_seconds


def test_atomic_write_replaces_whole_and_creates_the_directory(tmp_path: Path) -> None:
    # GIVEN a target in a directory that does not exist yet
    path = tmp_path / "a" / "b.txt"
    # WHEN written twice THEN the second write replaces the first, whole
    atomic_write_text(path, "old")
    atomic_write_bytes(path, b"new \xe2\x9c\x93")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert [p.name for p in path.parent.iterdir()] == ["b.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.json"
    atomic_write_text(path, "old")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_written_files_get_the_umask_permissions_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "report.html", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0123, "12.3 ms"),
        (4.2e-6, "4.2 µs"),
        (3.1e-8, "31 ns"),
        (1.5, "1.5 s"),
        (48.27, "48.3 s"),
        (1234.0, "1,234 s"),
        (0.0, "0 s"),
        (-0.002, "-2 ms"),
        (None, "–"),
        (math.nan, "–"),
        (math.inf, "–"),
    ],
)
def test_seconds_read_in_the_unit_that_keeps_three_digits(
    seconds: float | None, text: str
) -> None:
    assert format_seconds(seconds) == text


def test_a_missing_figure_can_read_otherwise() -> None:
    assert format_seconds(None, missing="-") == "-"
