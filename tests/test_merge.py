"""`gwbench merge`: shards of one plan join into the results of one run; shards that do
not belong together are refused (exit 2, naming the directories).

Shards are fabricated from one results file (tests/report_data.py) split as `--shard`
splits it, each with its own profile artefacts on disk."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import report_data
from cli_capture import gwbench

from gwbench.harness import shard
from gwbench.harness.commands.merge import unsharded_command
from gwbench.results import Results, Shard, load_results, to_json_dict, write_results

SHARD_COMMAND = (
    *("gwbench", "run", "--ingresses", "200", "--quick"),
    *("--output", "out/s", "--shard", "1/2"),
)


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """merge appends to $GITHUB_STEP_SUMMARY; these tests must not write to CI's."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def unsharded(root: Path) -> Results:
    """The results of one run of the plan (its profiles written under ``root``)."""
    return report_data.results(base_dir=root / "unsharded", command_line=SHARD_COMMAND)


def write_shards(
    root: Path,
    count: int = 2,
    change: Callable[[int, Results], Results] | None = None,
    digest: str | None = None,
) -> list[Path]:
    """One directory per shard of :func:`unsharded`'s plan, with its profiles."""
    full = unsharded(root)
    names = tuple(h.name for h in full.hotpaths)
    dirs = []
    for index, part in enumerate(shard.split(names, count), start=1):
        directory = root / f"shard-{index}"
        for name in part:
            report_data.write_profiles(directory, name)
        results = replace(
            full,
            hotpaths=tuple(h for h in full.hotpaths if h.name in part),
            run=replace(full.run, hotpaths=part, shard=Shard(index, count, names, digest)),
        )
        if change is not None:
            results = change(index, results)
        write_results(results, directory / "results.json")
        dirs.append(directory)
    return dirs


def test_two_shards_merge_into_the_results_of_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the two shards of a plan of two hot paths
    dirs = write_shards(tmp_path)
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out_dir = tmp_path / "merged"
    # WHEN they are merged
    code, out, err = gwbench(["merge", *map(str, dirs), "-o", str(out_dir)], capsys)
    # THEN the merged file holds what one unsharded run of the plan holds
    assert code == 0, err
    merged = load_results(out_dir / "results.json")
    full = unsharded(tmp_path)
    assert merged.hotpaths == full.hotpaths
    assert merged.workload == full.workload
    assert merged.run.hotpaths == full.run.hotpaths
    assert merged.run.status == "complete" and merged.run.reason is None
    assert merged.run.shard is None
    assert [(s.index, s.count) for s in merged.run.merged_from] == [(1, 2), (2, 2)]
    assert merged.environment.command_line == unsharded_command(SHARD_COMMAND)
    assert "--shard" not in merged.environment.command_line
    # AND every artefact the results name sits beside them, so the report's links hold
    for hp in merged.hotpaths:
        for impl in hp.implementations:
            assert impl.profile is not None and impl.profile.folded_stacks is not None
            assert (out_dir / impl.profile.folded_stacks).is_file()
    html = (out_dir / "report.html").read_text()
    assert "gateway_lookup" in html and "ingress_update" in html
    assert "find_gateway" in html  # a frame only the copied folded stacks hold
    assert f"report:  {out_dir / 'report.html'}" in out
    # AND the merged summary went to the job's summary page
    assert "### gwbench: 200 Ingresses" in summary.read_text()


