"""Profiles and memory of ``gwbench run``, never while timing.

- py-spy: ``py-spy record --nonblocking --format raw`` of the equivalence check's worker at
  N (:func:`run_sampled`; :func:`implementation_profile` splits it). Each implementation's
  check call runs under frames named for it (:class:`harness.kernel.Markers`), and an
  implementation whose call was shorter than the mode's profile seconds is called again
  until then, with the inputs the check built
  (a slow baseline's profile is its whole check call). The samples under each
  implementation's frames become its folded stacks (:mod:`gwbench.folded`), from which
  ``gwbench run`` draws the flame graph SVG and the speedscope JSON beside them. When
  py-spy is missing or cannot attach (no ptrace permission), the check runs without it,
  each profile records why and the run goes on. ``GWBENCH_PY_SPY`` names the py-spy
  executable (empty: treat py-spy as unavailable). ``--nonblocking``: py-spy reads the
  worker's stacks without pausing it, so the check calls that count as timing values are
  not slowed by the sampling.
- memray: one call under ``memray.Tracker`` (Python allocators traced), read back with
  ``memray.FileReader``: peak heap memory and allocation count of the call. The check
  worker at N measures every implementation whose call, slowed by memray, fits the mode's
  memory seconds; the others run alone at the largest size that fits, and the results
  say so.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gwbench import folded
from gwbench.files import atomic_write_text
from gwbench.harness import kernel
from gwbench.harness.subprocesses import ProcessGroup, ProcessTimeout, log_tail, worker_error
from gwbench.harness.worker import PROFILE_CALL_FRAME, PROFILE_PREPARE_FRAME, WorkerSpec
from gwbench.results import Memory, Profile

PY_SPY_ENV = "GWBENCH_PY_SPY"
SAMPLE_RATE = 100
MEMRAY_SLOWDOWN = kernel.MEMRAY_SLOWDOWN

PY_SPY_NOT_FOUND = "py-spy not found (install py-spy or put it on PATH)"
PROFILE_FROM_CHECK = "check"
"""A profile of the check worker at N: the check call, then more calls up to the mode's
profile seconds."""

_PTRACE_HINTS = ("ptrace", "Permission denied", "Operation not permitted", "EPERM")


def find_py_spy() -> str | None:
    """The py-spy executable: ``$GWBENCH_PY_SPY``, else on PATH, else beside Python."""
    if PY_SPY_ENV in os.environ:
        return os.environ[PY_SPY_ENV] or None
    found = shutil.which("py-spy")
    if found:
        return found
    sibling = Path(sys.executable).with_name("py-spy")
    return str(sibling) if sibling.is_file() and os.access(sibling, os.X_OK) else None


@dataclass(frozen=True)
class ArtefactPaths:
    """Where one implementation's profile goes: absolute files and their paths relative
    to the results directory."""

    results_dir: Path
    stem: str
    """Relative path without suffix, e.g. ``profiles/gateway_lookup/baseline-N20000``."""

    def file(self, suffix: str) -> Path:
        return self.results_dir / f"{self.stem}{suffix}"

    def rel(self, suffix: str) -> str:
        return f"{self.stem}{suffix}"


def _failure_reason(rc: int | None, log: Path) -> str:
    tail = log_tail(log, 6)
    last = tail.splitlines()[-1].strip() if tail else ""
    if any(h in tail for h in _PTRACE_HINTS):
        return (
            "py-spy could not attach to the worker (ptrace not permitted; run as root, "
            "set kernel.yama.ptrace_scope=0, or grant CAP_SYS_PTRACE)"
            + (f": {last}" if last else "")
        )
    code = "" if rc is None else f" (exit {rc})"
    return f"py-spy failed{code}" + (f": {last}" if last else "")


def py_spy_command(py_spy: str, raw: Path, child: Sequence[str]) -> list[str]:
    """``py-spy record`` of ``child`` (started by py-spy, never paused by it), raw folded
    stacks to ``raw``."""
    return [
        py_spy,
        "record",
        "--nonblocking",
        "--format",
        "raw",
        "--rate",
        str(SAMPLE_RATE),
        "--function",
        "--output",
        str(raw),
        "--",
        *child,
    ]


def read_raw(raw: Path) -> folded.Stacks:
    """py-spy's raw output (deleted once read)."""
    try:
        with open(raw, encoding="utf-8", errors="replace") as fh:
            return folded.parse_folded(fh, strict=False)
    finally:
        raw.unlink(missing_ok=True)


def write_profile(
    hot: folded.Stacks,
    paths: ArtefactPaths,
    label: str,
    size: int,
    source: str,
    calls: int | None = None,
) -> Profile:
    """The folded stacks of ``hot`` (at least one sample); the flame graph and speedscope
    files it names are drawn from them when the run writes its report."""
    atomic_write_text(paths.file(".folded"), folded.to_folded(hot))
    samples = sum(hot.values())
    return Profile(
        size=size,
        flamegraph_svg=paths.rel(".svg"),
        speedscope_json=paths.rel(".speedscope.json"),
        folded_stacks=paths.rel(".folded"),
        samples=samples,
        seconds=samples / SAMPLE_RATE,
        source=source,
        calls=calls,
    )


@dataclass(frozen=True)
class Sampled:
    """What :func:`run_sampled` gives back: the worker's exit code, its stacks (``None``
    when py-spy did not record) and why not."""

    rc: int | None
    stacks: folded.Stacks | None
    reason: str | None


