"""Progress of a long command (``run``, ``gate``): the protocol, a silent implementation,
and a rich progress bar on stderr over the whole plan (nothing when stderr is not a
terminal)."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import (
    Progress as RichBar,
)


class Progress(Protocol):
    """Where a command reports progress."""

    def start(self, total: int) -> None: ...

    def describe(self, text: str) -> None: ...

    def advance(self, steps: int = 1) -> None: ...

    def note(self, text: str) -> None:
        """Tell the user something now, while the work goes on (a line above the bar)."""
        ...

    def stop(self) -> None: ...


class NullProgress:
    def start(self, total: int) -> None:
        return None

    def describe(self, text: str) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None

    def note(self, text: str) -> None:
        return None

    def stop(self) -> None:
        return None


class RichProgress:
    """Implements :class:`Progress`."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar: RichBar | None = None
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        self._bar = RichBar(
            TextColumn("[bold]gwbench[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            disable=not self.console.is_terminal,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("starting", total=total)

    def describe(self, text: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=text)

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, steps)

    def note(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        if self._bar is not None:
            if self._task is not None:
                self._bar.update(self._task, description="done")
            self._bar.stop()
            self._bar = None
