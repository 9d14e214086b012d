"""The one measurement kernel: the only place gwbench calls a hot path's implementations
to check, time, profile or measure them.

``gwbench run`` (:mod:`harness.worker`), ``gwbench verify`` (:mod:`harness.equivalence`)
and the gate's side driver (:mod:`harness.gate.driver`) are thin adapters over it: each
finds the hot path and builds its inputs its own way, then hands them here. So every
figure is taken the same way whichever command takes it:

- inputs are built once per process and never timed; ``specialize`` (``inputs_for``)
  narrows them to one implementation, also untimed;
- the set-up heap is collected and frozen (:func:`settle_heap`) before any call, so the
  collector's full passes during a timed call do not walk it (the modelled Go and C++
  code has no such pass); what a call allocates is collected as usual;
- ``prepare`` (a fresh copy for hot paths that mutate their inputs) runs before every
  call, outside the timed region;
- a timed value is ``loops`` calls, wall and process CPU time (:meth:`Subject.time`).

The gate copies this file next to its side driver and runs both with ``PYTHONPATH`` set to
a side's worktree (whose own code may be older than this file): it therefore imports
nothing but the standard library at module level and works on duck-typed hot paths
(``name``, ``implementations`` of ``name``/``kind``/``func``, ``compare``, optional
``prepare``, ``inputs_for`` or ``specialize``).
"""

from __future__ import annotations

import gc
import os
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

PROFILE_CALL_FRAME = "_gwbench_profiled_call"
PROFILE_PREPARE_FRAME = "_gwbench_profiled_prepare"
"""Frames a sampling profiler sees around each call and each ``prepare`` of
:func:`profile_loop`; the flame graphs keep only the samples under them."""


def settle_heap() -> None:
    """Collect, then move everything alive to the permanent generation.

    Called after every input build, so a hot path's set-up heap is frozen while it is
    timed; ``gc.unfreeze`` first, so inputs dropped since the last freeze are freed."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def baseline_of(hotpath: Any) -> Any:
    for impl in hotpath.implementations:
        if impl.kind == "baseline":
            return impl
    raise LookupError(f"hot path {hotpath.name!r} has no baseline implementation")


def implementation_of(hotpath: Any, name: str) -> Any:
    for impl in hotpath.implementations:
        if impl.name == name:
            return impl
    raise LookupError(f"hot path {hotpath.name!r} has no implementation {name!r}")


def own_inputs(hotpath: Any, inputs: Any, implementation: str) -> Any:
    """``inputs`` as ``implementation`` takes them: the hot path's ``inputs_for`` (or
    ``specialize``) when it has one, else the shared inputs."""
    inputs_for = getattr(hotpath, "inputs_for", None)
    if callable(inputs_for):
        return inputs_for(inputs, implementation)
    specialize = getattr(hotpath, "specialize", None)
    return specialize(inputs, implementation) if specialize is not None else inputs


@dataclass
class Subject:
    """One implementation with its own inputs, ready to be called."""

    hotpath: Any
    impl: Any
    inputs: Any
    counters: Any
    """Passed to every timed call (``NullCounters``: counting is for the check)."""
    specialize_seconds: float = 0.0

    def argument(self) -> Any:
        prepare = getattr(self.hotpath, "prepare", None)
        return prepare(self.inputs) if prepare is not None else self.inputs

    def call(self) -> Any:
        return self.impl.func(self.argument(), self.counters)

    def time(self, loops: int) -> tuple[float, float]:
        """Wall and process CPU seconds of ``loops`` calls, ``prepare`` excluded."""
        prepare = getattr(self.hotpath, "prepare", None)
        inputs = self.inputs
        func = self.impl.func
        counters = self.counters
        clock = time.perf_counter
        cpu_clock = time.process_time
        wall = 0.0
        cpu = 0.0
        for _ in range(loops):
            arg = prepare(inputs) if prepare is not None else inputs
            c0 = cpu_clock()
            t0 = clock()
            func(arg, counters)
            wall += clock() - t0
            cpu += cpu_clock() - c0
        return wall, cpu


def subject(hotpath: Any, impl: Any, inputs: Any, counters: Any, *, settle: bool = True) -> Subject:
    """``impl``'s subject over the shared ``inputs``; the heap is settled after (unless
    the caller settles it once for several subjects)."""
    t0 = time.perf_counter()
    own = own_inputs(hotpath, inputs, impl.name)
    seconds = time.perf_counter() - t0
    if settle:
        settle_heap()
    return Subject(hotpath, impl, own, counters, seconds)


class CallFailed(Exception):
    """An implementation (or its ``specialize``/``prepare``) raised; ``cause`` holds what
    it raised, with its traceback."""

    def __init__(self, hotpath: str, implementation: str, cause: BaseException) -> None:
        super().__init__(f"hot path {hotpath}: implementation {implementation} raised {cause!r}")
        self.hotpath = hotpath
        self.implementation = implementation
        self.cause = cause


@dataclass(frozen=True)
class Outcome:
    """One implementation's call in an equivalence check."""

    implementation: str
    kind: str
    counters: dict[str, int]
    seconds: float
    difference: str | None
    """``None`` when the result equals the baseline's (always ``None`` for the baseline)."""
    specialize_seconds: float = 0.0
    """Time of the hot path's ``specialize`` for this implementation (untimed set-up)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """The call's own stage timings, when its result has them (``ingress_update``)."""


