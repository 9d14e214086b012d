"""The CPU time another process has used, to the nanosecond: its process CPU clock.

``/proc/<pid>/stat`` gives user and system time in clock ticks (10 ms), too coarse for an
activation that costs Envoy a few milliseconds. Linux exposes every process's CPU clock to
``clock_gettime`` under the id ``clock_getcpuclockid(pid)`` returns (``MAKE_PROCESS_CPUCLOCK
(pid, CPUCLOCK_SCHED)``: ``(~pid << 3) | 2``): the scheduler's runtime of all the process's
threads, user plus system, exited threads included, in nanoseconds.
"""

from __future__ import annotations

import time

_CPUCLOCK_SCHED = 2


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds process ``pid`` has used so far (every thread, user plus system); None
    where the clock cannot be read (the process is gone, or the system has no such clock)."""
    try:
        return time.clock_gettime_ns((~pid << 3) | _CPUCLOCK_SCHED) / 1e9
    except (OSError, OverflowError, AttributeError):
        return None
