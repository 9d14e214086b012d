"""The side lane that runs profile and memory workers beside the checks."""

from __future__ import annotations

import threading
import time

import pytest

from gwbench.harness.sidelane import SideLane


class _Meter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.done: list[int] = []

    def job(self, i: int, seconds: float = 0.05) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(seconds)
        with self.lock:
            self.running -= 1
            self.done.append(i)


def test_a_lane_runs_at_most_as_many_jobs_as_it_has_workers() -> None:
    # GIVEN a lane of one worker WHEN four jobs are drained THEN they never overlapped
    lane, meter = SideLane(1), _Meter()
    for i in range(4):
        lane.submit(lambda i=i: meter.job(i))
    lane.drain()
    assert meter.most == 1 and sorted(meter.done) == [0, 1, 2, 3]
    lane.stop()
    # GIVEN a lane of two WHEN four longer jobs are drained THEN two ran at once, no more
    lane, meter = SideLane(2), _Meter()
    for i in range(4):
        lane.submit(lambda i=i: meter.job(i, 0.2))
    lane.drain()
    assert meter.most == 2 and len(meter.done) == 4
    lane.stop()


def test_drain_reraises_a_failed_job_and_waits_for_jobs_a_job_queued() -> None:
    lane, meter = SideLane(), _Meter()
    lane.submit(lambda: lane.submit(lambda: meter.job(2)))
    lane.drain()
    assert meter.done == [2]

    def broken() -> None:
        raise RuntimeError("worker driver bug")

    lane.submit(broken)
    with pytest.raises(RuntimeError, match="worker driver bug"):
        lane.drain()
    lane.stop()


def test_stop_drops_waiting_jobs_and_refuses_new_ones() -> None:
    # GIVEN a lane of one worker: one long job running and two waiting
    lane, meter = SideLane(1), _Meter()
    for i in range(3):
        lane.submit(lambda i=i: meter.job(i, 0.3))
    time.sleep(0.1)
    # WHEN the lane stops THEN only the running job finishes, and nothing new starts
    lane.stop()
    lane.submit(lambda: meter.job(99))
    lane.join()
    time.sleep(0.4)
    assert len(meter.done) == 1 and meter.done[0] in (0, 1)


def test_the_highest_priority_waiting_job_starts_first() -> None:
    # GIVEN a lane of one worker: one job running, three waiting, queued as 1, 3, 2
    lane, meter = SideLane(1), _Meter()
    release = threading.Event()

    def first() -> None:
        release.wait(5.0)
        meter.job(0, 0.0)

    lane.submit(first)
    time.sleep(0.1)  # it has started
    for priority in (1.0, 3.0, 2.0):
        lane.submit(lambda p=priority: meter.job(int(p), 0.0), priority=priority)
    # WHEN the running job ends THEN the others run from the highest priority down
    release.set()
    lane.drain()
    assert meter.done == [0, 3, 2, 1]
    lane.stop()