FollowUp = Callable[["Subject", float, "Markers"], None]
"""What a check does with each implementation after every call is made and compared:
its subject, the seconds of its check call and its profiling frames (``gwbench run``'s
check worker at N loops it for py-spy and measures it under memray there, with the
inputs already built)."""


def check(
    hotpath: Any,
    inputs: Any,
    new_counters: Callable[[], Any],
    size: int | None = None,
    follow_up: FollowUp | None = None,
) -> list[Outcome]:
    """Call every implementation once on its own inputs, baseline first, with fresh
    counters, and compare each result with the baseline's (the hot path's ``compare``).
    Outcomes come back in the hot path's order. Every implementation's inputs are built
    first and the heap settled once, so each call runs with the set-up heap frozen, as
    in a timing round: a slow call may count as a timing value.

    Each call (and its ``prepare``) runs under the implementation's own profiling frames
    (:class:`Markers`), so a sampling profiler of the whole check tells them apart. With
    ``follow_up``, the subjects are kept until every call is compared, then handed to it
    one by one (an exception there is the caller's).

    With ``size``, implementations whose registry limit (``implementations_at``) excludes
    that size are left out. Raises :class:`CallFailed` when an implementation (or its
    set-up) raises."""
    base = baseline_of(hotpath)
    at = getattr(hotpath, "implementations_at", None)
    candidates = at(size) if size is not None and at is not None else hotpath.implementations
    ordered = [base, *(i for i in candidates if i is not base)]
    subjects: dict[str, Subject] = {}
    for impl in ordered:
        try:
            subjects[impl.name] = subject(hotpath, impl, inputs, new_counters(), settle=False)
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            raise CallFailed(hotpath.name, impl.name, exc) from exc
    settle_heap()
    outcomes: dict[str, Outcome] = {}
    markers = {impl.name: Markers.of(impl.name) for impl in ordered}
    prepare = getattr(hotpath, "prepare", None)
    expected: Any = None
    for impl in ordered:
        subj = subjects[impl.name] if follow_up is not None else subjects.pop(impl.name)
        counters = subj.counters
        mark = markers[impl.name]
        try:
            arg = subj.inputs if prepare is None else mark.prepare(prepare, subj.inputs)
            t0 = time.perf_counter()
            result = mark.call(impl.func, arg, counters)
            seconds = time.perf_counter() - t0
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as exc:
            raise CallFailed(hotpath.name, impl.name, exc) from exc
        specialize_seconds = subj.specialize_seconds
        del arg, subj
        difference: str | None = None
        if impl is base:
            expected = result
        else:
            found = hotpath.compare(expected, result)
            difference = None if found is None else str(found)
        # a result of side scenarios carries the main one's stages (``ingress_update``)
        # (a mapping or (stage, seconds) pairs)
        own = getattr(getattr(result, "main", result), "stage_seconds", None) or ()
        stages = {str(k): float(v) for k, v in dict(own).items()}
        del result
        outcomes[impl.name] = Outcome(
            impl.name,
            impl.kind,
            {str(k): int(v) for k, v in counters.as_dict().items()},
            seconds,
            difference,
            specialize_seconds,
            stages,
        )
    if follow_up is not None:
        for impl in ordered:
            follow_up(subjects.pop(impl.name), outcomes[impl.name].seconds, markers[impl.name])
    return [outcomes[i.name] for i in hotpath.implementations if i.name in outcomes]


