"""The sharded-run workflow: GitHub's copy is the one in ci/, its matrix lists every shard
of the K its command gives, and the merge job joins what every shard uploaded."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "ci" / "run-matrix.yml"
GITHUB_COPY = ROOT / ".github" / "workflows" / "gwbench-run-matrix.yml"


def load() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_github_reads_the_same_workflow_as_ci() -> None:
    assert GITHUB_COPY.read_bytes() == WORKFLOW.read_bytes()


def test_the_matrix_lists_every_shard_of_k() -> None:
    # GIVEN the run job's command and matrix
    run = load()["jobs"]["run"]
    commands = [s["run"] for s in steps(run) if "gwbench run" in s.get("run", "")]
    assert len(commands) == 1
    match = re.search(r'--shard "\$\{SHARD\}/(\d+)"', commands[0])
    assert match is not None, commands[0]
    k = int(match.group(1))
    # THEN the matrix runs shards 1 to K, each on its own runner, none cancelling the rest
    assert run["strategy"]["matrix"]["shard"] == list(range(1, k + 1))
    assert run["strategy"]["fail-fast"] is False
    env = next(s["env"] for s in steps(run) if "gwbench run" in s.get("run", ""))
    assert env["SHARD"] == "${{ matrix.shard }}"


def test_each_shard_uploads_what_the_merge_job_downloads_and_merges() -> None:
    jobs = load()["jobs"]
    upload = next(s for s in steps(jobs["run"]) if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["name"] == "gwbench-shard-${{ matrix.shard }}"
    assert upload["if"] == "always()"
    merge = jobs["merge"]
    assert merge["needs"] == "run"
    download = next(s for s in steps(merge) if "download-artifact" in s.get("uses", ""))
    assert download["with"]["pattern"] == "gwbench-shard-*"
    path = download["with"]["path"]
    merge_step = next(s for s in steps(merge) if "gwbench merge" in s.get("run", ""))
    assert f"{path}/gwbench-shard-*" in merge_step["run"]
    assert "--allow-partial" not in merge_step["run"]  # a missing shard fails the job
