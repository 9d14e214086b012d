"""A throw-away git repository holding this project's working tree, for the gate's
end-to-end test (test_gate_repo.py) and its A/A benchmark (benchmarks/gate_aa.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORED = (
    ".git",
    "__pycache__",
    "*.egg-info",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "test-artifacts",
    "gwbench-results",
    "build",
    "dist",
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "gate self-check",
    "GIT_AUTHOR_EMAIL": "gate@example.com",
    "GIT_COMMITTER_NAME": "gate self-check",
    "GIT_COMMITTER_EMAIL": "gate@example.com",
}


def git(repo: Path, *args: str) -> str:
    """``git -C repo args`` with a fixed identity and no signing; its stdout."""
    done = subprocess.run(
        ["git", "-C", str(repo), "-c", "commit.gpgsign=false", *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout.strip()


def copy_as_base(path: Path) -> str:
    """Copy the project's working tree to ``path`` as a new repository whose one commit,
    tagged ``base`` on branch ``main``, holds it; that commit's id."""
    shutil.copytree(ROOT, path, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    git(path, "tag", "base")
    return git(path, "rev-parse", "HEAD")
