"""Running one side's own code: a fresh process per request, rooted in that side's worktree.

Each request runs ``python side_driver.py REQUEST RESPONSE`` (the driver,
:mod:`harness.gate.driver`, and the measurement kernel it times with,
:mod:`harness.kernel`, are copied once into the gate's output directory) with:

- ``cwd`` = the side's worktree and ``PYTHONPATH`` = that worktree only, so
  ``import harness`` is the side's package (the driver also drops editable-install finders
  and refuses modules loaded from elsewhere);
- ``PYTHONHASHSEED=0`` on both sides, so set and dict iteration orders, and therefore the
  work done, do not differ between processes by chance;
- ``GWBENCH_EXTRA_HOTPATHS`` removed: the gate measures the repository's hot paths only.

``describe`` and ``check`` are one process per request (:meth:`SideRunner.call`). Timing
keeps one process per side alive for a round (:meth:`SideRunner.serve`, a
:class:`Server`) and sends it one command per value, so the gate can alternate the sides
value by value. Both processes of a round are pinned to the same CPU (:func:`round_cpu`,
the next usable CPU each round): only one of them runs at a time, and a busy neighbour on
one CPU then slows both sides alike instead of only the side that landed there.

A side that crashes, cannot import its code, or answers malformed JSON is a harness failure
(:class:`~gwbench.errors.HarnessError`, exit 3) whose message names the side, its commit
and the error, with the last lines of the traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

from gwbench.errors import HarnessError
from gwbench.harness import kernel
from gwbench.harness.gate import driver
from gwbench.harness.gate.worktree import short
from gwbench.harness.registry import EXTRA_HOTPATHS_ENV
from gwbench.harness.subprocesses import (
    LineWorker,
    ProcessGroup,
    ProcessTimeout,
    WorkerFailed,
    log_tail,
)

SideLabel = Literal["base", "head"]
DRIVER_FILE = "side_driver.py"
TRACEBACK_LINES = 8
DEFAULT_TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class Side:
    """One side of the comparison, checked out at ``root``."""

    label: SideLabel
    ref: str
    """What the user named (``origin/main``, ``HEAD``...)."""
    commit: str
    root: Path

    def describe(self) -> str:
        return f"{self.label} ({short(self.commit)})"


@dataclass(frozen=True)
class Answer:
    result: Any
    harness_file: str


def side_environment(root: Path, base_env: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base_env is None else base_env)
    env.pop(EXTRA_HOTPATHS_ENV, None)
    env["PYTHONPATH"] = str(root)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONHOME", None)
    env.pop("PYTHONSTARTUP", None)
    return env


class SideRunner:
    """Sends requests to the sides, one fresh process each, killed on Ctrl-C."""

    def __init__(
        self,
        work_dir: Path,
        *,
        python: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.work_dir = work_dir
        self.python = python or sys.executable
        self.timeout = timeout
        self.procs = ProcessGroup()
        self._servers: list[Server] = []
        self._count = 0
        work_dir.mkdir(parents=True, exist_ok=True)
        self.driver = work_dir / DRIVER_FILE
        shutil.copyfile(driver.__file__, self.driver)
        shutil.copyfile(kernel.__file__, work_dir / driver.KERNEL_FILE)

    def call(self, side: Side, action: str, payload: Mapping[str, Any]) -> Answer:
        """Run ``action`` in a fresh process of ``side``; its parsed answer."""
        self._count += 1
        stem = self.work_dir / f"{self._count:04d}-{side.label}-{action}"
        request = {"protocol": driver.PROTOCOL, "action": action, "root": str(side.root)}
        request.update(payload)
        req_path = stem.with_suffix(".request.json")
        resp_path = stem.with_suffix(".response.json")
        log = stem.with_suffix(".log")
        req_path.write_text(json.dumps(request), encoding="utf-8")
        cmd = [self.python, str(self.driver), str(req_path), str(resp_path)]
        try:
            code = self.procs.run(
                cmd, log=log, env=side_environment(side.root), timeout=self.timeout, cwd=side.root
            )
        except ProcessTimeout:
            raise HarnessError(
                f"{side.describe()}: {action} did not finish within {self.timeout:.0f} s"
            ) from None
        try:
            answer = json.loads(resp_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = log_tail(log, TRACEBACK_LINES)
            raise HarnessError(
                f"{side.describe()}: {action} crashed (exit code {code}) without an answer"
                + (f":\n{tail}" if tail else "")
            ) from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise HarnessError(_failure_message(side, action, answer))
        harness_file = str(answer.get("harness_file") or "")
        if not _under(Path(harness_file), side.root):
            raise HarnessError(
                f"{side.describe()}: imported harness from {harness_file or 'nowhere'}, "
                f"not from its worktree {side.root}"
            )
        return Answer(answer.get("result"), harness_file)

    def serve(self, side: Side, payload: Mapping[str, Any], cpu: int | None = None) -> Server:
        """Start a timing process of ``side`` (the ``serve`` action), pinned to ``cpu``
        when given; wait until it is ready."""
        self._count += 1
        stem = self.work_dir / f"{self._count:04d}-{side.label}-serve"
        request = {"protocol": driver.PROTOCOL, "action": "serve", "root": str(side.root)}
        request.update(payload)
        req_path = stem.with_suffix(".request.json")
        req_path.write_text(json.dumps(request), encoding="utf-8")
        server = Server(self, side, stem)
        self._servers.append(server)
        server.start([self.python, str(self.driver), str(req_path), str(server.response)], cpu)
        return server

    def kill_all(self) -> None:
        self.procs.kill_all()
        for server in self._servers:
            server.kill()
        self._servers.clear()


class Server:
    """One side's timing process for one round: commands in, one line back each (a
    :class:`~harness.subprocesses.LineWorker`)."""

    def __init__(self, runner: SideRunner, side: Side, stem: Path) -> None:
        self.runner = runner
        self.side = side
        self.response = stem.with_suffix(".response.json")
        self.log = stem.with_suffix(".log")
        self.worker: LineWorker | None = None

    def start(self, cmd: list[str], cpu: int | None = None) -> None:
        self.worker = self.runner.procs.start(
            cmd, log=self.log, env=side_environment(self.side.root), cwd=self.side.root
        )
        self.worker.pin(cpu)
        try:
            ready = self.worker.read("start", self.runner.timeout)
        except WorkerFailed:
            self._fail("start")
        if ready != "ready":
            self._fail("start")

    def ask(self, command: str) -> str:
        """Send one command; its answer (a harness failure if the side fails)."""
        try:
            return self._live().ask(command, self.runner.timeout)
        except WorkerFailed:
            self._fail(command)

    def close(self) -> None:
        """Ask the side to quit; check its final answer (isolation, errors)."""
        code = self._live().close(timeout=60)
        self.worker = None
        if code is None:
            raise HarnessError(f"{self.side.describe()}: timing process did not quit")
        answer = self._answer()
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise HarnessError(_failure_message(self.side, "timing", answer))
        harness_file = str(answer.get("harness_file") or "")
        if not _under(Path(harness_file), self.side.root):
            raise HarnessError(
                f"{self.side.describe()}: imported harness from {harness_file or 'nowhere'}, "
                f"not from its worktree {self.side.root}"
            )

    def kill(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None

    def _live(self) -> LineWorker:
        if self.worker is None:
            raise HarnessError(f"{self.side.describe()}: timing process is not running")
        return self.worker

    def _answer(self) -> object:
        try:
            return json.loads(self.response.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _fail(self, command: str) -> NoReturn:
        proc = self._live().proc
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        code = proc.poll()
        self.kill()
        answer = self._answer()
        if isinstance(answer, dict) and not answer.get("ok"):
            raise HarnessError(_failure_message(self.side, f"timing ({command})", answer))
        tail = log_tail(self.log, TRACEBACK_LINES)
        raise HarnessError(
            f"{self.side.describe()}: timing process failed at {command!r} "
            f"(exit code {code})" + (f":\n{tail}" if tail else "")
        )


def round_cpu(index: int) -> int | None:
    """The CPU both sides' processes of round ``index`` run on: the CPUs this process may
    use, in turn (``None`` where affinity cannot be set)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[index % len(cpus)] if cpus else None


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _failure_message(side: Side, action: str, answer: object) -> str:
    if not isinstance(answer, dict):
        return f"{side.describe()}: {action} answered {type(answer).__name__}, not an object"
    error = str(answer.get("error") or "unknown error")
    where = str(answer.get("where") or "")
    trace = str(answer.get("traceback") or "").rstrip().splitlines()
    lines = [f"{side.describe()}: {action} failed: {error}"]
    if where:
        lines.append(f"  at {where}")
    if trace:
        lines.append("  traceback (last lines):")
        lines.extend("    " + ln for ln in trace[-TRACEBACK_LINES:])
    return "\n".join(lines)
