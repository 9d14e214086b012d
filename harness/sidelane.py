"""The side lane of a run: its check, profile and memory workers, two at a time.

A run queues every equivalence check here (N first), and each check, once recorded,
queues the profile and memory workers it makes possible. Jobs carry a priority (about
their expected seconds): the longest waiting job starts first, so that two lanes finish
close together. The lane never overlaps timing: the orchestrator drains it before the
first benchmark is timed. A profile's samples and memray's peak and allocation count do
not depend on what else runs; the checks' calibration calls may run a little slower
beside another worker, which only makes the time budget more cautious.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable

POLL_SECONDS = 0.5
"""How often a waiting main thread wakes up, so that Ctrl-C is handled at once."""


class SideLane:
    """Background jobs (each drives one child process), at most ``workers`` at once."""

    def __init__(self, workers: int = 2) -> None:
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._running = 0
        self._stopped = False
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._loop, name=f"gwbench-side-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for thread in self._threads:
            thread.start()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def submit(self, job: Callable[[], None], priority: float = 0.0) -> None:
        """Queue ``job``; among waiting jobs the highest priority starts first (then the
        earliest queued)."""
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._queue, (-priority, next(self._order), job))
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and not self._queue:
                    self._cond.wait()
                if self._stopped:
                    return
                _, _, job = heapq.heappop(self._queue)
                self._running += 1
            try:
                job()
            except BaseException as exc:  # handed to the main thread by drain()
                with self._cond:
                    self._errors.append(exc)
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def drain(self, waiting: Callable[[int], None] | None = None) -> None:
        """Wait for every queued job, and for jobs those queue; re-raise the first
        exception a job raised. ``waiting`` hears how many jobs are left when that
        changes."""
        last = -1
        while True:
            with self._cond:
                if self._errors:
                    raise self._errors[0]
                left = len(self._queue) + self._running
                if left == 0:
                    return
                if waiting is None or left == last:
                    self._cond.wait(timeout=POLL_SECONDS)
                    continue
            last = left
            waiting(left)

    def stop(self) -> None:
        """No new job starts; waiting ones are dropped. Running ones finish on their own
        (the caller kills their child processes)."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()

    def join(self, timeout: float = 10.0) -> None:
        """After :meth:`stop`: give running jobs a moment to return."""
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
