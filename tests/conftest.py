"""Fixtures every test gets."""

from __future__ import annotations

import pytest

from gwbench.harness.summary_file import STEP_SUMMARY_ENV


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run``, ``merge`` and ``gate`` append to ``$GITHUB_STEP_SUMMARY``: in a CI job the
    tests would write into the job's own summary page. Unset for every test; a test that
    checks the summary sets it itself (its ``monkeypatch.setenv`` comes after this)."""
    monkeypatch.delenv(STEP_SUMMARY_ENV, raising=False)
