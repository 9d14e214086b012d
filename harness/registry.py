"""The hot-path registry: every hot path is declared here once.

A :class:`HotPath` names the real code it models, builds its inputs from a
:class:`~workloads.model.Workload`, lists its implementations (a baseline, one or more
optimized twins, optional ablations), and says how to compare their results. The runner,
the verifier, the profilers and the gate all read this registry and nothing else.

Contract for implementations: ``func(inputs, counters) -> result``. An implementation must
not change ``inputs`` in a way that changes the next call's work; where the modelled code
mutates its input in place, the hot path supplies ``prepare`` (called before every call,
never timed) to hand each call a fresh copy. Counters are bumped in aggregate (once per
scan or call, not in the innermost loop) so that counting does not distort timing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from workloads.counters import Counters
from workloads.model import Workload

ImplKind = Literal["baseline", "optimized", "ablation"]


@dataclass(frozen=True)
class Implementation:
    """One way of doing the hot path's work."""

    name: str
    kind: ImplKind
    func: Callable[[Any, Counters], Any]
    module: str
    """Dotted module path, e.g. ``baselines.gateway_lookup``; shown in reports."""


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
    tags: tuple[str, ...] = field(default_factory=tuple)

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
    from harness import hotpaths  # noqa: F401
