"""Deterministic operation counters shared by every hot-path implementation.

Each implementation receives a :class:`Counters` and bumps named counts as it does the
operations the real code does (name comparisons, hash computations, bytes rendered, Any
decodes ...). Counts never depend on timing, so they are exact, repeatable evidence of
why one implementation is faster than another, and the first thing the regression gate
checks.
"""

from __future__ import annotations

from collections.abc import Mapping


class Counters:
    """A small named-count accumulator (a typed, explicit ``collections.Counter``)."""

    __slots__ = ("_counts",)

    def __init__(self, initial: Mapping[str, int] | None = None) -> None:
        self._counts: dict[str, int] = dict(initial or {})

    def add(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the count called ``name`` (created at zero)."""
        self._counts[name] = self._counts.get(name, 0) + n

    def get(self, name: str) -> int:
        return self._counts.get(name, 0)

    def as_dict(self) -> dict[str, int]:
        """A sorted copy, ready for JSON."""
        return dict(sorted(self._counts.items()))

    def merge(self, other: Counters, prefix: str = "") -> None:
        """Add every count of ``other`` into this one, optionally under ``prefix``."""
        for name, n in other._counts.items():
            self.add(prefix + name, n)

    def scoped(self, prefix: str) -> Counters:
        """A view that adds into this one, each name under ``prefix`` (pipeline stages)."""
        return _Scoped(self, prefix)

    def __repr__(self) -> str:
        return f"Counters({self.as_dict()!r})"


class _Scoped(Counters):
    __slots__ = ("_parent", "_prefix")

    def __init__(self, parent: Counters, prefix: str) -> None:
        super().__init__()
        self._parent = parent
        self._prefix = prefix

    def add(self, name: str, n: int = 1) -> None:
        self._parent.add(self._prefix + name, n)

    def get(self, name: str) -> int:
        return self._parent.get(self._prefix + name)

    def as_dict(self) -> dict[str, int]:
        p = self._prefix
        return {k[len(p) :]: v for k, v in self._parent.as_dict().items() if k.startswith(p)}


class NullCounters(Counters):
    """Counters that count nothing; for callers that do not want the numbers."""

    __slots__ = ()

    def add(self, name: str, n: int = 1) -> None:
        return None

    def scoped(self, prefix: str) -> Counters:
        return self
