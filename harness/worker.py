"""Worker processes of ``gwbench run``: a thin adapter that finds a hot path in the
registry, loads its Ingresses or inputs, and hands them to the measurement kernel
(:mod:`harness.kernel`), the same kernel the gate's side driver times with.

Protocol (``python -m gwbench.harness.worker SPEC MODE``)::

    SPEC   --hotpath H --impl I --ingresses N
           and one workload source:
             --workload FILE.pickle          a pickled Workload of N Ingresses
                                              (what ``gwbench run`` passes)
             [--seed S] [--custom-domain-share F]   generate N Ingresses (default)
             --from-file F [--seed S]        a seeded subset of N of F's Ingresses
           [--inputs FILE.pickle]            the hot path's inputs, pickled by
                                              ``gwbench run`` (hot paths tagged
                                              ``inputs-picklable``): no make_inputs
    MODE   --serve REQUEST.json
                               paired timing (no SPEC): the request's ``plan`` lists
                               entries (hot path, implementation, size, loops, warmups)
                               and ``workloads``/``inputs`` the pickles of each size;
                               the kernel's :class:`~harness.kernel.Server` then answers
                               ``setup I`` / ``value I`` / ``quit`` lines on stdin and
                               stdout, so the orchestrator interleaves implementations
                               value by value.
           --memory OUT.json --memray-file CAPTURE
                               one call under memray.Tracker; writes peak memory and
                               allocation count to OUT.json.
           --check OUT.pickle [--save-inputs FILE.pickle] [--profile-after S]
                  [--memory-dir DIR --memory-seconds M]
                               the equivalence check of the hot path (every implementation
                               once, :func:`harness.equivalence.check`) on the workload;
                               writes the pickled :class:`CheckReport` to OUT.pickle.
                               With --save-inputs, a hot path tagged ``inputs-picklable``
                               has its inputs pickled there for later workers. After the
                               calls, with the inputs still built (:class:`CheckExtras`):
                               --profile-after calls each implementation whose check call
                               was shorter than S again until S seconds (``gwbench run``
                               samples the whole worker with py-spy at N); --memory-dir
                               measures one call under memray of each implementation whose
                               call, slowed by memray, fits M seconds, into
                               DIR/memory-<implementation>.json.
           --probe             import the registry and exit (measures startup time).

Inputs are built once per process and never timed; timing passes ``NullCounters``
(counters are recorded by the check).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gwbench.files import atomic_write_bytes, atomic_write_text
from gwbench.harness import kernel
from gwbench.heap import paused_gc
from gwbench.workloads.counters import NullCounters

if TYPE_CHECKING:
    from gwbench.workloads.model import Workload

# Everything heavy (the registry, the hot paths, the kubernetes models) is imported
# lazily: a worker that loads pickled inputs may never need the models.

MODULE = "gwbench.harness.worker"
INPUTS_PICKLABLE_TAG = "inputs-picklable"
"""A hot path tagged so declares that its inputs survive pickling unchanged (no identity
relations between protobuf messages and their sub-messages): ``gwbench run`` then pickles
the inputs it built for the equivalence check and workers load them instead of running
``make_inputs`` again in every process."""
PROFILE_CALL_FRAME = kernel.PROFILE_CALL_FRAME
PROFILE_PREPARE_FRAME = kernel.PROFILE_PREPARE_FRAME


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gwbench.harness.worker", allow_abbrev=False)
    p.add_argument("--hotpath", required=False)
    p.add_argument("--impl", dest="implementation")
    p.add_argument("--ingresses", type=int, dest="size")
    p.add_argument("--seed", type=int)
    p.add_argument("--custom-domain-share", type=float)
    p.add_argument("--workload", dest="workload_pickle")
    p.add_argument("--from-file")
    p.add_argument("--inputs", dest="inputs_pickle")
    p.add_argument("--serve", metavar="REQUEST_JSON")
    p.add_argument("--memory", metavar="OUT_JSON")
    p.add_argument("--memray-file", metavar="CAPTURE")
    p.add_argument("--check", metavar="OUT_PICKLE")
    p.add_argument("--save-inputs", metavar="FILE_PICKLE")
    p.add_argument("--profile-after", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--memory-dir", metavar="DIR")
    p.add_argument("--memory-seconds", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--probe", action="store_true")
    return p


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


def load_pickle(path: str) -> Any:
    with open(path, "rb") as fh, paused_gc():
        return pickle.load(fh)


def build_inputs(spec: WorkerSpec, hotpath: Any) -> Any:
    """``spec``'s shared inputs: the pickled inputs, else ``make_inputs`` of the workload."""
    if spec.inputs_pickle is not None:
        return load_pickle(spec.inputs_pickle)
    return hotpath.make_inputs(load_workload(spec))


def subject(spec: WorkerSpec) -> kernel.Subject:
    from gwbench.harness import registry

    hotpath = registry.get(spec.hotpath)
    impl = hotpath.implementation(spec.implementation)
    return kernel.subject(hotpath, impl, build_inputs(spec, hotpath), NullCounters())


