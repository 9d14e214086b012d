"""The gate end to end, on a temporary git repository made from this project.

The project's working tree is copied into a new repository (commit ``base``); each test
adds one commit on its own branch and gates it against ``base``:

- a 25% slowdown of one optimized implementation (real work: a quarter of the chains
  hashed again) is a confirmed time regression (exit 1);
- an O(N) step turned O(N^2) (the gateway map rebuilt for every lookup) is caught by the
  counters and the scaling exponent (exit 1);
- identical code (a commit that changes only a text file) passes (exit 0);
- an import error in the head is a harness failure (exit 3) that shows the error.

filterchain_hash is the timed hot path: at N=300 its ``deterministic`` implementation
takes about 20 ms per call with the smallest spread of the hot paths measured on the
development machine (docs/gate.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from project_repo import copy_as_base, git

from gwbench.harness.cli import main

N = "300"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A git repository holding this project's working tree as commit ``base``."""
    path = tmp_path_factory.mktemp("gate") / "repo"
    copy_as_base(path)
    yield path


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate appends to $GITHUB_STEP_SUMMARY; these tests must not write to CI's."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def branch(repo: Path, name: str, edits: Mapping[str, tuple[str, str]]) -> str:
    """Commit ``edits`` (path -> (old text, new text)) on a new branch from ``base``."""
    git(repo, "checkout", "-q", "-b", name, "base")
    try:
        for rel, (old, new) in edits.items():
            p = repo / rel
            text = p.read_text(encoding="utf-8")
            assert old in text, f"{rel} no longer contains the text this test edits"
            p.write_text(text.replace(old, new, 1), encoding="utf-8")
        git(repo, "commit", "-q", "-am", name)
        return git(repo, "rev-parse", "HEAD")
    finally:
        git(repo, "checkout", "-q", "main")


def gate(repo: Path, out: Path, *args: str) -> int:
    argv = ["gate", "--repo", str(repo), "--base", "base", "-n", N, "-o", str(out), *args]
    with pytest.raises(SystemExit) as done:
        main(argv)
    code = done.value.code
    assert isinstance(code, int)
    return code


