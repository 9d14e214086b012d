"""What a side answers, as small frozen records (parsed from the side driver's JSON).

:mod:`harness.gate.driver` runs in the side's process and speaks plain JSON; this module
turns its answers into typed records for the checks, and refuses a malformed answer as a
harness failure (exit 3), never as a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from gwbench.errors import HarnessError


class PointKey(NamedTuple):
    """One hot path, implementation and N."""

    hotpath: str
    implementation: str
    size: int

    def label(self) -> str:
        return f"{self.hotpath}/{self.implementation} N={self.size}"


@dataclass(frozen=True)
class ImplementationInfo:
    name: str
    kind: str
    module: str


@dataclass(frozen=True)
class HotPathInfo:
    name: str
    title: str
    models: str
    counters: tuple[str, ...]
    implementations: tuple[ImplementationInfo, ...]

    def implementation(self, name: str) -> ImplementationInfo | None:
        return next((i for i in self.implementations if i.name == name), None)


@dataclass(frozen=True)
class SideDescription:
    """The hot paths one side registers."""

    harness_file: str
    hotpaths: tuple[HotPathInfo, ...]

    def hotpath(self, name: str) -> HotPathInfo | None:
        return next((h for h in self.hotpaths if h.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hotpaths)


@dataclass(frozen=True)
class CheckPoint:
    """One implementation called once at one size, on one side."""

    key: PointKey
    kind: str
    counters: Mapping[str, int]
    seconds: float
    difference: str | None
    """The side's own ``compare`` against its baseline; ``None`` when equal."""


@dataclass(frozen=True)
class SideCheck:
    """Equivalence and counters of one side over the sweep."""

    points: tuple[CheckPoint, ...]
    workload_digests: Mapping[int, str]
    """N -> SHA-256 of the generated Ingresses and Secrets."""

    def point(self, key: PointKey) -> CheckPoint | None:
        return next((p for p in self.points if p.key == key), None)


@dataclass(frozen=True)
class TimeSample:
    """One side's timed values of one implementation in one process (seconds per call)."""

    key: PointKey
    loops: int
    values: tuple[float, ...]
    cpu_values: tuple[float, ...]


class _Malformed(Exception):
    pass


def _get(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in data:
        raise _Malformed(f"missing {name!r}")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Malformed(f"{name!r} has the wrong type ({type(value).__name__})")
    return value


def _parse(what: str, parse: Any, data: Any) -> Any:
    try:
        if not isinstance(data, dict):
            raise _Malformed("not an object")
        return parse(data)
    except _Malformed as exc:
        raise HarnessError(f"malformed {what} answer from a side: {exc}") from None


def parse_description(result: Any, harness_file: str) -> SideDescription:
    def parse(data: dict[str, Any]) -> SideDescription:
        hotpaths = []
        for hp in _get(data, "hotpaths", list):
            impls = tuple(
                ImplementationInfo(
                    str(_get(i, "name", str)), str(_get(i, "kind", str)), str(i.get("module", ""))
                )
                for i in _get(hp, "implementations", list)
            )
            hotpaths.append(
                HotPathInfo(
                    name=_get(hp, "name", str),
                    title=str(hp.get("title", "")),
                    models=str(hp.get("models", "")),
                    counters=tuple(str(c) for c in hp.get("counters", [])),
                    implementations=impls,
                )
            )
        return SideDescription(harness_file, tuple(hotpaths))

    return _parse("describe", parse, result)  # type: ignore[no-any-return]


def parse_check(result: Any) -> SideCheck:
    def parse(data: dict[str, Any]) -> SideCheck:
        points = []
        for p in _get(data, "points", list):
            key = PointKey(
                _get(p, "hotpath", str), _get(p, "implementation", str), _get(p, "size", int)
            )
            counters = _get(p, "counters", dict)
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in counters.values()):
                raise _Malformed(f"{key.label()}: counters must be integers")
            difference = p.get("difference")
            points.append(
                CheckPoint(
                    key=key,
                    kind=_get(p, "kind", str),
                    counters={str(k): int(v) for k, v in counters.items()},
                    seconds=float(_get(p, "seconds", (int, float))),
                    difference=None if difference is None else str(difference),
                )
            )
        digests = {
            int(_get(w, "size", int)): str(_get(w, "digest", str))
            for w in _get(data, "workloads", list)
        }
        return SideCheck(tuple(points), digests)

    return _parse("check", parse, result)  # type: ignore[no-any-return]
