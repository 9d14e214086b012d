"""Benchmark worker: one hot-path implementation at one size, in a fresh process.

Protocol (``python -m harness.worker SPEC [MODE] [PYPERF OPTIONS]``)::

    SPEC   --hotpath H --impl I --ingresses N
           and one workload source:
             --workload FILE.pickle          a pickled Workload of N Ingresses
                                              (what ``gwbench run`` passes)
             [--seed S] [--custom-domain-share F]   generate N Ingresses (default)
             --from-file F [--seed S]        a seeded subset of N of F's Ingresses
           [--inputs FILE.pickle]            the hot path's inputs, pickled by
                                              ``gwbench run`` (hot paths tagged
                                              ``inputs-picklable``): no make_inputs
    MODE   (none)              time under pyperf; the remaining options are pyperf's
                               (-o FILE.json, --processes, --values, --warmups, --loops,
                               --rigorous ...); pyperf spawns its own worker processes,
                               which re-run this module with SPEC plus ``--worker``.
           --profile-loop S    build the inputs, then call the implementation repeatedly
                               for S seconds (run under py-spy); exits after S seconds even
                               in the middle of a call.
           --memory OUT.json --memray-file CAPTURE
                               one call under memray.Tracker; writes peak memory and
                               allocation count to OUT.json (with --profile-loop: first
                               the memray call, then the loop, one input build for both).
           --check OUT.pickle [--save-inputs FILE.pickle]
                               the equivalence check of the hot path (every implementation
                               once, :func:`harness.equivalence.check`) on the workload;
                               writes the pickled :class:`CheckReport` to OUT.pickle.
                               Each call goes through a frame named by
                               :func:`check_call_frame`, so that ``gwbench run`` can
                               sample the check at N with py-spy and keep one whole call
                               of each slow implementation as its profile.
                               With --save-inputs, a hot path tagged ``inputs-picklable``
                               has its inputs pickled there for later workers.
           --probe             import the registry and exit (measures startup time).

Inputs are built once per process and never timed: the workload is loaded (or
generated), ``make_inputs`` runs, the hot path's ``specialize`` narrows them to this
implementation, and before every call its ``prepare`` hands a fresh copy; pyperf times
only the calls. Timing passes ``NullCounters``: counters are recorded by the orchestrator
in an untimed call.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import pickle
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gwbench.files import atomic_write_bytes, atomic_write_text
from gwbench.workloads.counters import NullCounters

if TYPE_CHECKING:
    from gwbench.workloads.model import Workload

# This module is also pyperf's manager process, which only spawns workers: everything
# heavy (the registry, the hot paths, the kubernetes models) is imported lazily.

MODULE = "gwbench.harness.worker"
INPUTS_PICKLABLE_TAG = "inputs-picklable"
"""A hot path tagged so declares that its inputs survive pickling unchanged (no identity
relations between protobuf messages and their sub-messages): ``gwbench run`` then pickles
the inputs it built for the equivalence check and workers load them instead of running
``make_inputs`` again in every process."""
PROFILE_CALL_FRAME = "_gwbench_profiled_call"
PROFILE_PREPARE_FRAME = "_gwbench_profiled_prepare"


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker measures and where its Ingresses come from."""

    hotpath: str
    implementation: str
    size: int
    seed: int | None = None
    """Generator or sampling seed; ``None``: the workloads default."""
    custom_domain_share: float | None = None
    workload_pickle: str | None = None
    from_file: str | None = None
    inputs_pickle: str | None = None
    """Pickled inputs (hot paths tagged ``inputs-picklable``); replaces the workload."""

    def argv(self) -> list[str]:
        args = ["--hotpath", self.hotpath, "--impl", self.implementation]
        args += ["--ingresses", str(self.size)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        if self.workload_pickle is not None:
            args += ["--workload", self.workload_pickle]
        elif self.from_file is not None:
            args += ["--from-file", self.from_file]
        elif self.custom_domain_share is not None:
            args += ["--custom-domain-share", repr(self.custom_domain_share)]
        if self.inputs_pickle is not None:
            args += ["--inputs", self.inputs_pickle]
        return args

    def command(self, python: str | None = None) -> list[str]:
        return [python or sys.executable, "-m", MODULE, *self.argv()]

    @property
    def benchmark_name(self) -> str:
        return f"{self.hotpath}/{self.implementation}/N={self.size}"


def _parser() -> argparse.ArgumentParser:
    # allow_abbrev=False: pyperf's options (e.g. --profile) must not be taken for ours.
    p = argparse.ArgumentParser(prog="python -m harness.worker", allow_abbrev=False)
    p.add_argument("--hotpath", required=False)
    p.add_argument("--impl", dest="implementation")
    p.add_argument("--ingresses", type=int, dest="size")
    p.add_argument("--seed", type=int)
    p.add_argument("--custom-domain-share", type=float)
    p.add_argument("--workload", dest="workload_pickle")
    p.add_argument("--from-file")
    p.add_argument("--inputs", dest="inputs_pickle")
    p.add_argument("--profile-loop", type=float, metavar="SECONDS")
    p.add_argument("--memory", metavar="OUT_JSON")
    p.add_argument("--memray-file", metavar="CAPTURE")
    p.add_argument("--check", metavar="OUT_PICKLE")
    p.add_argument("--save-inputs", metavar="FILE_PICKLE")
    p.add_argument("--probe", action="store_true")
    return p


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Unpickling millions of small objects with the cyclic GC on is ten times slower."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_workload(spec: WorkerSpec) -> Workload:
    from gwbench.harness import sources
    from gwbench.workloads.model import (
        DEFAULT_CUSTOM_DOMAIN_SHARE,
        DEFAULT_SEED,
        Workload,
        WorkloadSpec,
    )

    if spec.workload_pickle is not None:
        with open(spec.workload_pickle, "rb") as fh, paused_gc():
            workload = pickle.load(fh)
        if not isinstance(workload, Workload):
            raise SystemExit(f"{spec.workload_pickle}: not a pickled Workload")
        return workload
    seed = DEFAULT_SEED if spec.seed is None else spec.seed
    if spec.from_file is not None:
        return sources.sample(sources.load_file(spec.from_file), spec.size, seed)
    share = (
        DEFAULT_CUSTOM_DOMAIN_SHARE
        if spec.custom_domain_share is None
        else spec.custom_domain_share
    )
    return sources.generate_workload(
        WorkloadSpec(ingresses=spec.size, seed=seed, custom_domain_share=share)
    )


class Subject:
    """The implementation under measurement and its inputs (built lazily, once)."""

    def __init__(self, spec: WorkerSpec) -> None:
        from gwbench.harness import registry

        self.spec = spec
        self.hotpath = registry.get(spec.hotpath)
        self.impl = self.hotpath.implementation(spec.implementation)
        self._inputs: Any = None
        self._built = False
        self.build_seconds = 0.0

    def inputs(self) -> Any:
        if not self._built:
            t0 = time.perf_counter()
            if self.spec.inputs_pickle is not None:
                with open(self.spec.inputs_pickle, "rb") as fh, paused_gc():
                    self._inputs = pickle.load(fh)
            else:
                workload = load_workload(self.spec)
                self._inputs = self.hotpath.make_inputs(workload)
                del workload
            self._inputs = self.hotpath.inputs_for(self._inputs, self.impl.name)
            gc.collect()
            # The set-up heap (decoded listeners, hash-strategy state) moves to the permanent
            # generation, so the collector's full passes during timed calls do not walk it:
            # the modelled Go and C++ code has no such pass. What a call allocates is still
            # collected as usual; baseline and optimized get the same treatment.
            gc.freeze()
            self.build_seconds = time.perf_counter() - t0
            self._built = True
        return self._inputs

    def fresh_argument(self) -> Any:
        inputs = self.inputs()
        prepare = self.hotpath.prepare
        return prepare(inputs) if prepare is not None else inputs

    def time_calls(self, loops: int) -> float:
        """pyperf time function: seconds for ``loops`` calls, ``prepare`` excluded."""
        inputs = self.inputs()
        prepare = self.hotpath.prepare
        func = self.impl.func
        counters = NullCounters()
        clock = time.perf_counter
        total = 0.0
        for _ in range(loops):
            arg = prepare(inputs) if prepare is not None else inputs
            t0 = clock()
            func(arg, counters)
            total += clock() - t0
        return total


def time_with_pyperf(spec: WorkerSpec, pyperf_argv: Sequence[str]) -> int:
    import pyperf

    subjects: list[Subject] = []

    def time_calls(loops: int) -> float:
        if not subjects:  # in pyperf's worker processes only, never in the manager
            subjects.append(Subject(spec))
        return subjects[0].time_calls(loops)

    runner = pyperf.Runner(
        program_args=("-m", MODULE, *spec.argv()),
        metadata={
            "gwbench_hotpath": spec.hotpath,
            "gwbench_implementation": spec.implementation,
            "gwbench_size": spec.size,
        },
    )
    runner.parse_args(list(pyperf_argv))
    runner.bench_time_func(spec.benchmark_name, time_calls)
    return 0


def _gwbench_profiled_prepare(prepare: Callable[[Any], Any], inputs: Any) -> Any:
    return prepare(inputs)


def _gwbench_profiled_call(func: Callable[[Any, Any], Any], arg: Any, counters: Any) -> Any:
    return func(arg, counters)


def check_call_frame(implementation: str) -> str:
    """The frame a ``--check`` worker calls ``implementation`` through: a sampling profile
    of the check holds one whole call of each implementation, told apart by this name."""
    return f"{PROFILE_CALL_FRAME}__{implementation}"


def _named_call(implementation: str) -> Callable[[Callable[[Any, Any], Any], Any, Any], Any]:
    """:func:`_gwbench_profiled_call` under the name :func:`check_call_frame` gives."""
    name = check_call_frame(implementation)
    code = _gwbench_profiled_call.__code__.replace(co_name=name, co_qualname=name)
    func: Callable[[Callable[[Any, Any], Any], Any, Any], Any] = types.FunctionType(
        code, globals(), name
    )
    return func


def _invoke_named(impl: Any, arg: Any, counters: Any) -> Any:
    return _named_call(impl.name)(impl.func, arg, counters)


def profile_loop(spec: WorkerSpec, seconds: float, memory: tuple[str, str] | None = None) -> int:
    """Call the implementation for ``seconds`` (at least once), for a sampling profiler.
    Only frames under :data:`PROFILE_CALL_FRAME` are the hot path's. With ``memory``
    (out JSON, capture file), one memray-tracked call comes first, so that one process
    (one input build) serves both passes."""
    subject = Subject(spec)
    inputs = subject.inputs()
    if memory is not None:
        measure_memory_call(subject, *memory)
    prepare = subject.hotpath.prepare
    func = subject.impl.func
    counters = NullCounters()
    # A slow call is cut short: its first seconds are as good a sample as its whole.
    timer = threading.Timer(seconds, os._exit, args=(0,))
    timer.daemon = True
    timer.start()
    deadline = time.monotonic() + seconds
    while True:
        arg = _gwbench_profiled_prepare(prepare, inputs) if prepare is not None else inputs
        _gwbench_profiled_call(func, arg, counters)
        if time.monotonic() >= deadline:
            break
    sys.stdout.flush()
    os._exit(0)


def measure_memory_call(subject: Subject, out_json: str, capture: str) -> None:
    """One call under memray; peak heap memory and allocation count of that call only
    (inputs are built and ``prepare`` runs before tracking starts)."""
    import memray

    arg = subject.fresh_argument()
    counters = NullCounters()
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
        subject.impl.func(arg, counters)
    seconds = time.perf_counter() - t0
    del arg
    reader = memray.FileReader(capture)
    try:
        meta = reader.metadata
        out = {
            "peak_memory_bytes": int(meta.peak_memory),
            "total_allocations": int(meta.total_allocations),
            "seconds": seconds,
            "build_seconds": subject.build_seconds,
        }
    finally:
        reader.close()
    os.remove(capture)
    atomic_write_text(out_json, json.dumps(out))


def memory_once(spec: WorkerSpec, out_json: str, capture: str) -> int:
    measure_memory_call(Subject(spec), out_json, capture)
    return 0


def save_inputs(path: str, inputs: Any) -> tuple[float | None, str | None]:
    """Pickle a hot path's inputs for later workers: (seconds to load them back, None),
    or (None, why not) when they do not pickle (workers then build their own)."""
    try:
        with paused_gc():
            data = pickle.dumps(inputs, protocol=pickle.HIGHEST_PROTOCOL)
            with open(path, "wb") as fh:
                fh.write(data)
            t0 = time.perf_counter()
            pickle.loads(data)
            return time.perf_counter() - t0, None
    except Exception as exc:  # unpicklable inputs: fall back to make_inputs
        with contextlib.suppress(OSError):
            os.remove(path)
        return None, f"inputs not picklable ({exc})"


@dataclass(frozen=True)
class CheckReport:
    """What a ``--check`` worker hands back (pickled as a dict: this module may run as
    ``__main__``)."""

    check: Any
    """The :class:`harness.equivalence.Check`, or ``None`` after an error."""
    inputs_load_seconds: float | None = None
    warning: str | None = None
    error: str | None = None
    """The implementation or input build that failed (the check did not complete)."""

    @classmethod
    def load(cls, path: str) -> CheckReport:
        with open(path, "rb") as fh, paused_gc():
            return cls(**pickle.load(fh))


def check_once(spec: WorkerSpec, out: str, inputs_path: str | None) -> int:
    from gwbench.errors import HarnessError
    from gwbench.harness import equivalence, registry

    hotpath = registry.get(spec.hotpath)
    report: dict[str, Any] = {"check": None}

    def on_inputs(inputs: Any) -> None:
        if inputs_path is not None and INPUTS_PICKLABLE_TAG in hotpath.tags:
            report["inputs_load_seconds"], report["warning"] = save_inputs(inputs_path, inputs)

    try:
        report["check"] = equivalence.check(
            hotpath, load_workload(spec), on_inputs=on_inputs, invoke=_invoke_named
        )
    except HarnessError as exc:
        report["error"] = str(exc)
    atomic_write_bytes(out, pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


def probe() -> int:
    from gwbench.harness import registry

    registry.all_hotpaths()
    import pyperf  # noqa: F401

    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args, rest = _parser().parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.probe:
        return probe()
    if not (args.hotpath and args.implementation and args.size):
        _parser().error("--hotpath, --impl and --ingresses are required")
    spec = WorkerSpec(
        hotpath=args.hotpath,
        implementation=args.implementation,
        size=args.size,
        seed=args.seed,
        custom_domain_share=args.custom_domain_share,
        workload_pickle=args.workload_pickle,
        from_file=args.from_file,
        inputs_pickle=args.inputs_pickle,
    )
    if args.check is not None:
        return check_once(spec, args.check, args.save_inputs)
    capture = args.memray_file or f"{args.memory}.memray"
    memory = (args.memory, capture) if args.memory is not None else None
    if args.profile_loop is not None:
        return profile_loop(spec, args.profile_loop, memory)
    if memory is not None:
        return memory_once(spec, *memory)
    return time_with_pyperf(spec, rest)


if __name__ == "__main__":
    sys.exit(main())
