"""``$GITHUB_STEP_SUMMARY``: the file a GitHub Actions job shows on its summary page.

``run``, ``merge`` and ``gate`` append their markdown summary to it when the variable is
set. The summary there is a copy of what the command already wrote beside its results, so
a file that cannot be written is a warning on stderr, never a failure of the command.
"""

from __future__ import annotations

import os

import click

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def append_step_summary(text: str) -> None:
    """Append ``text`` and a newline to the file ``$GITHUB_STEP_SUMMARY`` names; nothing
    when the variable is unset or empty."""
    target = os.environ.get(STEP_SUMMARY_ENV)
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        click.echo(
            f"gwbench: warning: cannot append to ${STEP_SUMMARY_ENV}: {exc.strerror or exc}",
            err=True,
        )
