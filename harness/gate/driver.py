"""The gate's side driver: the few things the gate asks of one side's code, in a fresh
process whose ``import harness`` is that side's worktree.

The gate copies this file into its temporary directory and runs it as a script
(``python side_driver.py REQUEST.json RESPONSE.json``) with ``cwd`` and ``PYTHONPATH`` set
to the side's worktree, so the measuring loop is the same on both sides and only the code
under test (the side's ``harness`` registry, hot paths, ``baselines``, ``optimized`` and
``workloads``) differs. It therefore imports nothing but the standard library at module
level and must not import ``harness.gate`` (an older base has none). It measures through
the one measurement kernel (:mod:`harness.kernel`), which the gate copies beside it as
:data:`KERNEL_FILE`: the same file ``gwbench run`` times with, so both commands take their
figures under the same conditions (inputs built once, set-up heap frozen, ``prepare``
outside the timing).

The side protocol (version :data:`PROTOCOL`), what a side must provide:

- ``harness.registry.all_hotpaths()`` returning hot paths with ``name``, ``title``,
  ``models``, ``counters``, ``make_inputs(workload)``, ``implementations`` (each with
  ``name``, ``kind``, ``func(inputs, counters)``, ``module``), ``compare(expected,
  actual)``, an optional ``prepare(inputs)`` and an optional ``inputs_for(inputs, name)``
  or ``specialize(inputs, name)``;
- ``workloads.generate.generate(WorkloadSpec(...))`` and ``workloads.model.WorkloadSpec``;
- ``workloads.counters.Counters`` and ``NullCounters``.

Actions (the request's ``action``):

``describe``  the registered hot paths and their implementations.
``check``     at each size: generate the seeded workload, build each selected hot path's
              inputs, call every implementation once with fresh counters (on
              ``prepare(inputs_for(inputs, name))``, as the registry's contract says), and
              compare each result with the baseline's (the side's own ``compare``):
              counters, duration, first difference.
``serve``     timing, driven line by line over stdin and stdout (:func:`server`): the
              gate keeps one process of each side alive per round and asks them for
              values in turn, so both sides are timed in the same moments.
``profile``   call one implementation repeatedly for some seconds, under py-spy (the
              differential flame graph of a regressed row).

Isolation: an editable install of gwbench (setuptools' ``__editable__`` finder) would serve
any module the worktree lacks from the installed checkout; the driver removes such finders
before importing, and refuses to answer when a module of the side's packages was loaded
from outside the worktree.

The response is JSON: ``{"protocol": 1, "ok": true, "result": ...}`` or ``{"ok": false,
"error": ..., "traceback": ...}``; the exit status is 0 or 1 accordingly.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:
    # imported by the gate (``gwbench.harness.gate.driver``)
    from gwbench.harness import kernel
else:
    # run as the gate's copy: the same kernel file was copied beside it
    import importlib

    kernel = importlib.import_module("gwbench_kernel")

KERNEL_FILE = "gwbench_kernel.py"
"""The name of the kernel's copy next to the driver's copy (not a side package: the
side's own modules cannot shadow it, and isolation does not refuse it)."""
PROTOCOL = 1
SIDE_PACKAGES = ("gwbench", "harness", "workloads", "baselines", "optimized")
"""Top-level packages whose modules must come from the side's worktree."""
PREFIX = ""
"""``"gwbench."`` when the side installs under the one import package ``gwbench`` (a
``gwbench/__init__.py`` in its worktree), ``""`` for sides whose packages were top-level."""


class ProtocolError(Exception):
    """The side's code does not provide what the side protocol needs."""


# --------------------------------------------------------------------------- isolation


def _under(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(path), root]) == root
    except ValueError:
        return False