class Subjects:
    """The subjects of one process, built on demand: the shared inputs of one (hot path,
    size) at a time and the subjects of its implementations. Moving to another hot path
    or size drops the previous inputs first (memory). The heap is settled once after
    building, before the next timed value (:meth:`ready`), not after every subject."""

    def __init__(self, build_inputs: Callable[[Any, int], Any], counters: Any) -> None:
        self._build = build_inputs
        self._counters = counters
        self._group: tuple[str, int] | None = None
        self._inputs: Any = None
        self._subjects: dict[str, Subject] = {}
        self._unsettled = False

    def get(self, hotpath: Any, implementation: str, size: int) -> Subject:
        group = (hotpath.name, size)
        if group != self._group:
            self._group = None
            self._inputs = None
            self._subjects = {}
            self._inputs = self._build(hotpath, size)
            self._group = group
            self._unsettled = True
        found = self._subjects.get(implementation)
        if found is None:
            impl = implementation_of(hotpath, implementation)
            found = subject(hotpath, impl, self._inputs, self._counters, settle=False)
            self._subjects[implementation] = found
            self._unsettled = True
        return found

    def ready(self) -> None:
        """Settle the heap if anything was built since the last time."""
        if self._unsettled:
            settle_heap()
            self._unsettled = False


@dataclass(frozen=True)
class Entry:
    """What a timing process is asked to time: calls per value, warm-up calls."""

    subject: Callable[[], Subject]
    loops: int
    warmups: int
    ready: Callable[[], None] = settle_heap
    """Called before each timed value: settles the heap if anything was built since."""


@dataclass
class Server:
    """Timing on request, one line per command, so that an orchestrator can interleave
    several processes (or implementations) value by value::

        setup I   build entry I's subject, run its warm-up calls -> ok
        value I   one timed value of entry I: loops calls -> "WALL CPU" (seconds per call)
        quit      stop

    With ``keep_going``, an entry whose set-up or call raises answers ``failed TYPE:
    MESSAGE`` and the process serves the other entries; otherwise the exception ends it.
    """

    entries: Sequence[Entry]
    keep_going: bool = False
    served: int = field(default=0)

    def setup(self, index: int) -> str:
        entry = self.entries[index]
        subj = entry.subject()
        for _ in range(entry.warmups):
            subj.call()
        gc.collect()
        return "ok"

    def value(self, index: int) -> str:
        entry = self.entries[index]
        subj = entry.subject()
        entry.ready()
        wall, cpu = subj.time(entry.loops)
        self.served += 1
        return f"{wall / entry.loops!r} {cpu / entry.loops!r}"

    def answer(self, line: str) -> str | None:
        """The answer to one command line; ``None`` for ``quit``."""
        words = line.split()
        if words == ["quit"]:
            return None
        if len(words) == 2 and words[0] in ("setup", "value") and words[1].isdigit():
            index = int(words[1])
            if index < len(self.entries):
                try:
                    return self.setup(index) if words[0] == "setup" else self.value(index)
                except (KeyboardInterrupt, MemoryError):
                    raise
                except Exception as exc:
                    if not self.keep_going:
                        raise
                    text = " ".join(f"{type(exc).__name__}: {exc}".split())
                    return f"failed {text}"
        raise ValueError(f"unknown command {line.strip()!r}")

    def serve(self, commands: IO[str], answers: IO[str]) -> int:
        """Answer ``commands`` until ``quit`` or their end; the number of values served."""
        answers.write("ready\n")
        answers.flush()
        for line in commands:
            if not line.strip():
                continue
            reply = self.answer(line)
            if reply is None:
                break
            answers.write(reply + "\n")
            answers.flush()
        return self.served


