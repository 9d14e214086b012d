"""Istio's debounce and push queue, as a pure state machine and the one loop that drives it.

Models istiod's ``debounce`` (``pilot/pkg/xds/discovery.go``): a config event does not push
at once. The first event of a batch starts the debounce; every event restarts the quiet
timer. A push starts when ``PILOT_DEBOUNCE_AFTER`` (100 ms) has passed without a new event,
or when ``PILOT_DEBOUNCE_MAX`` (10 s) has passed since the batch's first event, and only when
the previous push has finished (istiod's ``free`` flag): events that arrive during a push
merge into the next one, which starts as soon as the push ends if its quiet time has already
passed.

:func:`drive` is the control loop. It takes a :class:`Clock` and a push function; with
the real clock and a push that runs the control plane it is the live run, and with
:class:`SimClock` and a push that advances the clock by a measured duration it is the
simulation (``gwbench churn --simulate``). Same code, two clocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

DEBOUNCE_AFTER_S = 0.1
DEBOUNCE_MAX_S = 10.0


class Timed(Protocol):
    @property
    def at(self) -> float: ...


T = TypeVar("T", bound=Timed)


@dataclass(frozen=True)
class DebounceSettings:
    after_s: float = DEBOUNCE_AFTER_S
    max_s: float = DEBOUNCE_MAX_S


class Debouncer(Generic[T]):
    """Pending events, when they arrived, and whether a push is running."""

    def __init__(self, settings: DebounceSettings = DebounceSettings()) -> None:
        self.settings = settings
        self.pending: list[T] = []
        self.first_at = 0.0
        self.last_at = 0.0
        self.busy = False

    def offer(self, item: T, at: float) -> None:
        """An event reached the control plane at ``at`` (clock time)."""
        if not self.pending:
            self.first_at = at
        self.pending.append(item)
        self.last_at = max(self.last_at, at) if len(self.pending) > 1 else at

    def due(self, now: float) -> bool:
        """A push may start now: events wait, no push runs, and quiet or max time passed."""
        wake = self.wake_at()
        return wake is not None and now >= wake

    def wake_at(self) -> float | None:
        """When the pending batch becomes due if nothing else arrives (None: nothing waits
        or a push runs; the loop looks again when the push ends)."""
        if not self.pending or self.busy:
            return None
        return min(self.last_at + self.settings.after_s, self.first_at + self.settings.max_s)

    def take(self) -> list[T]:
        """Start a push with every pending event."""
        batch, self.pending = self.pending, []
        self.busy = True
        return batch

    def done(self) -> None:
        self.busy = False


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep_until(self, when: float) -> None: ...


class RealClock:
    """``time.perf_counter`` and real sleeping."""

    def now(self) -> float:
        return time.perf_counter()

    def sleep_until(self, when: float) -> None:
        delay = when - time.perf_counter()
        if delay > 0:
            time.sleep(delay)


class SimClock:
    """A clock that only moves when told to: sleeping jumps to the wake-up time."""

    def __init__(self, start: float = 0.0) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def sleep_until(self, when: float) -> None:
        self.time = max(self.time, when)

    def advance(self, seconds: float) -> None:
        self.time += seconds


@dataclass(frozen=True)
class PushRecord:
    """One push: which events it carried (stream positions) and when it ran (clock times)."""

    number: int
    events: tuple[int, ...]
    started: float
    finished: float
    first_arrival: float
    last_arrival: float

    @property
    def duration_s(self) -> float:
        return self.finished - self.started


Push = Callable[[int, Sequence[T]], None]
"""``push(number, events)``: runs one push, blocking until it has been handed to the data
plane (a simulated push advances its clock instead)."""


def drive(
    events: Sequence[T],
    push: Push[T],
    clock: Clock,
    *,
    start: float | None = None,
    settings: DebounceSettings = DebounceSettings(),
    index: Callable[[T], int] | None = None,
) -> list[PushRecord]:
    """Feed ``events`` (``at`` seconds after ``start``) through the debounce, push every
    batch, and return the pushes once the last event has been pushed.

    Events that arrive while a push runs are offered when it returns, with their own
    arrival times: the debounce sees them exactly as istiod's would have.
    """
    number_of = index if index is not None else (lambda e: events.index(e))
    origin = clock.now() if start is None else start
    debouncer: Debouncer[T] = Debouncer(settings)
    records: list[PushRecord] = []
    position = 0
    while position < len(events) or debouncer.pending:
        now = clock.now()
        while position < len(events) and origin + events[position].at <= now:
            debouncer.offer(events[position], origin + events[position].at)
            position += 1
        if debouncer.due(now):
            first, last = debouncer.first_at, debouncer.last_at
            batch = debouncer.take()
            started = clock.now()
            try:
                push(len(records), batch)
            finally:
                debouncer.done()
            records.append(
                PushRecord(
                    len(records),
                    tuple(number_of(e) for e in batch),
                    started,
                    clock.now(),
                    first,
                    last,
                )
            )
            continue
        wake = debouncer.wake_at()
        if position < len(events):
            arrival = origin + events[position].at
            wake = arrival if wake is None else min(wake, arrival)
        if wake is not None:
            clock.sleep_until(wake)
    return records
