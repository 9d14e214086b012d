"""Work that may overlap: the profile and memory workers of a run.

They never overlap timing. While the equivalence checks run in the orchestrator's own
process (one core), the lane runs one worker at a time on the other core; once the checks
are done it may run two at a time, and it is drained before the first benchmark is timed.
A profile's samples and memray's peak and allocation count do not depend on what else
runs; the checks' calibration calls may run a little slower, which only makes the time
budget more cautious.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

POLL_SECONDS = 0.5
"""How often a waiting main thread wakes up, so that Ctrl-C is handled at once."""


class SideLane:
    """A few background jobs (each drives one child process), at most ``limit`` at once."""

    def __init__(self, max_workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="gwbench")
        self._cond = threading.Condition()
        self._limit = 1
        self._running = 0
        self._stopped = False
        self._futures: list[Future[None]] = []

    @property
    def stopped(self) -> bool:
        return self._stopped

    def set_limit(self, limit: int) -> None:
        with self._cond:
            self._limit = max(1, limit)
            self._cond.notify_all()

    def submit(self, job: Callable[[], None]) -> None:
        with self._cond:
            if self._stopped:
                return
            self._futures.append(self._pool.submit(self._run, job))

    def _run(self, job: Callable[[], None]) -> None:
        with self._cond:
            while not self._stopped and self._running >= self._limit:
                self._cond.wait()
            if self._stopped:
                return
            self._running += 1
        try:
            job()
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def _snapshot(self) -> list[Future[None]]:
        with self._cond:
            return list(self._futures)

    @property
    def pending(self) -> int:
        return sum(1 for f in self._snapshot() if not f.done())

    def drain(self) -> None:
        """Wait for every submitted job; re-raise the first exception a job raised.

        A running job may submit another; it is waited for too."""
        while True:
            futures = self._snapshot()
            for f in futures:
                if f.done() and not f.cancelled() and f.exception() is not None:
                    raise f.exception()  # type: ignore[misc]
            pending = [f for f in futures if not f.done()]
            if not pending:
                return
            wait(pending, timeout=POLL_SECONDS, return_when=FIRST_EXCEPTION)

    def stop(self) -> None:
        """No new job starts; waiting ones are dropped. Running ones finish on their own
        (the caller kills their child processes)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def join(self, timeout: float = 10.0) -> None:
        """After :meth:`stop`: give running jobs a moment to return."""
        for f in self._snapshot():
            if not f.done():
                wait([f], timeout=timeout)
