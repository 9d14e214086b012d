"""gwbench command line: one module per subcommand under ``harness/commands/``.

Subcommands load lazily, so ``gwbench --help`` stays fast. Every command raises
:class:`gwbench.errors.GwbenchError` for expected failures; :func:`main` turns those into a
one-line message and the documented exit code (2 for usage and input errors).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from gwbench.errors import EXIT_USAGE, GwbenchError

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
