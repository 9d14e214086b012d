"""The `run`, `verify` and `hotpaths` commands: help, input errors, exit codes, an
end-to-end run with real timing workers and py-spy, and Ctrl-C on a real process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_fakes
from cli_capture import gwbench

from gwbench.harness.summary_file import STEP_SUMMARY_ENV, append_step_summary
from gwbench.reports.view import fmt_level
from gwbench.results import load_results


@pytest.fixture()
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    harness_fakes.install(monkeypatch)


def test_run_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gwbench(["run", "--help"], capsys)
    assert code == 0
    for option in (
        "--ingresses",
        "--hotpath",
        "--sizes",
        "--quick",
        "--rigorous",
        "--no-profile",
        "--no-memory",
        "--envoy",
        "--from-file",
        "--from-cluster",
        "--seed",
        "--custom-domains",
        "-o",
    ):
        assert option in out
    for cmd in ("verify", "hotpaths"):
        assert gwbench([cmd, "--help"], capsys)[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ingresses", "0"], "must be positive, got 0"),
        (["--ingresses", "-5"], "must be positive, got -5"),
        (["--ingresses", "ten"], "'ten' is not a valid integer"),
        ([], "how many Ingresses?"),
        (["--ingresses", "10", "--hotpath", "nope"], "unknown hot path 'nope'; known:"),
        (["--ingresses", "10", "--from-file", "/no/such/file.yaml"], "does not exist"),
        (["--ingresses", "10", "--from-file", "/"], "is a directory"),
        (["--ingresses", "10", "--sizes", "5,x"], "'x' is not a whole number"),
        (["--ingresses", "10", "--sizes", "20"], "size 20 exceeds N=10"),
        (["--ingresses", "10", "--quick", "--rigorous"], "choose one of --quick and --rigorous"),
        (["--ingresses", "10", "--custom-domains", "2"], "--custom-domains"),
    ],
)
def test_run_input_errors_exit_2_with_a_clear_message(
    fakes: None, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = gwbench(["run", *args], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_run_unreadable_manifest_exits_2(
    fakes: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Ingress\n  : [unclosed\n")
    code, _, err = gwbench(["run", "--from-file", str(bad), "--hotpath", "fake_search"], capsys)
    assert code == 2 and str(bad) in err and "gwbench: error:" in err


def test_existing_results_directory_is_refused(
    fakes: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "results.json").write_text("{}")
    code, _, err = gwbench(
        ["run", "-n", "10", "--hotpath", "fake_search", "-o", str(tmp_path)], capsys
    )
    assert code == 2 and "already holds results" in err


def test_a_mismatch_at_a_smaller_sweep_size_stops_the_run_before_timing(
    fakes: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN a twin that is right at N=40 but wrong at N=20
    code, _, err = gwbench(
        [
            *("run", "-n", "40", "--sizes", "20", "--hotpath", "fake_broken_small"),
            *("--quick", "-o", str(tmp_path / "r")),
        ],
        capsys,
    )
    # THEN the run stops with exit 1, naming the hot path and the size, before any timing
    assert code == 1
    assert "hot path fake_broken_small: optimized differs from baseline" in err
    assert "(N=20)" in err
    res = load_results(tmp_path / "r" / "results.json")
    assert res.run.status == "partial" and "differs" in str(res.run.reason)
    assert 20 not in res.hotpaths[0].equivalence_sizes
    assert not (tmp_path / "r" / "pyperf").exists()


def test_run_stops_on_a_mismatch_before_any_timing(
    fakes: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = gwbench(
        ["run", "-n", "30", "--hotpath", "fake_broken", "--quick", "-o", str(tmp_path / "r")],
        capsys,
    )
    assert code == 1
    assert "hot path fake_broken: optimized differs from baseline" in err
    # the first check to finish reports it: at N=30 or at a sweep size (3, 7)
    assert re.search(r"name #2 resolves to position 1 instead of 2 \(N=(30|7|3)\)", err)
    res = load_results(tmp_path / "r" / "results.json")
    assert res.run.status == "partial" and "differs" in str(res.run.reason)
    assert all(p.timing is None for i in res.hotpaths[0].implementations for p in i.points)
    assert not (tmp_path / "r" / "pyperf").exists()


def test_verify_passes_and_fails_with_the_first_difference(
    fakes: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = gwbench(["verify", "-n", "20", "--hotpath", "fake_search"], capsys)
    assert code == 0 and "fake_search (N=20): ok" in out
    code, out, err = gwbench(
        ["verify", "-n", "20", "--hotpath", "fake_search", "--hotpath", "fake_broken"], capsys
    )
    assert code == 1
    assert "fake_broken (N=20): MISMATCH" in out
    assert "hot path fake_broken: optimized differs from baseline" in err
    assert "name #2 resolves to position 1 instead of 2" in err
    code, out, _ = gwbench(["verify", "-n", "20", "--hotpath", "fake_broken", "--json"], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["schema_version"] == 1 and doc["ok"] is False
    impls = {i["name"]: i for i in doc["hotpaths"][0]["implementations"]}
    assert impls["optimized"]["equal"] is False
    assert impls["baseline"]["counters"]["comparisons"] == 210


def test_hotpaths_lists_the_registry(fakes: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gwbench(["hotpaths"], capsys)
    assert code == 0 and "fake_search: Toy name lookup" in out
    assert "baseline" in out and "tests.fake_hotpaths" in out and "counters: comparisons" in out
    code, out, _ = gwbench(["hotpaths", "--json"], capsys)
    doc = json.loads(out)
    fake = next(h for h in doc["hotpaths"] if h["name"] == "fake_search")
    assert doc["schema_version"] == 1
    assert fake["implementations"][1] == {
        "name": "optimized",
        "kind": "optimized",
        "module": "tests.fake_hotpaths",
    }
    assert fake["counters"] == ["comparisons", "lookups", "dict_builds"]


def test_end_to_end_run_with_timing_workers_and_py_spy(
    fakes: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN the toy hot path WHEN `gwbench run --quick` runs at one small size
    out_dir = tmp_path / "run"
    code, out, err = gwbench(
        [
            "run",
            "-n",
            "40",
            "--sizes",
            "40",
            "--hotpath",
            "fake_search",
            "--quick",
            "-o",
            str(out_dir),
        ],
        capsys,
    )
    # THEN it succeeds, prints the table and the report, and the files are all there
    assert code == 0, err
    assert "fake_search  optimized" in out and f"report:  {out_dir / 'report.html'}" in out
    res = load_results(out_dir / "results.json")
    assert res.run.status == "complete" and res.run.mode == "quick"
    assert res.environment.protobuf_backend and res.environment.packages["pyperf"]
    assert res.environment.command_line == (
        "gwbench",
        "run",
        "--ingresses",
        "40",
        "--hotpath",
        "fake_search",
        "--sizes",
        "40",
        "--quick",
        "--output",
        str(out_dir),
    )
    html = (out_dir / "report.html").read_text()
    assert "fake_search" in html
    import pyperf

    for impl in res.hotpaths[0].implementations:
        point = impl.point(40)
        assert point is not None and point.timing is not None
        bench = pyperf.Benchmark.load(str(out_dir / str(point.timing.pyperf_json)))
        assert len(bench.get_values()) == point.timing.n_values >= 3
        assert bench.get_name() == "fake_search N=40"
        assert impl.memory is not None and impl.memory.size == 40
        assert impl.memory.peak_memory_bytes and impl.memory.total_allocations
        prof = impl.profile
        assert prof is not None, impl.name
        if prof.missing_reason is None:  # py-spy present and allowed to attach
            # one worker served py-spy and memray
            assert not list((out_dir / "logs").glob("memory-*"))
            assert prof.samples > 0
            # the SVG on disk is the report's interactive graph (zoom script, search box)
            svg = (out_dir / str(prof.flamegraph_svg)).read_text()
            assert "fake_search/" in svg and "<script>" in svg and "flame-search" in svg
            folded = (out_dir / str(prof.folded_stacks)).read_text()
            assert all(
                line.startswith(f"fake_search/{impl.name} N=40") for line in folded.splitlines()
            )
            # speedscope weighs samples in seconds: together, the profile's duration
            doc = json.loads((out_dir / str(prof.speedscope_json)).read_text())
            assert doc["profiles"][0]["unit"] == "seconds"
            assert sum(doc["profiles"][0]["weights"]) == pytest.approx(prof.seconds)


DRIVER = """
import signal
import sys
# A test run from a background job inherits SIGINT ignored; the user's terminal would not.
signal.signal(signal.SIGINT, signal.default_int_handler)
import harness_fakes
from gwbench.harness import sources
sources.generate_workload = harness_fakes.fake_workload
from gwbench.harness.cli import main
main(sys.argv[1:])
"""


@pytest.mark.slow
def test_ctrl_c_keeps_finished_benchmarks_and_kills_workers(tmp_path: Path) -> None:
    # GIVEN a real `gwbench run` process with several benchmarks to go
    out_dir = tmp_path / "run"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([harness_fakes.TESTS_DIR, env.get("PYTHONPATH", "")])
    env["GWBENCH_EXTRA_HOTPATHS"] = "fake_hotpaths"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            DRIVER,
            "run",
            "-n",
            "300",
            "--sizes",
            "100,200",
            "--hotpath",
            "fake_search",
            "--no-profile",
            "--no-memory",
            "-o",
            str(out_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # WHEN Ctrl-C arrives once, after the first benchmark finished
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            path = out_dir / "results.json"
            if path.exists():
                res = load_results(path)
                if any(p.timing for i in res.hotpaths[0].implementations for p in i.points):
                    break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # THEN it exits 130 on its own, results.json is partial and loads, no worker survives
    assert proc.returncode == 130, err
    assert b"partial results in" in err
    res = load_results(out_dir / "results.json")
    assert res.run.status == "partial" and "interrupted" in str(res.run.reason)
    # the values of the rounds that finished are kept (the mode asks for more)
    timed = [p.timing for i in res.hotpaths[0].implementations for p in i.points if p.timing]
    assert timed and all(3 <= t.n_values < 10 * 5 for t in timed)
    assert (out_dir / "report.html").exists()
    time.sleep(0.5)
    survivors = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if str(out_dir).encode() in cmdline:
                survivors.append(pid)
    assert survivors == []


def test_an_implementation_runs_only_up_to_its_size_limit(
    fakes: None,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a hot path whose `quadratic` implementation runs only up to N=20
    import fake_hotpaths

    limit = fake_hotpaths.LIMIT
    out_dir = tmp_path / "run"
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(step_summary))
    # WHEN `gwbench run` sweeps 10, 20 and 40 Ingresses
    code, out, err = gwbench(
        [
            *("run", "-n", "40", "--sizes", f"10,{limit}", "--hotpath", "fake_limited"),
            *("--quick", "-o", str(out_dir)),
        ],
        capsys,
    )
    # THEN the run completes; `quadratic` is timed, checked and measured only up to 20
    assert code == 0, err
    res = load_results(out_dir / "results.json")
    assert res.run.status == "complete", res.run.reason
    hp = res.hotpaths[0]
    quad = hp.implementation("quadratic")
    assert quad is not None and quad.max_size == limit
    assert [p.size for p in quad.points] == [10, limit]
    assert all(p.timing is not None for p in quad.points)
    assert quad.profile is None  # profiles are taken at N only
    assert quad.memory is not None and quad.memory.size == limit
    assert f"not run above N={limit}" in str(quad.memory.note)
    assert {s.size for s in hp.speedups if s.implementation == "quadratic"} == {10, limit}
    assert hp.speedup("optimized", 40) is not None
    optimized = hp.implementation("optimized")
    assert optimized is not None and optimized.max_size is None
    assert [p.size for p in optimized.points] == [10, limit, 40]
    assert not list((out_dir / "pyperf" / "fake_limited").glob("quadratic-N40*"))
    # and the report and the console say where it stops, and state the intervals' level
    level = fmt_level(hp.speedups[0].confidence)
    assert level == "99%" and f"{level} CI" in out and "95% CI" not in out
    html = (out_dir / "report.html").read_text()
    assert f"{level} CI" in html and "95% CI" not in html and "95% confidence" not in html
    assert f"not run above N={limit}" in html
    assert re.search(r"fake_limited\s+quadratic\s+not run\n", out)
    assert f"fake_limited quadratic: not run above N={limit} (its size limit)" in out
    # and the job's step summary got run's markdown summary
    assert "fake_limited" in step_summary.read_text()


def test_the_step_summary_is_appended_to_and_a_failure_is_only_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no $GITHUB_STEP_SUMMARY (conftest unsets it) WHEN a summary is appended
    append_step_summary("ignored")
    # THEN nothing is written anywhere
    assert not list(tmp_path.iterdir())
    # GIVEN a summary file that holds a previous step's text WHEN two summaries are appended
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n")
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(target))
    append_step_summary("first")
    append_step_summary("second")
    # THEN both follow the earlier text, one per line
    assert target.read_text() == "earlier step\nfirst\nsecond\n"
    # GIVEN a path that cannot be appended to (a directory) THEN a warning, no exception
    monkeypatch.setenv(STEP_SUMMARY_ENV, str(tmp_path))
    append_step_summary("lost")
    assert f"gwbench: warning: cannot append to ${STEP_SUMMARY_ENV}" in capsys.readouterr().err


def test_no_test_sees_the_job_s_step_summary() -> None:
    """Run by the test below with $GITHUB_STEP_SUMMARY set: the conftest fixture unsets it."""
    assert STEP_SUMMARY_ENV not in os.environ


def test_the_step_summary_of_the_job_running_the_tests_is_left_alone(tmp_path: Path) -> None:
    # GIVEN a CI job's step summary in the environment of a pytest run
    summary = tmp_path / "job-summary.md"
    env = {**os.environ, STEP_SUMMARY_ENV: str(summary)}
    # WHEN a test that checks the environment runs there
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
            f"{__file__}::test_no_test_sees_the_job_s_step_summary",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # THEN the variable was unset inside the test (it passed) and the file never written
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    assert not summary.exists()