def run_sampled(
    child: Sequence[str], raw: Path, procs: ProcessGroup, log: Path, env: dict[str, str]
) -> Sampled:
    """Run ``child`` under py-spy. When py-spy is missing or fails, ``stacks`` is ``None``
    and ``reason`` says why (the child may not have run: the caller runs it again)."""
    py_spy = find_py_spy()
    if py_spy is None:
        return Sampled(None, None, PY_SPY_NOT_FOUND)
    raw.parent.mkdir(parents=True, exist_ok=True)
    try:
        rc = procs.run(py_spy_command(py_spy, raw, child), log=log, env=env)
    except FileNotFoundError:
        return Sampled(None, None, f"py-spy not runnable: {py_spy}")
    except PermissionError:
        return Sampled(None, None, f"py-spy not executable: {py_spy}")
    if rc != 0 or not raw.exists():
        raw.unlink(missing_ok=True)
        return Sampled(rc, None, _failure_reason(rc, log))
    return Sampled(rc, read_raw(raw), None)


def implementation_profile(
    stacks: folded.Stacks | None,
    reason: str | None,
    implementation: str,
    paths: ArtefactPaths,
    label: str,
    size: int,
) -> Profile:
    """``implementation``'s profile from the stacks of a sampled check worker: the samples
    under its own frames (:func:`harness.kernel.frame_name`)."""
    if stacks is None:
        return Profile(size, None, None, None, 0, 0.0, missing_reason=reason)
    hot = folded.hot_stacks(
        stacks,
        kernel.frame_name(PROFILE_CALL_FRAME, implementation),
        kernel.frame_name(PROFILE_PREPARE_FRAME, implementation),
        label,
    )
    if not hot:
        why = "py-spy recorded no samples of the implementation's calls"
        return Profile(size, None, None, None, 0, 0.0, missing_reason=why)
    return write_profile(hot, paths, label, size, PROFILE_FROM_CHECK)


def memray_estimate(call_seconds: float, setup_seconds: float, startup_seconds: float) -> float:
    return startup_seconds + setup_seconds + MEMRAY_SLOWDOWN * call_seconds


def choose_memory_size(
    sizes: Sequence[int],
    estimates: Sequence[float],
    budget_seconds: float,
) -> tuple[int, str | None]:
    """The largest size whose estimated memray run fits the budget (the smallest size
    when none does); with a note when it is not the largest size."""
    if not sizes:
        raise ValueError("no sizes")
    chosen_i = 0
    for i, est in enumerate(estimates):
        if est <= budget_seconds:
            chosen_i = i
    n, chosen = sizes[-1], sizes[chosen_i]
    if chosen == n:
        return n, None
    return chosen, smaller_size_note(chosen, n, estimates[-1], budget_seconds)


def smaller_size_note(size: int, n: int, estimate_at_n: float, budget_seconds: float) -> str:
    """Why memory was measured at ``size`` rather than at N."""
    return (
        f"measured at N={size}: one call under memray at N={n} was estimated at "
        f"{estimate_at_n:.0f} s, over the {budget_seconds:.0f} s memory budget"
    )


@dataclass(frozen=True)
class MemoryFiles:
    """Where a worker writes its memray result (JSON) and capture (deleted after)."""

    out: Path
    capture: Path

    @classmethod
    def for_spec(cls, work_dir: Path, spec: WorkerSpec) -> MemoryFiles:
        work_dir.mkdir(parents=True, exist_ok=True)
        stem = f"memory-{spec.hotpath}-{spec.implementation}-{spec.size}"
        files = cls(work_dir / f"{stem}.json", work_dir / f"{stem}.memray")
        files.out.unlink(missing_ok=True)
        return files

    def worker_args(self) -> list[str]:
        return ["--memory", str(self.out), "--memray-file", str(self.capture)]


def read_memory(files: MemoryFiles, size: int, note: str | None) -> Memory | None:
    """The worker's memray result, or ``None`` when it wrote none."""
    files.capture.unlink(missing_ok=True)
    if not files.out.exists():
        return None
    data = json.loads(files.out.read_text(encoding="utf-8"))
    files.out.unlink(missing_ok=True)
    if "error" in data:
        return Memory(size, None, None, note=note, missing_reason=f"memray: {data['error']}")
    return Memory(
        size=size,
        peak_memory_bytes=int(data["peak_memory_bytes"]),
        total_allocations=int(data["total_allocations"]),
        note=note,
    )


def measure_memory(
    spec: WorkerSpec,
    *,
    work_dir: Path,
    procs: ProcessGroup,
    log: Path,
    timeout: float,
    note: str | None,
) -> Memory:
    """Peak memory and allocation count of one call of ``spec`` under memray, in a
    worker of its own."""
    files = MemoryFiles.for_spec(work_dir, spec)
    cmd = [*spec.command(), *files.worker_args()]

    def missing(reason: str) -> Memory:
        return Memory(spec.size, None, None, note=note, missing_reason=reason)

    try:
        rc = procs.run(cmd, log=log, timeout=timeout)
    except ProcessTimeout as exc:
        files.capture.unlink(missing_ok=True)
        return missing(f"memray: {exc}")
    memory = read_memory(files, spec.size, note)
    if rc != 0 or memory is None:
        return missing(f"memray worker failed (exit {rc}): {worker_error(log)}")
    return memory
