"""One side of the gate as a ``results.json`` (:mod:`gwbench.results`, the format of
``gwbench run``), so ``gwbench report`` and ``gwbench compare`` read it like any run.

Per hot path and implementation, one point per size of the sweep with the side's counters
and the duration of its one untimed call; at the timed sizes, a :class:`Timing` holding
every value the side's round processes measured (seconds per call, in process order:
``processes`` is the number of round processes, ``values_per_process`` their values).
Scaling fits of every counter (and of time, when two or more sizes were timed). The run is
recorded as complete, mode ``default``, without profiles or memory; the environment's git
commit is the side's commit and the command line the gate's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from gwbench.harness import environment
from gwbench.harness.gate.engine import GateOutcome, SideInfo
from gwbench.harness.gate.protocol import CheckPoint, PointKey, TimeSample
from gwbench.harness.gate.sides import SideLabel
from gwbench.results import (
    SCHEMA_VERSION,
    HotPathResult,
    ImplementationResult,
    Point,
    Results,
    RunInfo,
    Timing,
    WorkloadInfo,
)
from gwbench.scaling import point_fits
from gwbench.workloads.model import DEFAULT_CUSTOM_DOMAIN_SHARE, DEFAULT_DOMAIN


def _timing(samples: Sequence[TimeSample]) -> Timing | None:
    if not samples:
        return None
    values = tuple(v for s in samples for v in s.values)
    return Timing.of(
        values,
        processes=len(samples),
        values_per_process=max(len(s.values) for s in samples),
        warmups=0,
        loops=samples[0].loops,
        reduced=False,
        pyperf_json=None,
        wall_seconds=round(sum(values) * samples[0].loops, 6),
    )


def side_results(
    outcome: GateOutcome,
    label: SideLabel,
    *,
    command_line: Sequence[str],
    started_at: str,
) -> Results:
    """The results of one side of a finished gate."""
    info: SideInfo = outcome.base if label == "base" else outcome.head
    desc = outcome.descriptions[label]
    check = outcome.side_checks[label]
    samples = outcome.samples[label]
    s = outcome.settings
    sizes = tuple(sorted(set(s.sweep) | set(s.sizes)))
    hotpaths = []
    for name in s.hotpaths:
        hp = desc.hotpath(name)
        if hp is None:
            continue
        impls = []
        for impl in hp.implementations:
            points = []
            for n in sizes:
                key = PointKey(name, impl.name, n)
                pt: CheckPoint | None = check.point(key)
                if pt is None:
                    continue
                points.append(
                    Point(
                        size=n,
                        counters=dict(pt.counters),
                        call_seconds=pt.seconds,
                        inputs_seconds=0.0,
                        timing=_timing([x for x in samples if x.key == key]),
                    )
                )
            impls.append(
                ImplementationResult(
                    name=impl.name,
                    kind=impl.kind,
                    module=impl.module,
                    points=tuple(points),
                    scaling=point_fits(points),
                )
            )
        equal_sizes = tuple(
            n
            for n in sizes
            if all(
                (p := check.point(PointKey(name, i.name, n))) is not None and p.difference is None
                for i in hp.implementations
            )
        )
        hotpaths.append(
            HotPathResult(
                name=hp.name,
                title=hp.title,
                models=hp.models,
                counters=hp.counters,
                equivalence_sizes=equal_sizes,
                implementations=tuple(impls),
            )
        )
    env = dataclasses.replace(
        environment.capture(command_line), git_commit=info.commit, git_dirty=False
    )
    return Results(
        schema_version=SCHEMA_VERSION,
        gwbench_version=environment.gwbench_version(),
        environment=env,
        workload=WorkloadInfo(
            source="generated",
            ingresses=max(s.sizes),
            sizes=sizes,
            seed=s.seed,
            custom_domain_share=(
                s.custom_domain_share
                if s.custom_domain_share is not None
                else DEFAULT_CUSTOM_DOMAIN_SHARE
            ),
            domain=DEFAULT_DOMAIN,
            available_ingresses=None,
            sampling=None,
        ),
        run=RunInfo(
            mode="default",
            status="complete",
            reason=None,
            started_at=started_at,
            finished_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            wall_seconds=outcome.wall_seconds,
            budget_seconds=0.0,
            profile=False,
            memory=False,
            envoy=False,
            hotpaths=tuple(h.name for h in hotpaths),
            peak_rss_bytes=None,
            children_peak_rss_bytes=None,
        ),
        hotpaths=tuple(hotpaths),
    )


def now_utc() -> str:
    return datetime.fromtimestamp(time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