def test_merge_json_says_what_was_merged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = write_shards(tmp_path, count=2)
    code, out, _ = gwbench(["merge", *map(str, dirs), "-o", str(tmp_path / "m"), "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["status"] == "complete" and doc["missing"] == []
    assert doc["hotpaths"] == ["gateway_lookup", "ingress_update"]
    assert [s["hotpaths"] for s in doc["shards"]] == [["ingress_update"], ["gateway_lookup"]]


def test_the_order_of_the_directories_does_not_matter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = write_shards(tmp_path)
    assert gwbench(["merge", str(dirs[1]), str(dirs[0]), "-o", str(tmp_path / "m")], capsys)[0] == 0
    assert load_results(tmp_path / "m" / "results.json").hotpaths == unsharded(tmp_path).hotpaths


def _on_shard_2(change: Callable[[Results], Results]) -> Callable[[int, Results], Results]:
    return lambda index, r: change(r) if index == 2 else r


def _run(r: Results, **changes: Any) -> Results:
    return replace(r, run=replace(r.run, **changes))


MISMATCHES: list[tuple[str, Callable[[Results], Results], str]] = [
    ("seed", lambda r: report_data.with_workload(r, seed=7), "workload (seed)"),
    ("N", lambda r: report_data.with_workload(r, ingresses=100), "workload (N)"),
    ("sizes", lambda r: report_data.with_workload(r, sizes=(100, 200)), "workload (sizes)"),
    (
        "generator",
        lambda r: report_data.with_workload(r, custom_domain_share=0.5),
        "workload (custom-domain share)",
    ),
    (
        "source",
        lambda r: report_data.with_workload(r, source="file:/x.yaml"),
        "workload (source)",
    ),
    (
        "digest",
        lambda r: _run(r, shard=replace(r.run.shard, source_digest="f" * 64)),
        "workload (source digest)",
    ),
    (
        "K",
        lambda r: _run(r, shard=replace(r.run.shard, count=3)),
        "K (the number of shards)",
    ),
    (
        "plan",
        lambda r: _run(r, shard=replace(r.run.shard, plan_hotpaths=("gateway_lookup",))),
        "the plan's hot paths",
    ),
    (
        "commit",
        lambda r: replace(r, environment=replace(r.environment, git_commit="f" * 40)),
        "the gwbench commit",
    ),
    ("mode", lambda r: _run(r, mode="default"), "mode"),
    ("memory", lambda r: _run(r, memory=False), "memory (--no-memory)"),
]


@pytest.mark.parametrize(
    ("change", "message"), [(c, m) for _, c, m in MISMATCHES], ids=[i for i, _, _ in MISMATCHES]
)
def test_shards_that_do_not_belong_together_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[Results], Results],
    message: str,
) -> None:
    # GIVEN two shards, the second changed in one respect
    dirs = write_shards(tmp_path, change=_on_shard_2(change))
    # WHEN they are merged
    code, out, err = gwbench(["merge", *map(str, dirs), "-o", str(tmp_path / "m")], capsys)
    # THEN exit 2, saying what differs and in which directories, and nothing is written
    assert code == 2, out + err
    assert f"the shards differ in {message}: " in err
    assert str(dirs[0]) in err and str(dirs[1]) in err
    assert "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_mismatched_schema_versions_are_refused_naming_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = write_shards(tmp_path)
    path = dirs[1] / "results.json"
    data = json.loads(path.read_text())
    data["schema_version"] += 1
    path.write_text(json.dumps(data))
    code, _, err = gwbench(["merge", *map(str, dirs), "-o", str(tmp_path / "m")], capsys)
    version = data["schema_version"]
    assert code == 2
    assert f"schema version: {version - 1} in {dirs[0]}; {version} in {dirs[1]}" in err


def test_overlapping_shards_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN shard 2 that also measured shard 1's hot path
    full = unsharded(tmp_path)

    def overlap(index: int, r: Results) -> Results:
        return replace(r, hotpaths=full.hotpaths, run=replace(r.run, hotpaths=full.run.hotpaths))

    dirs = write_shards(tmp_path, change=overlap)
    code, _, err = gwbench(["merge", *map(str, dirs), "-o", str(tmp_path / "m")], capsys)
    assert code == 2
    assert f"the shards overlap: hot path gateway_lookup is in {dirs[0]} (shard 1/2) and in " in err
    assert str(dirs[1]) in err


def test_the_same_directory_twice_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = write_shards(tmp_path)
    code, _, err = gwbench(["merge", str(dirs[0]), str(dirs[0] / "results.json")], capsys)
    assert code == 2 and "given twice" in err


