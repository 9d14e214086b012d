"""``gwbench gate`` input errors (exit 2) and ``gwbench compare`` of stored results:
fabricated regressions exit 1, unchanged results exit 0, mismatched workloads or schemas
exit 2."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from gwbench.harness.cli import main
from gwbench.results import Results, write_results
from tests import report_data


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(argv)
    code = done.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "tiny"
    repo.mkdir()
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    (repo / "README").write_text("tiny\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "one"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)
    return repo


# --------------------------------------------------------------------------- gate


@pytest.mark.parametrize("n", ["0", "-5"])
def test_gate_refuses_non_positive_n(
    n: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["gate", "-n", n, "-o", str(tmp_path / "o")]) == 2
    assert "--ingresses must be a positive number" in capsys.readouterr().err


def refused(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``gwbench gate --repo REPO -o TMP/o ARGS`` exits 2: its stderr."""
    assert run(["gate", "--repo", str(repo), "-o", str(tmp_path / "o"), *args]) == 2
    return capsys.readouterr().err


def test_gate_outside_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "not inside a git repository" in refused(tmp_path, tmp_path, capsys, "--base", "main")


def test_gate_refuses_a_bad_ref(
    tiny_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tiny_repo, tmp_path, capsys, "--base", "no-such-branch")
    assert "--base 'no-such-branch' names no commit" in err


def test_gate_refuses_a_bad_thresholds_file(
    tiny_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text("[gate]\nslope = 'steep'\n")
    err = refused(tiny_repo, tmp_path, capsys, "--base", "main", "--thresholds", str(bad))
    assert str(bad) in err and "field gate.slope" in err and "expected a number" in err


def test_gate_refuses_a_missing_thresholds_file(
    tiny_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(tiny_repo, tmp_path, capsys, "--thresholds", str(tmp_path / "none.toml"))
    assert "cannot read thresholds" in err


def test_gate_without_default_branch_asks_for_base(
    tiny_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "-C", str(tiny_repo), "branch", "-q", "-m", "trunk"], check=True)
    assert "pass --base REF" in refused(tiny_repo, tmp_path, capsys)


# --------------------------------------------------------------------------- compare


def _write(tmp_path: Path, name: str, results: Results) -> Path:
    path = tmp_path / name / "results.json"
    write_results(results, path)
    return path


def test_compare_fabricated_regression_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a candidate whose optimized gateway_lookup is 30% slower
    ref = _write(tmp_path, "ref", report_data.results())
    cand = _write(tmp_path, "cand", report_data.results(slowdown=1.3))
    # WHEN compared THEN exit 1 and the JSON names the regressed rows
    assert run(["compare", str(ref), str(cand), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "gwbench-compare" and data["regression"] is True
    regressed = {(r["hotpath"], r["implementation"]) for r in data["time"]
                 if r["verdict"] == "regression"}  # fmt: skip
    assert regressed == {("gateway_lookup", "optimized")}


def test_compare_unchanged_results_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = _write(tmp_path, "ref", report_data.results())
    cand = _write(tmp_path, "cand", report_data.results())
    assert run(["compare", str(ref.parent), str(cand.parent)]) == 0
    out = capsys.readouterr().out
    assert "gateway_lookup" in out
    assert not [ln for ln in out.splitlines() if ln.startswith("regression")]


def test_compare_counter_regression_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN equal times but an optimized implementation doing 10% more lookups
    base = report_data.results()
    hp = base.hotpaths[0]
    impl = hp.implementations[1]
    points = tuple(
        replace(p, counters={**p.counters, "lookups": int(p.counters["lookups"] * 1.1)})
        for p in impl.points
    )
    more = replace(hp, implementations=(hp.implementations[0], replace(impl, points=points)))
    cand = replace(base, hotpaths=(more, *base.hotpaths[1:]))
    code = run(["compare", str(_write(tmp_path, "ref", base)), str(_write(tmp_path, "c", cand)),
                "--markdown"])  # fmt: skip
    assert code == 1
    assert "counter lookups" in capsys.readouterr().out


def test_compare_refuses_mismatched_workloads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = _write(tmp_path, "ref", report_data.results())
    cand = _write(tmp_path, "cand", report_data.with_workload(report_data.results(), seed=7))
    assert run(["compare", str(ref), str(cand)]) == 2
    assert "different workloads" in capsys.readouterr().err


def test_compare_refuses_another_schema_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = _write(tmp_path, "ref", report_data.results())
    data = json.loads(ref.read_text())
    data["schema_version"] = 99
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    assert run(["compare", str(ref), str(other)]) == 2
    assert "schema version 99" in capsys.readouterr().err


def test_compare_of_missing_file_is_an_input_error(tmp_path: Path) -> None:
    ref = _write(tmp_path, "ref", report_data.results())
    assert run(["compare", str(ref), str(tmp_path / "nope.json")]) == 2
