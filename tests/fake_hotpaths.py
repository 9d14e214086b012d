"""Toy hot paths for the harness's own tests. Importing this module registers them; tests
do it through GWBENCH_EXTRA_HOTPATHS (see harness_fakes.install), so that benchmark worker
processes register them too.

``fake_search``: resolve every name of a list to its position, by a linear scan per name
(baseline, O(N^2) comparisons) or through a dict built once (optimized, O(N)).
``fake_broken``: the same, with an optimized twin that returns a wrong position, for the
equivalence check to catch; ``fake_broken_small`` is wrong only below 25 names (a
mismatch that only a smaller sweep size shows). ``fake_pickled``: ``fake_search`` with a
``specialize`` step and inputs the workers load pickled. ``fake_flaky``: a twin that
crashes in benchmark workers. ``fake_slow``: ``fake_search`` whose baseline also keeps
the CPU busy for :data:`SLOW_SECONDS` per call (a call long enough to be profiled from
the equivalence check). ``fake_limited``: ``fake_search`` with a third, quadratic
implementation that runs only up to :data:`LIMIT` names (its registry ``max_size``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from gwbench.harness.registry import HotPath, Implementation, register
from gwbench.workloads.counters import Counters
from gwbench.workloads.model import Workload


def make_inputs(workload: Workload) -> list[str]:
    return [str(ing.metadata.name) if ing.metadata else "" for ing in workload.ingresses]


def scan(names: list[str], counters: Counters) -> list[int]:
    out = []
    comparisons = 0
    for wanted in names:
        for i, name in enumerate(names):
            comparisons += 1
            if name == wanted:
                out.append(i)
                break
    counters.add("comparisons", comparisons)
    counters.add("lookups", len(names))
    return out


def mapped(names: list[str], counters: Counters) -> list[int]:
    index = {name: i for i, name in enumerate(names)}
    counters.add("dict_builds", 1)
    counters.add("lookups", len(names))
    return [index[name] for name in names]


def mapped_wrong(names: list[str], counters: Counters) -> list[int]:
    out = mapped(names, counters)
    if len(out) > 2:
        out[2] = out[1]
    return out


def mapped_wrong_small(names: list[str], counters: Counters) -> list[int]:
    return (mapped_wrong if len(names) < 25 else mapped)(names, counters)


def compare(expected: Any, actual: Any) -> str | None:
    if len(expected) != len(actual):
        return f"{len(actual)} results instead of {len(expected)}"
    for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
        if e != a:
            return f"name #{i} resolves to position {a} instead of {e}"
    return None


def _prepare(names: list[str]) -> list[str]:
    return list(names)


def _toy(
    name: str,
    title: str,
    baseline: Callable[[list[str], Counters], list[int]],
    twin: Callable[[list[str], Counters], list[int]],
    counters: tuple[str, ...] = ("comparisons", "lookups"),
    **extra: Any,
) -> HotPath:
    """Register a toy hot path over the Ingress names: ``baseline`` and its ``optimized``
    twin, compared by :func:`compare` (``extra``: more :class:`HotPath` fields)."""
    return register(
        HotPath(
            name=name,
            title=title,
            models="nothing real: a test double for the harness",
            make_inputs=make_inputs,
            implementations=(
                Implementation("baseline", "baseline", baseline, "tests.fake_hotpaths"),
                Implementation("optimized", "optimized", twin, "tests.fake_hotpaths"),
            ),
            compare=compare,
            counters=counters,
            **extra,
        )
    )


FAKE_SEARCH = _toy(
    "fake_search",
    "Toy name lookup",
    scan,
    mapped,
    ("comparisons", "lookups", "dict_builds"),
    prepare=_prepare,
)

FAKE_BROKEN_SMALL = _toy(
    "fake_broken_small", "Toy name lookup with a twin wrong at small N", scan, mapped_wrong_small
)

FAKE_BROKEN = _toy("fake_broken", "Toy name lookup with a wrong twin", scan, mapped_wrong)


SPECIALIZED: list[str] = []
"""Implementations ``specialize`` was called for, in this process."""


def _specialize(names: list[str], implementation: str) -> list[str]:
    SPECIALIZED.append(implementation)
    return names


FAKE_PICKLED = _toy(
    "fake_pickled",
    "Toy name lookup, inputs pickled for the workers",
    scan,
    mapped,
    FAKE_SEARCH.counters,
    prepare=_prepare,
    specialize=_specialize,
    tags=("inputs-picklable",),
)


def mapped_fails_in_workers(names: list[str], counters: Counters) -> list[int]:
    # a benchmark worker process, not a check worker nor the checks in-process
    if sys.argv[0].endswith("worker.py") and "--check" not in sys.argv:
        raise RuntimeError("crash in a benchmark worker")
    return mapped(names, counters)


FAKE_FLAKY = _toy(
    "fake_flaky",
    "Toy name lookup whose twin crashes in benchmark workers",
    scan,
    mapped_fails_in_workers,
)


SLOW_SECONDS = 0.4


def spin(seconds: float) -> None:
    """Busy for ``seconds`` (a sampling profiler skips a sleeping thread)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def mapped_then_spin(names: list[str], counters: Counters) -> list[int]:
    out = mapped(names, counters)
    spin(SLOW_SECONDS)
    return out


FAKE_SLOW = _toy(
    "fake_slow",
    "Toy name lookup with a slow baseline",
    mapped_then_spin,
    mapped,
    ("lookups", "dict_builds"),
)


LIMIT = 20
"""``fake_limited``'s ``quadratic`` runs up to this N."""

FAKE_LIMITED = register(
    HotPath(
        name="fake_limited",
        title="Toy name lookup with a size-limited variant",
        models="nothing real: a test double for the harness",
        make_inputs=make_inputs,
        implementations=(
            Implementation("baseline", "baseline", scan, "tests.fake_hotpaths"),
            Implementation("optimized", "optimized", mapped, "tests.fake_hotpaths"),
            Implementation("quadratic", "optimized", scan, "tests.fake_hotpaths", LIMIT),
        ),
        compare=compare,
        counters=FAKE_SEARCH.counters,
    )
)
