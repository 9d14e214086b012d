"""GIVEN the churn command WHEN it gets a user mistake THEN it exits 2 naming the file and
line or the option; WHEN asked to simulate from a live run's figures THEN it prints the
table and the JSON document without starting Envoy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gwbench.harness.churn.summary import ChangeRecord, PushRecord
from gwbench.harness.cli import main
from tests.churn_data import live_churn_file


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return int(info.value.code or 0)


def test_a_malformed_replay_line_exits_2_naming_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay = tmp_path / "history.txt"
    replay.write_text("0 add\n1.5 change-path shop/web\n1.0 add\n")
    assert _exit_code(["churn", "-n", "10", "--replay", str(replay)]) == 2
    err = capsys.readouterr().err
    assert f"{replay}: line 3: time 1.0 is before the previous line's 1.5" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration", "5"], "--rate"),
        (["--rate", "5"], "--duration"),
        (["--rate", "-1", "--duration", "5"], "--rate: must be above 0"),
        (["--rate", "5", "--duration", "5", "--mix", "jump=1"], "--mix"),
        (
            ["--rate", "5", "--duration", "5", "--shape", "scoped", "--transport", "files"],
            "--transport: the scoped shape is served over ADS only",
        ),
    ],
)
def test_missing_or_bad_stream_options_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(["churn", "-n", "10", *argv]) == 2
    assert message in capsys.readouterr().err


def _live(tmp_path: Path) -> Path:
    return live_churn_file(
        tmp_path / "churn.json",
        *(
            (
                impl,
                ChangeRecord(0, "add", "a/b", 1.0, 0, push, push + apply),
                PushRecord(0, 1, 1.1, push, push, 4000, 10, 10),
                (apply,),
            )
            for impl, push, apply in (("baseline", 4.0, 1.0), ("optimized", 1.0, 1.0))
        ),
    )


def test_simulate_from_a_live_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _live(tmp_path)
    argv = ["churn", "-n", "4000", "--rate", "60", "--duration", "300", "--mix", "add=1"]
    main([*argv, "--impl", "baseline", "--impl", "optimized", "--simulate", str(source), "--json"])
    printed = json.loads(capsys.readouterr().out)
    base, opt = printed["results"]
    assert (base["impl"], opt["impl"]) == ("baseline", "optimized")
    assert base["mode"] == opt["mode"] == "simulated"
    assert base["p99_s"] > 2 * opt["p99_s"]
    assert base["activations"] == opt["activations"] > 200
    main([*argv, "--impl", "optimized", "--simulate", str(source)])
    table = capsys.readouterr().out
    assert "simulated" in table and "cost model: live churn run" in table
    assert _exit_code([*argv, "--impl", "incremental", "--simulate", str(source)]) == 2
