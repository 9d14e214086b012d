"""The transient progress bar on stderr of the commands that run for a while without the
run's own progress (``gwbench generate``, ``gwbench envoy``): description, bar, done of
total, elapsed time; gone when done. rich is imported on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


@contextmanager
def stderr_bar(description: str, total: int) -> Iterator[tuple[Progress, TaskID]]:
    """The bar and its one task, for the caller to update or advance."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        yield bar, bar.add_task(description, total=total)
