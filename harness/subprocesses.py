"""Child processes of a run: each in its own process group, all killed on Ctrl-C.

Workers run in a new session, so the terminal's Ctrl-C reaches only ``gwbench``; the
orchestrator then kills every live group (pyperf's manager and its workers, py-spy and its
driver) and writes what finished. One Ctrl-C is enough.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gwbench.harness.environment import source_root

TERMINATE_GRACE_SECONDS = 3.0


def worker_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of child processes: ours, with the gwbench sources this process
    runs from first on ``PYTHONPATH`` (a worktree benchmarks its own code)."""
    env = dict(os.environ)
    root = str(source_root())
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    env["PYTHONPATH"] = os.pathsep.join([root, *parts])
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


class ProcessTimeout(Exception):
    def __init__(self, cmd: Sequence[str], timeout: float) -> None:
        super().__init__(f"{cmd[0]} did not finish within {timeout:.0f} s")


class ProcessGroup:
    """Runs children one at a time (or a few) and can kill them all at once."""

    def __init__(self) -> None:
        self._live: dict[int, subprocess.Popen[Any]] = {}
        self.closed = False
        """After :meth:`close`: no new child starts (a pool's thread that was about to
        start one when Ctrl-C came must not leave it running)."""

    def _refuse_when_closed(self, cmd: Sequence[str]) -> None:
        if self.closed:
            raise WorkerFailed(f"not started (the run is stopping): {cmd[0]}")

    def run(
        self,
        cmd: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        cwd: Path | None = None,
    ) -> int:
        """Run ``cmd`` with stdout and stderr appended to ``log``; its exit code.

        On timeout the group is killed and :class:`ProcessTimeout` raised; on any other
        exception (KeyboardInterrupt included) the group is killed and it propagates.
        """
        self._refuse_when_closed(cmd)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else worker_environment(),
                cwd=cwd,
                start_new_session=True,
            )
        self._live[proc.pid] = proc
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(proc)
            assert timeout is not None
            raise ProcessTimeout(cmd, timeout) from None
        except BaseException:
            self.kill(proc)
            raise
        finally:
            self._live.pop(proc.pid, None)

    def start(
        self, cmd: Sequence[str], *, log: Path, env: Mapping[str, str], cwd: Path | None = None
    ) -> LineWorker:
        """Start ``cmd`` as a :class:`LineWorker` (stderr appended to ``log``), killed with
        the others by :meth:`kill_all`."""
        self._refuse_when_closed(cmd)
        worker = LineWorker(self, cmd, log=log, env=env, cwd=cwd)
        self._live[worker.proc.pid] = worker.proc
        return worker

    def forget(self, proc: subprocess.Popen[Any]) -> None:
        self._live.pop(proc.pid, None)

    def kill(self, proc: subprocess.Popen[Any]) -> None:
        """SIGTERM the child's process group, then SIGKILL after a grace period."""
        for sig, wait in ((signal.SIGTERM, TERMINATE_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                # the leader is gone; make sure no member of its group survives
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return
            except subprocess.TimeoutExpired:
                continue

    def kill_all(self) -> None:
        for proc in list(self._live.values()):
            self.kill(proc)
        self._live.clear()

    def close(self) -> None:
        """Kill every live child; start no new one."""
        self.closed = True
        self.kill_all()

    @property
    def live(self) -> int:
        return len(self._live)


class WorkerFailed(Exception):
    """A line worker died, timed out or answered ``error``; the message says which."""


class LineWorker:
    """A child that answers one line per command line (``ready`` first), in its own
    process group: the timing processes of ``gwbench run`` and of the gate."""

    def __init__(
        self,
        group: ProcessGroup,
        cmd: Sequence[str],
        *,
        log: Path,
        env: Mapping[str, str],
        cwd: Path | None = None,
    ) -> None:
        self.group = group
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as err:
            self.proc: subprocess.Popen[str] = subprocess.Popen(
                list(cmd),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=dict(env),
                cwd=cwd,
                text=True,
                encoding="utf-8",
                start_new_session=True,
            )

    def pin(self, cpu: int | None) -> None:
        """Run the child on ``cpu`` only (best effort; ``None``: leave it)."""
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self.proc.pid, {cpu})

    def read(self, what: str, timeout: float) -> str:
        """The next answer line; :class:`WorkerFailed` when none comes within ``timeout``
        or the child ends."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            raise WorkerFailed(f"no answer to {what!r} within {timeout:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerFailed(self._death(what))
        return line.strip()

    def ask(self, command: str, timeout: float) -> str:
        """Send one command; its answer (:class:`WorkerFailed` on ``error`` or death)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except OSError:
            raise WorkerFailed(self._death(command)) from None
        answer = self.read(command, timeout)
        if answer == "error" or not answer:
            raise WorkerFailed(self._death(command))
        return answer

    def close(self, timeout: float = 60.0) -> int | None:
        """Send ``quit``, wait for the exit; its exit code (``None``: killed)."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
        try:
            code: int | None = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.group.kill(self.proc)
        self.group.forget(self.proc)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _death(self, command: str) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        code = self.proc.poll()
        self.kill()
        return f"worker failed at {command!r} (exit {code}): {worker_error(self.log)}"


def log_tail(log: Path, lines: int = 12) -> str:
    """The last lines of a child's log, for error messages."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(: .*)?$")


def worker_error(log: Path) -> str:
    """The exception a worker died of (the first one in its log, since pyperf's manager
    then adds its own "failed with exit code"), else the log's last lines."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    found = [ln.strip() for ln in lines if _EXCEPTION_LINE.match(ln.strip())]
    own = [ln for ln in found if "failed with exit code" not in ln]
    if own:
        return own[0]
    if found:
        return found[0]
    return " | ".join(ln.strip() for ln in lines[-3:] if ln.strip())
