"""Process checks shared by the tests that start real Envoys."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def gone(pid: int) -> bool:
    """True when no process ``pid`` exists any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@contextlib.contextmanager
def recording_envoys(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, Path]]]:
    """Every Envoy a ``LocalEnvoy`` starts inside the block (pid, folder); on leaving the
    block, asserts that each process is gone and its folder removed."""
    from gwbench.harness.envoy import session

    seen: list[tuple[int, Path]] = []
    original = session.LocalEnvoy._start

    def record(self: session.LocalEnvoy) -> None:
        original(self)
        assert self.workdir is not None
        seen.append((self.process.pid, self.workdir))

    monkeypatch.setattr(session.LocalEnvoy, "_start", record)
    yield seen
    for pid, folder in seen:
        assert gone(pid), f"Envoy {pid} still running"
        assert not folder.exists(), f"{folder} left behind"
