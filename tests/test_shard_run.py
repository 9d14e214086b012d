"""End to end: `gwbench run --shard 1/2` and `--shard 2/2` with real workers, then
`gwbench merge`: the merged results hold the plan of one unsharded run (its hot paths, N,
sizes and implementations), with a report. Each run also appends its summary to
$GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_fakes
from cli_capture import gwbench

from gwbench.harness import plan
from gwbench.harness.selection import select_hotpaths
from gwbench.results import Results, load_results


def shard_and_merge(
    run_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Results, list[Results]]:
    """Run both shards of ``run_args`` and merge them; (merged, [shard 1, shard 2])."""
    shards = []
    for index in (1, 2):
        out_dir = tmp_path / f"shard-{index}"
        code, _, err = gwbench(
            ["run", *run_args, "--shard", f"{index}/2", "-o", str(out_dir)], capsys
        )
        assert code == 0, err
        shards.append(load_results(out_dir / "results.json"))
    merged_dir = tmp_path / "merged"
    code, _, err = gwbench(
        ["merge", str(tmp_path / "shard-1"), str(tmp_path / "shard-2"), "-o", str(merged_dir)],
        capsys,
    )
    assert code == 0, err
    assert (merged_dir / "report.html").is_file()
    merged = load_results(merged_dir / "results.json")
    for hp in merged.hotpaths:
        for impl in hp.implementations:
            for point in impl.points:
                assert point.timing is not None and point.timing.pyperf_json is not None
                assert (merged_dir / point.timing.pyperf_json).is_file()
    return merged, shards


def assert_is_the_unsharded_plan(
    merged: Results, names: list[str], n: int, sizes: tuple[int, ...]
) -> None:
    """The merged results hold what one run of the same plan would: every hot path of the
    selection in plan order, N, the sweep, and each hot path's implementations, timed at
    every size."""
    expected = select_hotpaths(names)
    assert [hp.name for hp in merged.hotpaths] == [hp.name for hp in expected]
    assert merged.run.hotpaths == tuple(hp.name for hp in expected)
    assert merged.workload.ingresses == n and merged.workload.sizes == sizes
    assert merged.run.status == "complete", merged.run.reason
    for hp, registered in zip(merged.hotpaths, expected, strict=True):
        assert [i.name for i in hp.implementations] == [i.name for i in registered.implementations]
        for impl in hp.implementations:
            assert [p.size for p in impl.points] == list(sizes)
        assert hp.equivalence_sizes == sizes


def test_toy_shards_merge_into_one_run_and_write_step_summaries(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two toy hot paths and a CI job's summary file
    harness_fakes.install(monkeypatch)
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    names = ["fake_search", "fake_pickled"]
    args = ["-n", "40", "--sizes", "40", "--quick", "--no-profile", "--no-memory"]
    # WHEN each shard runs and the two are merged
    merged, shards = shard_and_merge(
        [*args, "--hotpath", names[0], "--hotpath", names[1]], tmp_path, capsys
    )
    # THEN each shard measured one hot path and recorded the whole plan
    assert [s.run.hotpaths for s in shards] == [("fake_search",), ("fake_pickled",)]
    for index, s in enumerate(shards, start=1):
        assert s.run.shard is not None and (s.run.shard.index, s.run.shard.count) == (index, 2)
        assert s.run.shard.plan_hotpaths == tuple(names)
    # AND the merge is that plan
    assert_is_the_unsharded_plan(merged, names, 40, (40,))
    # AND both runs and the merge appended their summaries to the job's page
    text = summary.read_text()
    assert text.count("### gwbench: 40 Ingresses") == 3
    assert "| fake_search | optimized |" in text and "| fake_pickled | optimized |" in text


@pytest.mark.slow
def test_real_hot_paths_sharded_and_merged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two real hot paths at 300 Ingresses, quick mode
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    names = ["gateway_lookup", "filterchain_hash"]
    args = ["-n", "300", "--quick", "--hotpath", names[0], "--hotpath", names[1]]
    # WHEN --shard 1/2 and --shard 2/2 run and are merged
    merged, shards = shard_and_merge(args, tmp_path, capsys)
    # THEN the merged results are the plan of one unsharded run, with profiles
    assert_is_the_unsharded_plan(merged, names, 300, plan.sweep_sizes(300, plan.MODES["quick"]))
    assert {h for s in shards for h in s.run.hotpaths} == set(names)
    for hp in merged.hotpaths:
        for impl in hp.implementations:
            prof = impl.profile
            assert prof is not None
            if prof.missing_reason is None and prof.flamegraph_svg is not None:
                assert (tmp_path / "merged" / prof.flamegraph_svg).is_file()