def write_memory(subj: kernel.Subject, out_json: str, capture: str) -> None:
    atomic_write_text(out_json, json.dumps(kernel.memory_call(subj, capture)))


@dataclass(frozen=True)
class ServeRequest:
    """What ``--serve`` reads: the timing plan and where each size's Ingresses (and each
    hot path's pickled inputs) are."""

    plan: list[dict[str, Any]]
    workloads: dict[int, str]
    inputs: dict[str, str]
    """``"<hot path>/<size>"`` -> pickled inputs."""

    @classmethod
    def load(cls, path: str) -> ServeRequest:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return cls(
            plan=list(data["plan"]),
            workloads={int(k): str(v) for k, v in data["workloads"].items()},
            inputs={str(k): str(v) for k, v in data.get("inputs", {}).items()},
        )

    def dump(self, path: str) -> None:
        data = {"plan": self.plan, "workloads": self.workloads, "inputs": self.inputs}
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh)


def server(request: ServeRequest) -> kernel.Server:
    """The kernel's timing server over ``request``'s plan: inputs from the pickled inputs
    of a hot path and size when there are some, else ``make_inputs`` of the workload."""
    from gwbench.harness import registry

    def inputs(hotpath: Any, size: int) -> Any:
        pickled = request.inputs.get(f"{hotpath.name}/{size}")
        if pickled is not None:
            return load_pickle(pickled)
        workload = load_pickle(request.workloads[size])
        return hotpath.make_inputs(workload)

    subjects = kernel.Subjects(inputs, NullCounters())
    return kernel.Server(
        kernel.timing_entries(request.plan, subjects, registry.get), keep_going=True
    )


def serve(request: ServeRequest) -> int:
    """Paired timing: answer the orchestrator's lines through :func:`server`. The answers
    go to the original stdout; whatever the code under test prints, to stderr."""
    timing_server = server(request)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    timing_server.serve(sys.stdin, answers)
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


@dataclass(frozen=True)
class CheckExtras:
    """What a check worker does with each implementation after its check call, with the
    inputs built once for all of it (:data:`harness.kernel.FollowUp`)."""

    profile_seconds: float = 0.0
    """Calls of an implementation (check call included) go on until this long."""
    memory_dir: str | None = None
    memory_seconds: float = 0.0
    """An implementation is measured under memray when its call, times
    :data:`harness.kernel.MEMRAY_SLOWDOWN`, fits this."""

    def argv(self) -> list[str]:
        args = ["--profile-after", repr(self.profile_seconds)] if self.profile_seconds else []
        if self.memory_dir is not None:
            args += ["--memory-dir", self.memory_dir, "--memory-seconds", repr(self.memory_seconds)]
        return args

    @staticmethod
    def memory_files(memory_dir: str, implementation: str) -> tuple[str, str]:
        """The JSON result and the memray capture of ``implementation``'s call."""
        stem = os.path.join(memory_dir, f"memory-{implementation}")
        return f"{stem}.json", f"{stem}.memray"

    def follow_up(self, subj: kernel.Subject, call_seconds: float, markers: kernel.Markers) -> None:
        if call_seconds < self.profile_seconds:
            kernel.profile_loop(subj, self.profile_seconds - call_seconds, markers=markers)
        fits = kernel.MEMRAY_SLOWDOWN * call_seconds <= self.memory_seconds
        if self.memory_dir is not None and fits:
            out, capture = self.memory_files(self.memory_dir, subj.impl.name)
            try:
                write_memory(subj, out, capture)
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:  # the check stands; the memory result says why not
                atomic_write_text(out, json.dumps({"error": f"{type(exc).__name__}: {exc}"}))


def check_once(
    spec: WorkerSpec, out: str, inputs_path: str | None, extras: CheckExtras | None = None
) -> int:
    from gwbench.errors import HarnessError
    from gwbench.harness import equivalence, registry

    hotpath = registry.get(spec.hotpath)
    report: dict[str, Any] = {"check": None}

    def on_inputs(inputs: Any) -> None:
        if inputs_path is not None and INPUTS_PICKLABLE_TAG in hotpath.tags:
            report["inputs_load_seconds"], report["warning"] = save_inputs(inputs_path, inputs)

    try:
        follow_up = extras.follow_up if extras is not None else None
        report["check"] = equivalence.check(
            hotpath, load_workload(spec), on_inputs=on_inputs, follow_up=follow_up
        )
    except HarnessError as exc:
        report["error"] = str(exc)
    atomic_write_bytes(out, pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


def probe() -> int:
    from gwbench.harness import registry

    registry.all_hotpaths()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.probe:
        return probe()
    if args.serve is not None:
        return serve(ServeRequest.load(args.serve))
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
        extras = CheckExtras(args.profile_after, args.memory_dir, args.memory_seconds)
        # without extras the check frees each implementation's inputs after its call
        wanted = extras if extras.argv() else None
        return check_once(spec, args.check, args.save_inputs, wanted)
    if args.memory is not None:
        write_memory(subject(spec), args.memory, args.memray_file or f"{args.memory}.memray")
        return 0
    _parser().error("one of --serve, --check, --memory or --probe is required")
    return 2


if __name__ == "__main__":
    sys.exit(main())
