"""py-spy profiles of a regressed row on both sides, for its differential flame graph.

After the verdicts, each regressed hot path, implementation and N (a few at most) is
profiled once per side: ``py-spy record --format raw`` of the side driver's ``profile``
action, which calls the implementation for a few seconds (fresh process, the side's own
code, as for timing). Only the samples under the driver's call frame are kept (those under
its ``prepare`` frame go under their own label, as in ``gwbench run``'s profiles), written
as folded stacks under ``DIR/profiles/<side>/``. The differential flame graph itself is
drawn by the report layer (:mod:`reports.flamediff`).

Profiling never decides anything: when py-spy is missing or cannot attach, the profile
records why and the gate goes on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gwbench import folded
from gwbench.files import atomic_write_text
from gwbench.harness.gate import driver
from gwbench.harness.gate.protocol import PointKey
from gwbench.harness.gate.sides import Side, SideLabel, SideRunner, side_environment
from gwbench.harness.gate.worktree import short
from gwbench.harness.profile import PY_SPY_NOT_FOUND, SAMPLE_RATE, find_py_spy, read_raw
from gwbench.harness.subprocesses import ProcessTimeout, log_tail

PROFILE_SECONDS = 2.0
MAX_PROFILED_ROWS = 3
PROFILE_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class SideProfile:
    label: SideLabel
    folded: str | None
    """Folded stacks, relative to the output directory; ``None`` when missing."""
    samples: int
    calls: int | None
    seconds: float | None
    missing_reason: str | None = None


@dataclass(frozen=True)
class RowProfiles:
    key: PointKey
    base: SideProfile
    head: SideProfile


def _stem(key: PointKey) -> str:
    return f"{key.hotpath}-{key.implementation}-N{key.size}"


def diff_page(key: PointKey) -> str:
    """Where the command writes the row's differential flame graph (relative path)."""
    return f"flamediff/{_stem(key)}.html"


def profile_side(
    runner: SideRunner,
    side: Side,
    key: PointKey,
    out_dir: Path,
    payload: Mapping[str, object],
    py_spy: str,
    seconds: float,
) -> SideProfile:
    """Run the ``profile`` action of ``side`` under py-spy; its folded stacks."""

    def missing(reason: str) -> SideProfile:
        return SideProfile(side.label, None, 0, None, None, reason)

    rel = Path("profiles") / side.label / f"{_stem(key)}.folded"
    work = runner.work_dir
    stem = work / f"profile-{side.label}-{_stem(key)}"
    raw = stem.with_suffix(".raw.txt")
    request = {
        "protocol": driver.PROTOCOL,
        "action": "profile",
        "root": str(side.root),
        "hotpath": key.hotpath,
        "implementation": key.implementation,
        "size": key.size,
        "seconds": seconds,
        **payload,
    }
    req = stem.with_suffix(".request.json")
    resp = stem.with_suffix(".response.json")
    log = stem.with_suffix(".log")
    req.write_text(json.dumps(request), encoding="utf-8")
    record = ["record", "--format", "raw", "--rate", str(SAMPLE_RATE), "--function"]
    side_cmd = [runner.python, str(runner.driver), str(req), str(resp)]
    cmd = [py_spy, *record, "--output", str(raw), "--", *side_cmd]
    try:
        code = runner.procs.run(
            cmd,
            log=log,
            env=side_environment(side.root),
            timeout=PROFILE_TIMEOUT_SECONDS,
            cwd=side.root,
        )
    except (OSError, ProcessTimeout) as exc:
        return missing(f"py-spy did not run: {exc}")
    try:
        answer = json.loads(resp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        answer = None
    if code != 0 or not raw.exists() or not isinstance(answer, dict) or not answer.get("ok"):
        tail = log_tail(log, 3).replace("\n", " | ")
        return missing(f"py-spy failed (exit {code})" + (f": {tail}" if tail else ""))
    stacks = read_raw(raw)
    label = f"{side.label} {short(side.commit)} {key.label()}"
    hot = folded.hot_stacks(
        stacks, driver.PROFILE_CALL_FRAME, driver.PROFILE_PREPARE_FRAME, label
    )
    samples = folded.total(hot)
    if samples == 0:
        return missing("py-spy recorded no samples of the hot path")
    atomic_write_text(out_dir / rel, folded.to_folded(hot))
    result = answer.get("result") or {}
    calls = result.get("calls") if isinstance(result, dict) else None
    spent = result.get("seconds") if isinstance(result, dict) else None
    return SideProfile(
        side.label,
        str(rel),
        samples,
        int(calls) if isinstance(calls, int) else None,
        float(spent) if isinstance(spent, int | float) else None,
    )


def profile_rows(
    runner: SideRunner,
    sides: Mapping[SideLabel, Side],
    keys: Sequence[PointKey],
    out_dir: Path,
    payload: Mapping[str, object],
    *,
    seconds: float = PROFILE_SECONDS,
) -> tuple[RowProfiles, ...]:
    """Profiles of the first :data:`MAX_PROFILED_ROWS` of ``keys`` on both sides."""
    py_spy = find_py_spy()
    out = []
    for key in keys[:MAX_PROFILED_ROWS]:
        if py_spy is None:
            reason = PY_SPY_NOT_FOUND
            out.append(
                RowProfiles(
                    key,
                    SideProfile("base", None, 0, None, None, reason),
                    SideProfile("head", None, 0, None, None, reason),
                )
            )
            continue
        base = profile_side(runner, sides["base"], key, out_dir, payload, py_spy, seconds)
        head = profile_side(runner, sides["head"], key, out_dir, payload, py_spy, seconds)
        out.append(RowProfiles(key, base, head))
    return tuple(out)
