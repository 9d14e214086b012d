"""GIVEN a running process WHEN its CPU clock is read twice around work THEN it grew by at
least the work's CPU time, to better than a clock tick; a process that is gone reads None."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from gwbench.harness.envoy.cpuclock import process_cpu_seconds


def test_the_clock_of_this_process_counts_its_cpu() -> None:
    before = process_cpu_seconds(os.getpid())
    start = time.process_time()
    while time.process_time() - start < 0.003:
        pass
    after = process_cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert 0.003 <= after - before < 0.5


def test_a_process_that_is_gone_reads_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_cpu_seconds(child.pid) is None
