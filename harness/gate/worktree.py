"""Git for the gate: resolve the two refs, find the merge base, check both sides out.

Each side is a detached ``git worktree`` in the gate's temporary directory, removed (and
pruned from the repository's worktree list) when the gate ends, whatever the outcome. The
repository's own checkout, index and branches are never touched. Reading commands run with
``GIT_OPTIONAL_LOCKS=0`` so they do not refresh the index either.

Bad refs, a directory that is not a git repository, or two unrelated histories are input
errors (exit 2); a failing ``git worktree add`` is a harness failure (exit 3).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gwbench.errors import HarnessError, InputError

GIT_TIMEOUT_SECONDS = 300.0
DEFAULT_BRANCH_CANDIDATES = ("main", "master", "origin/main", "origin/master")


@dataclass(frozen=True)
class GitResult:
    code: int
    stdout: str
    stderr: str


def git(repo: Path, *args: str, read_only: bool = True) -> GitResult:
    env = dict(os.environ)
    if read_only:
        env["GIT_OPTIONAL_LOCKS"] = "0"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise HarnessError("git is not installed (the gate needs it)") from None
    except subprocess.TimeoutExpired:
        raise HarnessError(f"git {' '.join(args)} did not finish in time") from None
    return GitResult(done.returncode, done.stdout.strip(), done.stderr.strip())


def repo_root(path: Path) -> Path:
    """The top of the git checkout holding ``path``."""
    if not path.is_dir():
        raise InputError("no such directory", file=str(path))
    found = git(path, "rev-parse", "--show-toplevel")
    if found.code != 0 or not found.stdout:
        raise InputError("not inside a git repository", file=str(path))
    return Path(found.stdout).resolve()


def resolve(repo: Path, ref: str, what: str) -> str:
    """The commit SHA ``ref`` names (input error when it names none)."""
    if not ref or ref.startswith("-"):
        raise InputError(f"--{what} {ref!r} is not a git revision")
    found = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.code != 0 or not found.stdout:
        raise InputError(f"--{what} {ref!r} names no commit in {repo}")
    return found.stdout


def default_branch(repo: Path) -> str:
    """``origin/HEAD``'s branch, else the first of main, master, origin/main, origin/master."""
    found = git(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if found.code == 0 and found.stdout:
        return found.stdout
    for name in DEFAULT_BRANCH_CANDIDATES:
        if git(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}").code == 0:
            return name
    raise InputError(
        "cannot tell the default branch (no origin/HEAD, main or master): pass --base REF"
    )


def merge_base(repo: Path, a: str, b: str) -> str:
    found = git(repo, "merge-base", a, b)
    if found.code != 0 or not found.stdout:
        raise InputError(f"{a[:12]} and {b[:12]} have no common ancestor (unrelated histories)")
    return found.stdout.splitlines()[0]


def is_dirty(repo: Path) -> bool:
    found = git(repo, "status", "--porcelain", "--untracked-files=no")
    return found.code == 0 and bool(found.stdout)


def short(sha: str) -> str:
    return sha[:10]


class Worktrees:
    """Detached worktrees of ``repo`` under ``parent``; all removed by :meth:`close`."""

    def __init__(self, repo: Path, parent: Path) -> None:
        self.repo = repo
        self.parent = parent
        self.paths: list[Path] = []

    def add(self, name: str, commit: str) -> Path:
        path = (self.parent / name).resolve()
        self.paths.append(path)
        done = git(
            self.repo, "worktree", "add", "--detach", "--quiet", str(path), commit, read_only=False
        )
        if done.code != 0:
            raise HarnessError(
                f"git worktree add of {short(commit)} failed: {done.stderr or done.stdout}"
            )
        return path

    def close(self) -> None:
        for path in self.paths:
            git(self.repo, "worktree", "remove", "--force", str(path), read_only=False)
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)
        if self.paths:
            git(self.repo, "worktree", "prune", read_only=False)
        self.paths.clear()


@contextlib.contextmanager
def worktrees(repo: Path, parent: Path) -> Iterator[Worktrees]:
    trees = Worktrees(repo, parent)
    try:
        yield trees
    finally:
        trees.close()
