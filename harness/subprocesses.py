"""Child processes of a run: each in its own process group, all killed on Ctrl-C.

Workers run in a new session, so the terminal's Ctrl-C reaches only ``gwbench``; the
orchestrator then kills every live group (pyperf's manager and its workers, py-spy and its
driver) and writes what finished. One Ctrl-C is enough.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

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
        self._live: dict[int, subprocess.Popen[bytes]] = {}

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

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
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

    @property
    def live(self) -> int:
        return len(self._live)


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
