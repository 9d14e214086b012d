"""Progress of a long command (``run``, ``gate``): the protocol, a silent implementation,
a rich progress bar for a terminal, and one plain line per finished step for a CI log.

:func:`progress_for` picks: the bar when stderr is a terminal, else :class:`LineProgress`
(a bar that redraws itself is unreadable in a log, and printing nothing until the end
leaves a CI job silent for minutes).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

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

Notes = Callable[[str], None]
"""Where a long measurement says what it is doing, a line at a time (the Envoy driver,
live churn)."""


def no_notes(_: str) -> None:
    """:data:`Notes` that says nothing."""


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


def _clock_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class LineProgress:
    """Implements :class:`Progress` as plain lines: one per finished step, saying what
    finished (the step's description), how far the plan is and the time since the start,
    for example ``gwbench [ 7/31] 1:42 +12.0 s  time gateway_lookup/baseline N=2000``."""

    def __init__(
        self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self._total = 0
        self._done = 0
        self._text = "starting"
        self._start = 0.0
        self._last = 0.0

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def start(self, total: int) -> None:
        self._total = total
        self._done = 0
        self._start = self._last = self.clock()
        self._print(f"gwbench: {total} steps")

    def describe(self, text: str) -> None:
        self._text = text

    def advance(self, steps: int = 1) -> None:
        now = self.clock()
        self._done += steps
        width = len(str(self._total))
        self._print(
            f"gwbench [{self._done:>{width}}/{self._total}] {_clock_text(now - self._start)} "
            f"+{now - self._last:.1f} s  {self._text}"
        )
        self._last = now

    def note(self, text: str) -> None:
        self._print(text)

    def stop(self) -> None:
        if self._total:
            self._print(
                f"gwbench: {self._done} of {self._total} steps in "
                f"{_clock_text(self.clock() - self._start)}"
            )
        self._total = 0


def progress_for(stream: TextIO | None = None) -> Progress:
    """The rich bar when ``stream`` (default stderr) is a terminal, else plain lines."""
    out = stream if stream is not None else sys.stderr
    if out.isatty():
        return RichProgress(Console(file=out))
    return LineProgress(out)
