"""The hot-path registry: every hot path is declared here once.

A :class:`HotPath` names the real code it models, builds its inputs from a
:class:`~workloads.model.Workload`, lists its implementations (a baseline, one or more
optimized twins, optional ablations), and says how to compare their results. The runner,
the verifier, the profilers and the gate all read this registry and nothing else.

Contract for implementations: ``func(arg, counters) -> result`` where ``arg`` is
``prepare(inputs_for(make_inputs(workload), name))``. An implementation must not change
its input in a way that changes the next call's work; where the modelled code mutates its
input in place, the hot path supplies ``prepare`` (called before every call, never timed)
to hand each call a fresh copy; where implementations need different set-up (each its own
hash strategy's state), ``specialize`` narrows the inputs once per process, untimed.
Counters are bumped in aggregate (once per scan or call, not in the innermost loop) so that
counting does not distort timing.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from gwbench.workloads.counters import Counters
from gwbench.workloads.model import Workload

ImplKind = Literal["baseline", "optimized", "ablation"]

DEFAULT_MAX_SIZE: int | None = None
"""Implementations run at every size unless they say otherwise."""

EXTRA_HOTPATHS_ENV = "GWBENCH_EXTRA_HOTPATHS"
"""Comma-separated modules imported after the built-in hot paths (tests, experiments);
benchmark worker processes inherit it, so they see the same registry."""


@dataclass(frozen=True)
class Implementation:
    """One way of doing the hot path's work."""

    name: str
    kind: ImplKind
    func: Callable[[Any, Counters], Any]
    module: str
    """Dotted module path, e.g. ``baselines.gateway_lookup``; shown in reports."""
    max_size: int | None = DEFAULT_MAX_SIZE
    """The largest N this implementation runs at (``None``: no limit). For an algorithm
    that is O(N^2) as the real code ships, so that a run keeps its time budget; the
    equivalence check and ``verify`` skip it above this size and say so, and results
    record the limit (``ImplementationResult.max_size``)."""

    def runs_at(self, size: int) -> bool:
        return self.max_size is None or size <= self.max_size


@dataclass(frozen=True)
class HotPath:
    """A registered hot path."""

    name: str
    title: str
    models: str
    """The real code modelled: repository, file and function names."""
    make_inputs: Callable[[Workload], Any]
    implementations: tuple[Implementation, ...]
    compare: Callable[[Any, Any], str | None]
    """``compare(expected, actual)`` returns ``None`` when equivalent, else the first
    difference as a short human sentence."""
    counters: tuple[str, ...]
    """Counter names this hot path reports (documentation; the gate reads what is there)."""
    prepare: Callable[[Any], Any] | None = None
    specialize: Callable[[Any, str], Any] | None = None
    """``specialize(inputs, implementation_name)``: narrow the shared inputs to what one
    implementation needs (for example the listener state its own hash strategy built),
    called once per process after ``make_inputs``, never timed. ``None``: every
    implementation takes ``make_inputs``'s result as it is."""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def inputs_for(self, inputs: Any, implementation: str) -> Any:
        """``inputs`` as implementation ``implementation`` takes them (see ``specialize``)."""
        return inputs if self.specialize is None else self.specialize(inputs, implementation)

    def implementations_at(self, size: int) -> tuple[Implementation, ...]:
        """The implementations that run at ``size`` (see ``Implementation.max_size``)."""
        return tuple(i for i in self.implementations if i.runs_at(size))

    @property
    def baseline(self) -> Implementation:
        return next(i for i in self.implementations if i.kind == "baseline")

    def implementation(self, name: str) -> Implementation:
        for impl in self.implementations:
            if impl.name == name:
                return impl
        known = ", ".join(i.name for i in self.implementations)
        raise KeyError(f"hot path {self.name!r} has no implementation {name!r} (has: {known})")


_REGISTRY: dict[str, HotPath] = {}


def register(hotpath: HotPath) -> HotPath:
    if hotpath.name in _REGISTRY:
        raise ValueError(f"hot path {hotpath.name!r} registered twice")
    _REGISTRY[hotpath.name] = hotpath
    return hotpath


def all_hotpaths() -> list[HotPath]:
    """Every registered hot path, in pipeline order."""
    _load_builtin()
    return list(_REGISTRY.values())


def get(name: str) -> HotPath:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise KeyError(f"unknown hot path {name!r}; known: {known}") from None


def select(names: Sequence[str]) -> list[HotPath]:
    """The named hot paths (all when ``names`` is empty), in pipeline order."""
    hotpaths = all_hotpaths()
    if not names:
        return hotpaths
    for n in names:
        get(n)
    return [h for h in hotpaths if h.name in set(names)]


def _load_builtin() -> None:
    # Importing the module registers the built-in hot paths (harness/hotpaths.py).
    from gwbench.harness import hotpaths  # noqa: F401

    for module in os.environ.get(EXTRA_HOTPATHS_ENV, "").split(","):
        if module.strip():
            importlib.import_module(module.strip())
