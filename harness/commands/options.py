"""Options several commands share, declared once so they read and behave the same.

Each is a click decorator; a command whose help text differs passes its own ``help``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from gwbench.workloads.model import DEFAULT_CUSTOM_DOMAIN_SHARE, DEFAULT_SEED

F = TypeVar("F", bound=Callable[..., Any])


def seed(help: str = "Random seed.") -> Callable[[F], F]:
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


def as_json(help: str = "Machine-readable output.") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)