def _gwbench_profiled_prepare(prepare: Callable[[Any], Any], inputs: Any) -> Any:
    return prepare(inputs)


def _gwbench_profiled_call(func: Callable[[Any, Any], Any], arg: Any, counters: Any) -> Any:
    return func(arg, counters)


def frame_name(frame: str, implementation: str) -> str:
    """The name of ``frame`` (a profiling frame) marked for one implementation, so that
    one profiled process can serve several implementations: ``<frame>__<implementation>``."""
    return f"{frame}__{implementation}"


@dataclass(frozen=True)
class Markers:
    """The profiling frames of one implementation: copies of
    :func:`_gwbench_profiled_call` and :func:`_gwbench_profiled_prepare` whose code is
    named for it (:func:`frame_name`), which is what a sampling profiler records."""

    call: Callable[[Callable[[Any, Any], Any], Any, Any], Any]
    prepare: Callable[[Callable[[Any], Any], Any], Any]

    @classmethod
    def plain(cls) -> Markers:
        return cls(_gwbench_profiled_call, _gwbench_profiled_prepare)

    @classmethod
    def of(cls, implementation: str) -> Markers:
        def renamed(func: Any, frame: str) -> Any:
            name = frame_name(frame, implementation)
            code = func.__code__.replace(co_name=name, co_qualname=name)
            return types.FunctionType(code, func.__globals__, name)

        return cls(
            renamed(_gwbench_profiled_call, PROFILE_CALL_FRAME),
            renamed(_gwbench_profiled_prepare, PROFILE_PREPARE_FRAME),
        )


def profile_loop(subj: Subject, seconds: float, *, markers: Markers | None = None) -> int:
    """Call ``subj`` for ``seconds`` (at least once), for a sampling profiler; the number
    of calls. Calls and ``prepare`` run under ``markers`` (default: the unmarked profiling
    frames)."""
    mark = markers or Markers.plain()
    prepare = getattr(subj.hotpath, "prepare", None)
    func = subj.impl.func
    calls = 0
    deadline = time.perf_counter() + seconds
    while True:
        arg = subj.inputs
        if prepare is not None:
            arg = mark.prepare(prepare, arg)
        mark.call(func, arg, subj.counters)
        calls += 1
        if time.perf_counter() >= deadline:
            return calls


MEMRAY_SLOWDOWN = 4.0
"""Estimated slowdown of a call under memray with Python allocators traced."""


def memory_call(subj: Subject, capture: str) -> dict[str, float]:
    """One call under ``memray.Tracker`` (Python allocators traced): peak heap memory and
    allocation count of the call only (``prepare`` runs before tracking starts)."""
    import memray

    arg = subj.argument()
    if os.path.exists(capture):
        os.remove(capture)
    gc.collect()
    t0 = time.perf_counter()
    with memray.Tracker(
        capture,
        native_traces=False,
        trace_python_allocators=True,
        follow_fork=False,
        file_format=memray.FileFormat.ALL_ALLOCATIONS,
    ):
        subj.impl.func(arg, subj.counters)
    seconds = time.perf_counter() - t0
    del arg
    reader = memray.FileReader(capture)
    try:
        meta = reader.metadata
        out = {
            "peak_memory_bytes": int(meta.peak_memory),
            "total_allocations": int(meta.total_allocations),
            "seconds": seconds,
        }
    finally:
        reader.close()
    os.remove(capture)
    return out


def timing_entries(
    plan: Sequence[Mapping[str, Any]], subjects: Subjects, hotpath: Callable[[str], Any]
) -> list[Entry]:
    """Entries of a timing plan (``hotpath``, ``implementation``, ``size``, ``loops``,
    ``warmups`` each), resolved through ``subjects``."""

    def resolver(p: Mapping[str, Any]) -> Callable[[], Subject]:
        hp, impl, size = str(p["hotpath"]), str(p["implementation"]), int(p["size"])
        return lambda: subjects.get(hotpath(hp), impl, size)

    return [
        Entry(resolver(p), max(1, int(p["loops"])), int(p.get("warmups", 1)), subjects.ready)
        for p in plan
    ]
