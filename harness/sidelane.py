"""The side lane of a run: its check, profile and memory workers, two at a time.

A run queues every equivalence check here (N first), and each check, once recorded,
queues the profile and memory workers it makes possible. The lane never overlaps timing:
the orchestrator drains it before the first benchmark is timed. A profile's samples and
memray's peak and allocation count do not depend on what else runs; the checks'
calibration calls may run a little slower beside another worker, which only makes the
time budget more cautious.
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
        """Starts at one job at a time; :meth:`set_limit` raises it (up to ``max_workers``)."""
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

    def drain(self, waiting: Callable[[int], None] | None = None) -> None:
        """Wait for every submitted job; re-raise the first exception a job raised.

        A running job may submit another; it is waited for too. ``waiting`` hears how many
        jobs are left, whenever that changes."""
        last = -1
        while True:
            futures = self._snapshot()
            for f in futures:
                if f.done() and not f.cancelled() and f.exception() is not None:
                    raise f.exception()  # type: ignore[misc]
            pending = [f for f in futures if not f.done()]
            if not pending:
                return
            if waiting is not None and len(pending) != last:
                last = len(pending)
                waiting(last)
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