def isolate(root: str) -> None:
    """Put ``root`` first on ``sys.path`` and drop editable-install finders of gwbench."""
    global PREFIX
    root = os.path.realpath(root)
    PREFIX = "gwbench." if os.path.isfile(os.path.join(root, "gwbench", "__init__.py")) else ""
    sys.path[:] = [root, *(p for p in sys.path if p and os.path.realpath(p) != root)]
    sys.meta_path[:] = [f for f in sys.meta_path if not _is_editable_finder(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not _is_editable_finder(h)]
    sys.path_importer_cache.clear()


def _is_editable_finder(obj: object) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return module.startswith("__editable__")


def foreign_modules(root: str) -> list[str]:
    """Modules of the side's packages loaded from outside ``root`` (``name: path``)."""
    root = os.path.realpath(root)
    out = []
    for name, module in sorted(sys.modules.items()):
        if name.split(".", 1)[0] not in SIDE_PACKAGES or module is None:
            continue
        where = getattr(module, "__file__", None)
        if where is None:
            paths = list(getattr(module, "__path__", []) or [])
            where = paths[0] if paths else None
        if where is None or not _under(where, root):
            out.append(f"{name}: {where}")
    return out


# --------------------------------------------------------------------------- side code


def _need(obj: object, name: str, what: str) -> Any:
    if not hasattr(obj, name):
        raise ProtocolError(
            f"{what} has no {name!r}: this side's gwbench predates the gate's side "
            f"protocol {PROTOCOL}"
        )
    return getattr(obj, name)


def _import(name: str) -> Any:
    import importlib

    name = PREFIX + name
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            raise ProtocolError(
                f"module {name} is missing: this side's gwbench predates the gate's side "
                f"protocol {PROTOCOL}"
            ) from exc
        raise


def hotpaths() -> list[Any]:
    registry = _import("harness.registry")
    found = list(_need(registry, "all_hotpaths", "harness.registry")())
    for hp in found:
        for attr in ("name", "make_inputs", "implementations", "compare"):
            _need(hp, attr, f"hot path {getattr(hp, 'name', hp)!r}")
    return found


def selected(names: Iterable[str]) -> list[Any]:
    wanted = set(names)
    return [hp for hp in hotpaths() if hp.name in wanted]


def baseline_of(hp: Any) -> Any:
    try:
        return kernel.baseline_of(hp)
    except LookupError:
        raise ProtocolError(f"hot path {hp.name!r} has no baseline implementation") from None


def counters_classes() -> tuple[Callable[[], Any], Callable[[], Any]]:
    mod = _import("workloads.counters")
    return _need(mod, "Counters", "workloads.counters"), _need(
        mod, "NullCounters", "workloads.counters"
    )


def workload(size: int, seed: int, share: float | None) -> Any:
    model = _import("workloads.model")
    gen = _import("workloads.generate")
    spec_cls = _need(model, "WorkloadSpec", "workloads.model")
    generate = _need(gen, "generate", "workloads.generate")
    kwargs: dict[str, Any] = {"ingresses": size, "seed": seed}
    if share is not None:
        kwargs["custom_domain_share"] = share
    return generate(spec_cls(**kwargs))


def workload_digest(wl: Any) -> str:
    """SHA-256 of the Ingresses and Secrets as JSON: equal digests, same workload."""
    h = hashlib.sha256()
    for group in (getattr(wl, "ingresses", []), getattr(wl, "secrets", [])):
        for obj in group:
            data = obj.to_dict() if hasattr(obj, "to_dict") else repr(obj)
            h.update(json.dumps(data, sort_keys=True, default=str).encode("utf-8"))
            h.update(b"\n")
        h.update(b"\x00")
    return h.hexdigest()


# --------------------------------------------------------------------------- actions


def describe(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "hotpaths": [
            {
                "name": hp.name,
                "title": str(getattr(hp, "title", hp.name)),
                "models": str(getattr(hp, "models", "")),
                "counters": [str(c) for c in getattr(hp, "counters", ())],
                "implementations": [
                    {"name": i.name, "kind": i.kind, "module": str(getattr(i, "module", ""))}
                    for i in hp.implementations
                ],
            }
            for hp in hotpaths()
        ]
    }


def check(request: dict[str, Any]) -> dict[str, Any]:
    counters_cls, _ = counters_classes()
    chosen = selected(request["hotpaths"])
    points: list[dict[str, Any]] = []
    workloads: list[dict[str, Any]] = []
    inputs_seconds: list[dict[str, Any]] = []
    for size in request["sizes"]:
        wl = workload(size, request["seed"], request.get("custom_domain_share"))
        workloads.append({"size": size, "digest": workload_digest(wl)})
        for hp in chosen:
            baseline_of(hp)
            t0 = time.perf_counter()
            inputs = hp.make_inputs(wl)
            inputs_seconds.append(
                {"hotpath": hp.name, "size": size, "seconds": time.perf_counter() - t0}
            )
            try:
                outcomes = kernel.check(hp, inputs, counters_cls)
            except kernel.CallFailed as failed:
                raise failed.cause from None
            for o in outcomes:
                points.append(
                    {
                        "hotpath": hp.name,
                        "implementation": o.implementation,
                        "kind": o.kind,
                        "size": size,
                        "counters": o.counters,
                        "seconds": o.seconds,
                        "difference": o.difference,
                    }
                )
            del inputs
        del wl
        gc.collect()
    return {"points": points, "workloads": workloads, "inputs_seconds": inputs_seconds}


class Workloads:
    """The seeded workload of one size at a time (sizes come in order)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self._current: tuple[int, Any] | None = None

    def inputs(self, hp: Any, size: int) -> Any:
        if self._current is None or self._current[0] != size:
            self._current = None
            gc.collect()
            share = self.request.get("custom_domain_share")
            self._current = (size, workload(size, self.request["seed"], share))
        return hp.make_inputs(self._current[1])


def server(request: dict[str, Any]) -> Any:
    """The ``serve`` action's :class:`harness.kernel.Server` over ``request["plan"]``,
    entries ``{"hotpath", "implementation", "size", "loops", "warmups"}``: the gate keeps
    one process of each side alive per round and asks them for values in turn, so both
    sides are timed in the same moments, through the same kernel."""
    plan: list[dict[str, Any]] = request["plan"]
    _, null_cls = counters_classes()
    by_name = {hp.name: hp for hp in selected({p["hotpath"] for p in plan})}

    def hotpath(name: str) -> Any:
        hp = by_name.get(name)
        if hp is None:
            raise ProtocolError(f"hot path {name!r} is not registered on this side")
        return hp

    for p in plan:
        hp = hotpath(p["hotpath"])
        if not any(i.name == p["implementation"] for i in hp.implementations):
            raise ProtocolError(
                f"hot path {hp.name!r} has no implementation {p['implementation']!r}"
            )
    subjects = kernel.Subjects(Workloads(request).inputs, null_cls())
    return kernel.Server(kernel.timing_entries(plan, subjects, hotpath))


def serve(request: dict[str, Any], commands: IO[str], answers: IO[str]) -> dict[str, Any]:
    try:
        served = server(request).serve(commands, answers)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None
    return {"values": served}


PROFILE_CALL_FRAME = kernel.PROFILE_CALL_FRAME
PROFILE_PREPARE_FRAME = kernel.PROFILE_PREPARE_FRAME


def profile(request: dict[str, Any]) -> dict[str, Any]:
    """Call one implementation for ``seconds`` (at least once), for py-spy to sample."""
    _, null_cls = counters_classes()
    hp = next(iter(selected([request["hotpath"]])), None)
    if hp is None:
        raise ProtocolError(f"hot path {request['hotpath']!r} is not registered on this side")
    impl = next((i for i in hp.implementations if i.name == request["implementation"]), None)
    if impl is None:
        raise ProtocolError(f"{hp.name!r} has no implementation {request['implementation']!r}")
    wl = workload(request["size"], request["seed"], request.get("custom_domain_share"))
    inputs = hp.make_inputs(wl)
    del wl
    subj = kernel.subject(hp, impl, inputs, null_cls())
    del inputs
    t0 = time.perf_counter()
    calls = kernel.profile_loop(subj, float(request["seconds"]))
    return {"calls": calls, "seconds": time.perf_counter() - t0}


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "describe": describe,
    "check": check,
    "profile": profile,
}


def handle(
    request: dict[str, Any], channel: tuple[IO[str], IO[str]] | None = None
) -> dict[str, Any]:
    """Run one request against the side whose worktree is ``request['root']``."""
    if request.get("protocol") != PROTOCOL:
        raise ProtocolError(f"request protocol {request.get('protocol')!r}, driver {PROTOCOL}")
    root = os.path.realpath(request["root"])
    isolate(root)
    name = request.get("action", "")
    if name == "serve" and channel is not None:
        result = serve(request, channel[0], channel[1])
    elif name in ACTIONS:
        result = ACTIONS[name](request)
    else:
        raise ProtocolError(f"unknown action {name!r}")
    foreign = foreign_modules(root)
    if foreign:
        raise ProtocolError(
            "modules of the side were loaded from outside its worktree "
            f"{root}: " + "; ".join(foreign[:5])
        )
    harness_mod = sys.modules.get(PREFIX + "harness")
    return {
        "protocol": PROTOCOL,
        "ok": True,
        "harness_file": getattr(harness_mod, "__file__", None),
        "kernel_file": kernel.__file__,
        "python": platform.python_version(),
        "result": result,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: side_driver.py REQUEST.json RESPONSE.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        request = json.load(fh)
    channel = None
    if request.get("action") == "serve":
        # the answers go to the original stdout; anything the side prints goes to stderr
        answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        channel = (sys.stdin, answers)
    try:
        response = handle(request, channel)
        status = 0
    except BaseException as exc:  # everything the side does wrong is reported, then exit 1
        if isinstance(exc, KeyboardInterrupt):
            raise
        response = {
            "protocol": PROTOCOL,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "where": _where(exc),
            "traceback": traceback.format_exc(),
        }
        status = 1
        if channel is not None:
            with contextlib.suppress(OSError):
                channel[1].write("error\n")
                channel[1].flush()
    tmp = argv[2] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(response, fh)
    os.replace(tmp, argv[2])
    return status


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f"{last.filename}:{last.lineno} in {last.name}"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
