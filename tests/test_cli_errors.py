"""Every user mistake exits 2 with a message naming the path or the input, and no traceback.

One table drives every command that writes an output (``-o``) with each kind of output
path that cannot be written, and every command that reads a file (or standard input) with
each kind of text that is not UTF-8. Tests run as root, which may write into read-only
directories, so an impossible path is one under a regular file or under ``/proc``.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gwbench.harness.cli import main, output_problem
from gwbench.results import write_results
from tests import report_data

GOOD_MANIFEST = (Path(__file__).parent / "data" / "manifests" / "good_small.yaml").read_text(
    encoding="utf-8"
)

# --------------------------------------------------------------------------- bad outputs

BadPath = Callable[[Path], Path]


def _existing_file(tmp: Path) -> Path:
    f = tmp / "a-file"
    f.write_text("x")
    return f


def _existing_dir(tmp: Path) -> Path:
    d = tmp / "a-dir"
    d.mkdir()
    return d


def _under_a_file(tmp: Path) -> Path:
    return _existing_file(tmp) / "sub" / "out"


def _under_proc(tmp: Path) -> Path:
    return Path("/proc/gwbench-no-such-dir/out")


def _proc_itself(tmp: Path) -> Path:
    return Path("/proc")


DIR_OUTPUTS: dict[str, BadPath] = {
    "a regular file": _existing_file,
    "a path under a regular file": _under_a_file,
    "a path under /proc": _under_proc,
    "/proc itself (not writable)": _proc_itself,
}
FILE_OUTPUTS: dict[str, BadPath] = {
    "a directory": _existing_dir,
    "a path under a regular file": _under_a_file,
    "a path under /proc": _under_proc,
}


def _results_dir(tmp: Path) -> Path:
    d = tmp / "results"
    write_results(report_data.results(), d / "results.json")
    return d


# command -> (kind of -o, argv before -o, given tmp)
COMMANDS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "run": ("dir", lambda t: ["run", "-n", "10", "--hotpath", "gateway_lookup", "--quick"]),
    "gate": ("dir", lambda t: ["gate", "-n", "10", "--repo", str(t)]),
    "generate": ("file", lambda t: ["generate", "-n", "5"]),
    "report": ("file", lambda t: ["report", str(_results_dir(t))]),
    "envoy": ("file", lambda t: ["envoy", "-n", "10"]),
}

OUTPUT_CASES = [
    pytest.param(cmd, name, make, id=f"{cmd}: -o {name}")
    for cmd, (kind, _) in COMMANDS.items()
    for name, make in (DIR_OUTPUTS if kind == "dir" else FILE_OUTPUTS).items()
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    code = done.value.code
    assert isinstance(code, int)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("command", "case", "make"), OUTPUT_CASES)
def test_every_command_refuses_an_output_it_cannot_write(
    command: str, case: str, make: BadPath, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an output path that cannot be written as the command needs it
    _, argv = COMMANDS[command]
    bad = make(tmp_path)
    # WHEN the command runs with it
    code, text = _run([*argv(tmp_path), "-o", str(bad)], capsys)
    # THEN exit 2, a message naming the path, no traceback, nothing written
    assert code == 2, text
    assert str(bad) in text
    assert "Traceback" not in text
    assert not (tmp_path / "a-file" / "sub").exists()


def test_the_check_accepts_what_can_be_written(tmp_path: Path) -> None:
    # a new directory several levels down, an existing empty one, a new file in either
    assert output_problem(tmp_path / "new" / "deeper", "dir") is None
    assert output_problem(tmp_path, "dir") is None
    assert output_problem(tmp_path / "new" / "report.html", "file") is None
    assert output_problem(tmp_path / "r.json", "file") is None
    # and leaves nothing behind
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bad inputs

BAD_TEXT: dict[str, tuple[bytes, str]] = {
    "Latin-1": (GOOD_MANIFEST.replace("name:", "name: caf\xe9 #").encode("latin-1"), "UTF-8"),
    "UTF-16 with a byte order mark": (GOOD_MANIFEST.encode("utf-16"), "UTF-16"),
    "UTF-16 without a byte order mark": (GOOD_MANIFEST.encode("utf-16-le"), "UTF-8"),
    "UTF-32": (GOOD_MANIFEST.encode("utf-32"), "UTF-32"),
    "binary": (bytes(range(256)), "UTF-8"),
}

# command -> argv given the bad file (and tmp)
FILE_READERS: dict[str, Callable[[Path, Path], list[str]]] = {
    "inspect FILE": lambda f, t: ["inspect", str(f)],
    "inspect --json FILE": lambda f, t: ["inspect", "--json", str(f)],
    "verify --from-file": lambda f, t: ["verify", "--from-file", str(f), "-n", "1"],
    "run --from-file": lambda f, t: [
        "run", "--from-file", str(f), "-n", "1", "--quick", "-o", str(t / "out"),
    ],
    "report RESULTS": lambda f, t: ["report", str(f)],
    "report --compare": lambda f, t: ["report", str(_results_dir(t)), "--compare", str(f)],
    "compare REFERENCE": lambda f, t: ["compare", str(f), str(_results_dir(t))],
    "compare CANDIDATE": lambda f, t: ["compare", str(_results_dir(t)), str(f)],
    "compare --thresholds": lambda f, t: [
        "compare", str(_results_dir(t)), str(_results_dir(t)), "--thresholds", str(f),
    ],
    "gate --thresholds": lambda f, t: ["gate", "--repo", str(t), "--thresholds", str(f)],
}  # fmt: skip

INPUT_CASES = [
    pytest.param(reader, kind, id=f"{reader}: {kind}")
    for reader in FILE_READERS
    for kind in BAD_TEXT
]


@pytest.mark.parametrize(("reader", "kind"), INPUT_CASES)
def test_every_reader_refuses_text_that_is_not_utf8(
    reader: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an input file that is not UTF-8 text
    data, _ = BAD_TEXT[kind]
    bad = tmp_path / "input.bin"
    bad.write_bytes(data)
    # WHEN a command reads it
    code, text = _run(FILE_READERS[reader](bad, tmp_path), capsys)
    # THEN exit 2, naming the file, no traceback
    assert code == 2, text
    assert str(bad) in text
    assert "Traceback" not in text


@pytest.mark.parametrize("kind", list(BAD_TEXT))
def test_inspect_refuses_bad_text_on_stdin(
    kind: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, encoding = BAD_TEXT[kind]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code, text = _run(["inspect", "-"], capsys)
    assert code == 2, text
    assert "stdin" in text and encoding in text
    assert "Traceback" not in text


def test_inspect_of_real_stdin_in_a_process() -> None:
    # GIVEN Latin-1 bytes on a real pipe WHEN `gwbench inspect -` reads them
    done = subprocess.run(
        [sys.executable, "-m", "gwbench", "inspect", "-"],
        input=BAD_TEXT["Latin-1"][0],
        capture_output=True,
        timeout=120,
    )
    err = done.stderr.decode("utf-8", "replace")
    # THEN exit 2 with one line naming stdin and the byte, no traceback
    assert done.returncode == 2, err
    assert "stdin" in err and "not UTF-8" in err
    assert "Traceback" not in err


def test_a_utf8_byte_order_mark_is_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bom.yaml"
    f.write_bytes(b"\xef\xbb\xbf" + GOOD_MANIFEST.encode("utf-8"))
    main_code = 0
    try:
        main(["inspect", str(f)])
    except SystemExit as exc:  # pragma: no cover - inspect returns normally
        main_code = int(exc.code or 0)
    assert main_code == 0
    assert "Ingresses:" in capsys.readouterr().out


def test_a_crash_is_a_harness_failure_not_a_finding(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a command that fails with an unexpected exception (a bug)
    from gwbench.harness.commands import hotpaths

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(hotpaths.command, "callback", broken)
    # WHEN it runs THEN exit 3 (never 1, which CI reads as a regression), with the reason
    code, text = _run(["hotpaths"], capsys)
    assert code == 3
    assert "internal failure: RuntimeError: boom" in text
