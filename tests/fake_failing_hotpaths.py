"""Toy hot paths whose optimized twin fails inside the check (for ``gwbench verify``'s exit
codes): ``fake_raises`` raises, ``fake_unreadable`` returns what its ``compare`` cannot
read, ``fake_limited`` may run only up to 10 Ingresses (``max_size``)."""

from __future__ import annotations

from typing import Any

from gwbench.harness.registry import HotPath, Implementation, register
from gwbench.workloads.counters import Counters
from gwbench.workloads.model import Workload


def make_inputs(workload: Workload) -> int:
    return len(workload.ingresses)


def baseline(n: int, counters: Counters) -> list[int]:
    return list(range(n))


def raises(n: int, counters: Counters) -> list[int]:
    raise RuntimeError("boom inside the twin")


def unreadable(n: int, counters: Counters) -> Any:
    return None


def compare(expected: list[int], actual: list[int]) -> str | None:
    return None if list(expected) == list(actual) else "lists differ"


def _toy(name: str, twin: Any, max_size: int | None = None) -> HotPath:
    return register(
        HotPath(
            name=name,
            title=name,
            models="nothing real: a test double for verify",
            make_inputs=make_inputs,
            implementations=(
                Implementation("baseline", "baseline", baseline, "tests.fake_failing_hotpaths"),
                Implementation(
                    "optimized", "optimized", twin, "tests.fake_failing_hotpaths", max_size
                ),
            ),
            compare=compare,
            counters=(),
        )
    )


FAKE_RAISES = _toy("fake_raises", raises)
FAKE_UNREADABLE = _toy("fake_unreadable", unreadable)
FAKE_LIMITED = _toy("fake_limited", raises, max_size=10)