def rows(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    data = json.loads((out / "gate.json").read_text(encoding="utf-8"))
    assert data["kind"] == "gwbench-gate"
    return {(r["hotpath"], r["implementation"]): r for r in data["rows"]}


SLOWDOWN = {
    "optimized/filterchain_hash.py": (
        "    return partition_of(hash_chains_deterministic(inputs.chains, counters))",
        "    hash_chains_deterministic(inputs.chains[::4], Counters())  # a quarter again\n"
        "    return partition_of(hash_chains_deterministic(inputs.chains, counters))",
    )
}
QUADRATIC = {
    "optimized/gateway_lookup.py": (
        "        gateway = get_gateway_by_name(cfg_cache, key, counters)",
        "        rebuilt = build_cfg_cache(list(cfg_cache.values()), counters)\n"
        "        gateway = get_gateway_by_name(rebuilt, key, counters)",
    )
}
IMPORT_ERROR = {
    "optimized/gateway_lookup.py": (
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\nimport gwbench_no_such_module  # noqa: F401\n",
    )
}


@pytest.mark.slow
def test_slowdown_of_25_percent_is_a_confirmed_regression(repo: Path, tmp_path: Path) -> None:
    # GIVEN a head whose optimized deterministic hash does 25% more real work
    branch(repo, "slow25", SLOWDOWN)
    # WHEN gated against base
    code = gate(repo, tmp_path / "out", "--head", "slow25", "--hotpath", "filterchain_hash",
                "--rounds", "8")  # fmt: skip
    # THEN exit 1: a time regression, confirmed by a second batch; counters unchanged
    found = rows(tmp_path / "out")
    slowed = found[("filterchain_hash", "deterministic")]
    assert code == 1, slowed["reasons"]
    assert slowed["verdict"] == "regression"
    assert all(not c["failed"] for c in slowed["counters"])
    # the rounds (the first look's, or all of them when it could not say yet) and the
    # confirmation batch each say regression
    for batch in (slowed["pooled"] or slowed["time"], slowed["confirmation"]):
        assert batch["verdict"] == "slower" and batch["regression"]
        assert batch["ratio"] > 1.10 and batch["ratio_low"] > 1.0
    # the CPU-time view of the same rounds sees the injected quarter
    assert 1.1 < 2.718281828 ** slowed["time"]["cpu_log_ratio"] < 1.45
    assert found[("filterchain_hash", "cached")]["verdict"] != "regression"
    # and the results of each side are written in the run's format, with the report
    for side in ("base", "head"):
        assert (tmp_path / "out" / side / "results.json").is_file()
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    body = page[page.index("<body>") :]
    assert body.startswith('<body><div class="banner verdict-regression">')  # verdict first
    assert (tmp_path / "out" / "head" / "report.html").stat().st_size > 0
    text = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "🔴 regression" in text
    assert "±5% no change band" in text and "regression at +10%" in text
    # the regressed row is profiled on both sides: a differential flame graph, or why not
    flamediff = tmp_path / "out" / "flamediff" / "filterchain_hash-deterministic-N300.html"
    assert "flamediff/filterchain_hash-deterministic-N300.html" in text or "none (py-spy" in text
    if flamediff.exists():
        assert "<svg" in flamediff.read_text(encoding="utf-8")


@pytest.mark.slow
def test_quadratic_step_is_caught_by_counters_and_slope(repo: Path, tmp_path: Path) -> None:
    # GIVEN a head that rebuilds the gateway map for every lookup (O(N) -> O(N^2))
    branch(repo, "quadratic", QUADRATIC)
    code = gate(repo, tmp_path / "out", "--head", "quadratic", "--hotpath", "gateway_lookup",
                "--rounds", "3", "--no-profile")  # fmt: skip
    # THEN exit 1, from the exact checks: counters far above +2%, exponent up by about 1
    row = rows(tmp_path / "out")[("gateway_lookup", "optimized")]
    assert code == 1
    assert row["verdict"] == "regression"
    failed = {c["name"] for c in row["counters"] if c["failed"]}
    assert {"dict_builds", "dict_inserts"} <= failed
    slope = {s["counter"]: s for s in row["scaling"]}["dict_inserts"]
    assert slope["failed"] and 0.8 < slope["delta"] < 1.2
    assert row["confirmation"] is None  # exact failures need no confirmation batch
    baseline = rows(tmp_path / "out")[("gateway_lookup", "baseline")]
    assert baseline["verdict"] == "pass"


@pytest.mark.slow
def test_identical_code_passes(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a head that changes no code, and a GitHub step summary file
    (repo / "NOTES.txt").write_text("base\n")
    git(repo, "add", "NOTES.txt")
    git(repo, "commit", "-q", "-m", "notes")
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    try:
        code = gate(repo, tmp_path / "out", "--head", "main", "--hotpath", "filterchain_hash",
                    "--rounds", "6", "--max-rounds", "12")  # fmt: skip
    finally:
        git(repo, "reset", "-q", "--hard", "base")
    # THEN exit 0, no row is a regression, and the summary reached the step summary
    found = rows(tmp_path / "out")
    assert code == 0, [r["reasons"] for r in found.values()]
    assert all(r["verdict"] != "regression" for r in found.values())
    assert all(not c["failed"] for r in found.values() for c in r["counters"])
    # every timed row has a verdict of the ladder; an inconclusive first look got more
    # rounds, up to the cap of 12, and a row still inconclusive says it hit the cap
    for r in found.values():
        if r["time"] is not None:
            assert r["verdict"] in ("no change", "faster", "slower", "inconclusive")
            if r["time"]["verdict"] == "inconclusive":
                assert r["pooled"] is not None and r["pooled"]["verdict"] == r["verdict"]
                assert 6 < r["pooled"]["rounds"] <= 12
            if r["verdict"] == "inconclusive":
                assert r["stopped"] is not None
    assert "### gwbench gate" in step_summary.read_text(encoding="utf-8")
    # the temporary worktrees are gone
    assert git(repo, "worktree", "list").count("\n") == 0


def test_import_error_in_head_is_a_harness_failure(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a head that cannot import one of its hot paths
    branch(repo, "broken", IMPORT_ERROR)
    # WHEN gated THEN exit 3 (not 0, not 1), naming the side and the error
    code = gate(repo, tmp_path / "out", "--head", "broken", "--rounds", "3")
    err = capsys.readouterr().err
    assert code == 3
    assert "head (" in err
    assert "ModuleNotFoundError" in err and "gwbench_no_such_module" in err
    assert not (tmp_path / "out" / "gate.json").exists()


def test_unknown_hot_path_is_an_input_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = gate(repo, tmp_path / "out", "--head", "base", "--hotpath", "gateway_lokup")
    assert code == 2
    assert "unknown hot path 'gateway_lokup'" in capsys.readouterr().err


def test_bad_thresholds_committed_in_the_base_are_an_input_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = branch(repo, "bad-thresholds", {"ci/thresholds.toml": ("counts = 0.02", "counts = -2")})
    argv = ["gate", "--repo", str(repo), "--base", sha, "--head", sha, "-n", N,
            "-o", str(tmp_path / "out")]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "ci/thresholds.toml at base" in err and "field gate.counts" in err
