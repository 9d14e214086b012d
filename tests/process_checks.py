"""Process checks shared by the tests that start real Envoys."""

from __future__ import annotations

import os


def gone(pid: int) -> bool:
    """True when no process ``pid`` exists any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
