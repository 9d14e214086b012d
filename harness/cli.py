"""gwbench command line: one module per subcommand under ``harness/commands/``.

Subcommands load lazily, so ``gwbench --help`` stays fast. Every command raises
:class:`gwbench.errors.GwbenchError` for expected failures; :func:`main` turns those into a
one-line message and the documented exit code (2 for usage and input errors).
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from gwbench.errors import EXIT_HARNESS, EXIT_USAGE, GwbenchError, InputError

if TYPE_CHECKING:
    from gwbench.results import Results

# command name -> module under harness.commands exposing ``command``
COMMANDS: dict[str, str] = {
    "generate": "generate",
    "inspect": "inspect",
    "hotpaths": "hotpaths",
    "verify": "verify",
    "run": "run",
    "report": "report",
    "compare": "compare",
    "gate": "gate",
    "envoy": "envoy",
    "merge": "merge",
    "churn": "churn",
}

SHORT_HELP: dict[str, str] = {
    "merge": "Merge the results of `run --shard I/K` into one results file and report.",
    "generate": "Write N seeded Ingresses and their Secrets as YAML.",
    "inspect": "Load, validate and summarize Ingress manifests.",
    "hotpaths": "List the registered hot paths and the real code each models.",
    "verify": "Run only the equivalence checks of the hot paths.",
    "run": "The main job: verify, time, profile, sweep, report.",
    "report": "Render the HTML (or markdown) report of a results file.",
    "compare": "Regression table of two results files.",
    "gate": "Pull-request regression gate: base vs head in one job.",
    "envoy": "Measure domain activation latency on a real Envoy.",
    "churn": "Activation latency and disruption under a stream of Ingress changes.",
}


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (``lstat``: a dangling link counts)."""
    current = path
    while True:
        try:
            current.lstat()
            return current
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            pass  # an ancestor is a regular file: keep climbing to it
        except OSError:
            return current
        if current.parent == current:
            return current
        current = current.parent


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _probe_directory(directory: Path) -> None:
    """Create and delete a file in ``directory``; raises ``OSError`` when it cannot."""
    fd, tmp = tempfile.mkstemp(prefix=".gwbench-probe-", dir=directory)
    os.close(fd)
    os.unlink(tmp)


def _probe_creatable(missing: Path, existing: Path) -> None:
    """Whether the missing directory ``missing`` can be created under ``existing``:
    create its first missing component, then remove it again."""
    first = missing
    while first.parent != existing and first.parent != first:
        first = first.parent
    first.mkdir()
    first.rmdir()


def output_problem(path: Path, kind: Literal["dir", "file"]) -> str | None:
    """Why ``path`` cannot be written as an output directory or file (``None``: it can).

    Checked by doing: a file is created and deleted in the directory that would hold the
    output (so read-only file systems, ``/proc`` and permissions all count, for root too),
    or, when that directory does not exist yet, its first missing component is created
    and removed.
    """
    if kind == "file":
        if path.is_dir():
            return "is a directory, not a file"
        if path.exists() and not path.is_file():
            return "exists and is not a regular file"
        directory = path.parent if str(path.parent) else Path(".")
    else:
        if path.exists() and not path.is_dir():
            return "is a file, not a directory"
        directory = path
    existing = _nearest_existing(directory.absolute())
    if not existing.is_dir():
        return f"{existing} is a file, so nothing can be created under it"
    try:
        if existing == directory.absolute():
            _probe_directory(existing)
        else:
            _probe_creatable(directory.absolute(), existing)
    except OSError as exc:
        if existing == directory.absolute():
            what = f"cannot create a file in {existing}"
        else:
            what = f"cannot create the directory {directory}"
        if exc.errno == errno.EROFS:
            return f"{what} (a read-only file system)"
        return f"{what} ({_why(exc)})"
    return None


class OutputPath(click.ParamType):  # type: ignore[type-arg]
    """An output directory (``kind="dir"``) or file (``kind="file"``) that can be written.

    Every command's ``-o`` uses this type, so a path that cannot be written is a usage
    error (exit 2) naming the path, before any work starts.
    """

    name = "path"

    def __init__(self, kind: Literal["dir", "file"]) -> None:
        self.kind = kind
        self.name = "directory" if kind == "dir" else "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        if isinstance(value, Path):
            path = value
        else:
            text = os.fsdecode(value) if isinstance(value, bytes) else str(value)
            if not text or "\x00" in text:
                self.fail(f"{text!r} is not a path", param, ctx)
            path = Path(text)
        problem = output_problem(path, self.kind)
        if problem is not None:
            self.fail(f"{path}: {problem}", param, ctx)
        return path


_VERDICT_COLOURS: dict[str, tuple[str, bool]] = {
    "regression": ("red", True),
    "slower": ("red", False),
    "inconclusive": ("yellow", False),
    "faster": ("green", False),
}


def style_verdict(text: str, verdict: str) -> str:
    """``text`` in the colour of ``verdict`` (slower and regression red); ``click.echo``
    drops the colour when the output is not a terminal."""
    colour = _VERDICT_COLOURS.get(verdict)
    if colour is None:
        return text
    return click.style(text, fg=colour[0], bold=colour[1])


def load_results_file(path: Path) -> Results:
    """A results file (or a directory holding ``results.json``) as
    :class:`gwbench.results.Results`; not UTF-8, missing or malformed: exit 2 naming it."""
    from gwbench.results import loads
    from gwbench.workloads.yamlio import decode_text

    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise InputError("no such results file", file=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read results: {_why(exc)}", file=str(path)) from None
    return loads(decode_text(data, str(path)), source=str(path))


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        try:
            module = importlib.import_module(f"gwbench.harness.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gwbench.harness.commands.{module_name}":
                raise
            return None
        command = getattr(module, "command", None)
        return command if isinstance(command, click.Command) else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP.get(name, "")) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gwbench", prog_name="gwbench")
def cli() -> None:
    """gwbench: benchmark, profile and guard the gateway hot paths that make
    Kubernetes Ingress changes slow at tens of thousands of Ingresses.

    Start with `gwbench run --ingresses 2000 --quick`, then open the report it names.
    """


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run the CLI and map known errors to exit codes."""
    try:
        return cli.main(args=argv, prog_name="gwbench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except GwbenchError as exc:
        click.echo(f"gwbench: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug or a broken environment: exit 3, never 1 (a finding)
        traceback.print_exc(file=sys.stderr)
        click.echo(
            f"gwbench: error: internal failure: {type(exc).__name__}: {exc} "
            "(a harness failure, exit 3; the traceback above is for a bug report)",
            err=True,
        )
        sys.exit(EXIT_HARNESS)
