"""Run ``gwbench`` in-process and capture its exit code and output (shared by CLI tests)."""

from __future__ import annotations

import pytest

from gwbench.harness.cli import main


def gwbench(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``gwbench args``: (exit code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err
