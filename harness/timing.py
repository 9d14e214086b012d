"""One paired round of ``gwbench run`` (docs/run.md), and the pyperf JSON of its values.

A round is one fresh ``python -m gwbench.harness.worker --serve`` process for one hot path:
for each of its sizes in the round (N first) it builds the inputs once, sets every
implementation up (its ``specialize``, warm-up calls), then asks for their values in the
order :func:`harness.paired.value_order` gives, one line per value. The worker times
through the measurement kernel (:mod:`harness.kernel`), as the gate's side driver does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gwbench.harness import paired
from gwbench.harness.subprocesses import ProcessGroup, WorkerFailed
from gwbench.harness.worker import MODULE, ServeRequest

READY_SECONDS = 300.0
"""Longest wait for a worker's start (imports)."""


@dataclass(frozen=True)
class GroupPlan:
    """One size of a hot path in a round: each implementation's loops, warm-ups and
    values (in plan order)."""

    size: int
    loops: Mapping[str, int]
    warmups: Mapping[str, int]
    values: Mapping[str, int]
    call_seconds: Mapping[str, float]
    """From the check: the timeout of each answer."""


RoundValues = dict[tuple[str, int], list[float]]
"""Seconds per call of each (implementation, size) in one round, in the order taken."""


@dataclass(frozen=True)
class RoundResult:
    values: RoundValues
    failed: dict[tuple[str, int], str]
    """(implementation, size) whose set-up or call raised in the worker: the error."""


def run_round(
    procs: ProcessGroup,
    *,
    index: int,
    hotpath: str,
    groups: Sequence[GroupPlan],
    workloads: Mapping[int, str],
    inputs: Mapping[str, str],
    request_path: Path,
    log: Path,
    env: Mapping[str, str],
) -> RoundResult:
    """Round ``index`` of ``hotpath`` over ``groups``; an implementation that raises is
    left out of the rest of the round. Raises :class:`~harness.subprocesses.WorkerFailed`
    when the worker itself fails."""
    plan: list[dict[str, Any]] = []
    where: dict[tuple[str, int], int] = {}
    for g in groups:
        for impl in g.values:
            where[(impl, g.size)] = len(plan)
            plan.append(
                {
                    "hotpath": hotpath,
                    "implementation": impl,
                    "size": g.size,
                    "loops": g.loops[impl],
                    "warmups": g.warmups[impl],
                }
            )
    ServeRequest(plan, dict(workloads), dict(inputs)).dump(str(request_path))
    worker = procs.start(
        [sys.executable, "-m", MODULE, "--serve", str(request_path)], log=log, env=env
    )
    out: RoundValues = {}
    failed: dict[tuple[str, int], str] = {}

    def ask(impl: str, size: int, command: str, timeout: float) -> str | None:
        if (impl, size) in failed:
            return None
        answer = worker.ask(f"{command} {where[(impl, size)]}", timeout)
        if answer.startswith("failed "):
            failed[(impl, size)] = answer.removeprefix("failed ")
            return None
        return answer

    try:
        first = worker.read("start", READY_SECONDS)
        if first != "ready":
            raise WorkerFailed(f"worker did not start: {first!r}")
        for g in groups:
            setup = READY_SECONDS + 20.0 * sum(
                (g.warmups[i] + 1) * g.loops[i] * g.call_seconds[i] for i in g.values
            )
            for impl in g.values:
                ask(impl, g.size, "setup", setup)
            for impl in paired.value_order(index, g.values):
                timeout = 120.0 + 20.0 * g.loops[impl] * g.call_seconds[impl]
                answer = ask(impl, g.size, "value", timeout)
                if answer is not None:
                    out.setdefault((impl, g.size), []).append(float(answer.split()[0]))
        worker.close()
    finally:
        worker.kill()
        request_path.unlink(missing_ok=True)
    return RoundResult(out, failed)


def write_pyperf(
    path: Path,
    name: str,
    rounds: Sequence[Sequence[float]],
    loops: int,
    check_value: float | None,
    metadata: Mapping[str, str | int],
) -> None:
    """pyperf's JSON of one benchmark: one run per round (plus one for the check's call
    when it counts), named ``name``. The baseline's and a twin's files of one hot path and
    N share the name, so ``python -m pyperf compare_to BASELINE.json TWIN.json`` compares
    them."""
    import pyperf

    meta: dict[str, str | int] = {"name": name, **metadata}
    runs = []
    if check_value is not None:
        runs.append(
            pyperf.Run([check_value], metadata={**meta, "loops": 1}, collect_metadata=False)
        )
    for values in rounds:
        if values:
            runs.append(
                pyperf.Run(list(values), metadata={**meta, "loops": loops}, collect_metadata=False)
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    pyperf.BenchmarkSuite([pyperf.Benchmark(runs)]).dump(str(tmp))
    os.replace(tmp, path)