def test_a_missing_shard_is_refused_unless_partial_is_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN shards 1 and 3 of 3 (three hot paths' plan: shard 2 never arrived)
    full = unsharded(tmp_path)
    third = replace(full.hotpaths[0], name="third_hotpath")
    plan = (*full.run.hotpaths, "third_hotpath")
    parts = shard.split(plan, 3)
    every = (*full.hotpaths, third)
    dirs = []
    for index in (1, 3):
        part = parts[index - 1]
        results = replace(
            full,
            hotpaths=tuple(h for h in every if h.name in part),
            run=replace(full.run, hotpaths=part, shard=Shard(index, 3, plan)),
        )
        dirs.append(tmp_path / f"s{index}")
        write_results(results, dirs[-1] / "results.json")
    # WHEN merged THEN refused, naming the missing shard, its hot paths and what was given
    code, _, err = gwbench(["merge", *map(str, dirs), "-o", str(tmp_path / "m")], capsys)
    assert code == 2
    assert f"shard(s) 2/3 missing (hot paths {', '.join(parts[1])})" in err
    assert "--allow-partial" in err and str(dirs[0]) in err
    # WHEN --allow-partial THEN merged, marked partial, with the missing shard named
    code, _, err = gwbench(
        ["merge", *map(str, dirs), "-o", str(tmp_path / "m"), "--allow-partial"], capsys
    )
    assert code == 0, err
    merged = load_results(tmp_path / "m" / "results.json")
    assert merged.run.status == "partial" and "shard 2/3 missing" in str(merged.run.reason)
    assert merged.run.hotpaths == plan
    assert {h.name for h in merged.hotpaths} == set(parts[0] + parts[2])


def test_a_file_that_is_no_shard_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(unsharded(tmp_path), tmp_path / "run" / "results.json")
    dirs = write_shards(tmp_path)
    code, _, err = gwbench(["merge", str(tmp_path / "run"), *map(str, dirs)], capsys)
    assert code == 2 and "not a shard (run without --shard)" in err
    assert str(tmp_path / "run") in err


def test_merge_will_not_overwrite_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dirs = write_shards(tmp_path)
    code, _, err = gwbench(["merge", *map(str, dirs), "-o", str(dirs[0])], capsys)
    assert code == 2 and "already holds results" in err


def test_a_partial_shard_and_another_machine_are_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN shard 2 interrupted, on a runner with another CPU
    def change(index: int, r: Results) -> Results:
        if index != 2:
            return r
        r = replace(r, environment=replace(r.environment, cpu_model="Other CPU"))
        return _run(r, status="partial", reason="interrupted (Ctrl-C)", warnings=("slow",))

    dirs = write_shards(tmp_path, change=change)
    code, _, err = gwbench(["merge", *map(str, dirs), "-o", str(tmp_path / "m")], capsys)
    # THEN merged, partial with the shard's reason, and the machines' difference warned
    assert code == 0
    run = load_results(tmp_path / "m" / "results.json").run
    assert run.status == "partial" and run.reason == "shard 2/2: interrupted (Ctrl-C)"
    assert "shard 2/2: slow" in run.warnings
    assert any("different machines (cpu_model" in w for w in run.warnings)
    assert "different machines" in err


def test_unsharded_command_drops_the_shard_and_its_output() -> None:
    words = ("gwbench", "run", "-n", "5", "--shard", "2/3", "--output", "x", "--quick")
    assert unsharded_command(words) == ("gwbench", "run", "-n", "5", "--quick")
    assert unsharded_command(("gwbench", "run", "--shard=1/2")) == ("gwbench", "run")


def test_older_results_without_shard_fields_are_refused_as_not_shards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = to_json_dict(unsharded(tmp_path))
    del data["run"]["shard"], data["run"]["merged_from"]
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text(json.dumps(data))
    code, _, err = gwbench(["merge", str(tmp_path / "old")], capsys)
    assert code == 2 and "not a shard" in err
