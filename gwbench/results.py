"""The results schema: what ``gwbench run`` writes to ``results.json``.

Small frozen dataclasses, serialized to JSON with an explicit ``schema_version``
(described field by field in docs/results-schema.md). Readers go through
:func:`load_results`, which migrates older versions listed in :data:`MIGRATIONS` and
refuses unknown ones with a message that names both versions. Writers go through
:func:`write_results`, which replaces the file atomically, so a reader (or a Ctrl-C)
never sees half a file.

Layout: environment, workload, run (mode, status, budget), then per hot path its
implementations, each with one :class:`Point` per size (counters, timing), its profile and
memory at one size, and its scaling fits; per hot path the speedups of each non-baseline
implementation over the baseline at each size; an optional ``envoy`` section.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from gwbench.errors import InputError
from gwbench.stats import spread

SCHEMA_VERSION = 1

Mode = Literal["default", "quick", "rigorous"]
RunState = Literal["complete", "partial"]

TIME_METRIC = "time"
COUNTER_METRIC_PREFIX = "counter:"


@dataclass(frozen=True)
class Environment:
    """The machine and software the results were measured with."""

    cpu_model: str
    cpu_count: int
    """Logical CPUs of the machine."""
    usable_cpus: int
    """CPUs this process may run on (affinity)."""
    memory_total_bytes: int | None
    platform: str
    python_version: str
    python_implementation: str
    protobuf_backend: str
    """``google.protobuf.internal.api_implementation.Type()``: upb, cpp or python."""
    packages: dict[str, str]
    """Installed version of gwbench and each of its dependencies (name -> version)."""
    git_commit: str | None
    """Commit of the gwbench checkout the harness ran from; ``None`` outside git."""
    git_dirty: bool | None
    """Whether that checkout had uncommitted or untracked changes."""
    command_line: tuple[str, ...]


@dataclass(frozen=True)
class WorkloadInfo:
    """Which Ingresses were measured."""

    source: str
    """``generated``, ``file:<path>`` or ``cluster:<context>``."""
    ingresses: int
    """N: the largest size, where equivalence, profiles and memory are measured."""
    sizes: tuple[int, ...]
    """The sweep, ascending; always ends with N."""
    seed: int
    """Generator seed, or the sampling seed for the user's own Ingresses."""
    custom_domain_share: float | None
    """Generated workloads only."""
    domain: str | None
    available_ingresses: int | None
    """How many Ingresses the file or cluster held (``None`` when generated)."""
    sampling: str | None
    """How smaller sizes were drawn from the user's Ingresses."""
    warnings: tuple[str, ...] = ()
    """What validating the user's manifests let through (skipped documents, duplicate
    hosts, TLS without secretName ...)."""


@dataclass(frozen=True)
class RunInfo:
    """How the run went."""

    mode: Mode
    status: RunState
    reason: str | None
    """Why the run is partial (interrupted, failed benchmarks); ``None`` when complete."""
    started_at: str
    """ISO 8601, UTC."""
    finished_at: str | None
    wall_seconds: float
    budget_seconds: float
    profile: bool
    memory: bool
    envoy: bool
    hotpaths: tuple[str, ...]
    peak_rss_bytes: int | None
    """Peak resident memory of the orchestrating process."""
    children_peak_rss_bytes: int | None
    """Largest peak resident memory among finished worker processes."""
    warnings: tuple[str, ...] = ()
    """What the reader should know about how the run went: a time budget it could not
    keep, inputs it could not hand on to later workers."""
    phase_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    """Wall seconds of each pass (``checks``, building the workloads included;
    ``profiles``, py-spy and memray; ``timing``; ``envoy``): where the run's time went."""


@dataclass(frozen=True)
class Timing:
    """pyperf timing of one implementation at one size (seconds per call)."""

    values: tuple[float, ...]
    """Every timed value, warmups excluded, in the order pyperf's runs hold them."""
    n_values: int
    median: float
    mean: float
    stdev: float
    iqr: float
    mad: float
    minimum: float
    maximum: float
    processes: int
    values_per_process: int
    warmups: int
    loops: int
    """Calls per value (a value is the mean over its loops)."""
    reduced: bool
    """True when the time budget cut the mode's processes or values."""
    pyperf_json: str | None
    """pyperf's own JSON, relative to the results directory."""
    wall_seconds: float
    check_value: bool = False
    """The first value is the equivalence check's own call (a call of a second or more:
    warm-ups add nothing to it), not a value of the paired rounds."""

    @classmethod
    def of(
        cls,
        values: Sequence[float],
        *,
        processes: int,
        values_per_process: int,
        warmups: int,
        loops: int,
        reduced: bool,
        pyperf_json: str | None,
        wall_seconds: float,
        check_value: bool = False,
    ) -> Timing:
        """The timing of ``values``, with their median and spread."""
        sp = spread(values)
        return cls(
            values=tuple(values),
            n_values=len(values),
            median=sp.median,
            mean=sp.mean,
            stdev=sp.stdev,
            iqr=sp.iqr,
            mad=sp.mad,
            minimum=sp.minimum,
            maximum=sp.maximum,
            processes=processes,
            values_per_process=values_per_process,
            warmups=warmups,
            loops=loops,
            reduced=reduced,
            pyperf_json=pyperf_json,
            wall_seconds=wall_seconds,
            check_value=check_value,
        )


@dataclass(frozen=True)
class Point:
    """One implementation at one size."""

    size: int
    counters: dict[str, int]
    """Deterministic counters of one (untimed) call."""
    call_seconds: float
    """Duration of that call in the orchestrating process (calibration only)."""
    inputs_seconds: float
    """Time to build this implementation's inputs at this size: ``make_inputs`` plus its
    ``specialize`` (set-up, never part of a timing)."""
    timing: Timing | None
    error: str | None = None
    """Why timing is missing (worker failure); ``None`` otherwise."""


@dataclass(frozen=True)
class Profile:
    """py-spy profile of one implementation (separate pass, never while timing)."""

    size: int
    flamegraph_svg: str | None
    speedscope_json: str | None
    folded_stacks: str | None
    """Artefact paths relative to the results directory."""
    samples: int
    seconds: float
    missing_reason: str | None = None
    source: str | None = None
    """``check``: one whole call, sampled during the equivalence check at N; ``loop``:
    calls repeated for the mode's profile seconds in a worker of its own."""
    calls: int | None = None
    """Whole calls the samples cover, when known (1 for ``check``)."""


@dataclass(frozen=True)
class Memory:
    """memray measurement of one call of one implementation."""

    size: int
    """The N memray ran at (N itself, or the largest sweep size that fit the budget)."""
    peak_memory_bytes: int | None
    total_allocations: int | None
    note: str | None = None
    """Why ``size`` is below N, when it is."""
    missing_reason: str | None = None


@dataclass(frozen=True)
class ScalingFit:
    """``log(metric) = intercept + exponent * log(N)`` over the sweep."""

    metric: str
    """``time`` (median seconds per call) or ``counter:<name>``."""
    exponent: float | None
    intercept: float | None
    r_squared: float | None
    sizes: tuple[int, ...]
    reason: str | None = None


@dataclass(frozen=True)
class ImplementationResult:
    name: str
    kind: str
    """``baseline``, ``optimized`` or ``ablation``."""
    module: str
    points: tuple[Point, ...]
    profile: Profile | None = None
    memory: Memory | None = None
    scaling: tuple[ScalingFit, ...] = ()

    def point(self, size: int) -> Point | None:
        return next((p for p in self.points if p.size == size), None)

    def fit(self, metric: str = TIME_METRIC) -> ScalingFit | None:
        return next((f for f in self.scaling if f.metric == metric), None)


@dataclass(frozen=True)
class Speedup:
    """Baseline median time over this implementation's median time at one size."""

    implementation: str
    baseline: str
    size: int
    ratio: float
    ci_low: float
    ci_high: float
    confidence: float
    resamples: int
    seed: int
    verdict: str | None = None
    """``faster``, ``no change``, ``slower`` or ``inconclusive`` (:mod:`gwbench.verdicts`),
    against ``thresholds``; ``None`` in results written before verdicts."""
    log_ratios: tuple[float, ...] = ()
    """Paired timing: ``ln(t_implementation / t_baseline)`` of each round (a fresh worker
    process timing both, interleaved); the ratio is ``exp(-median)`` and the interval a
    bootstrap over rounds. Empty in results written before paired timing."""
    thresholds: tuple[float, float] | None = None
    """The verdict's thresholds: the relative "no change" band and the regression
    threshold (``time_warn``, ``time_fail`` of ci/thresholds.toml)."""


@dataclass(frozen=True)
class HotPathResult:
    name: str
    title: str
    models: str
    counters: tuple[str, ...]
    equivalence_sizes: tuple[int, ...]
    """Sizes at which every implementation's result matched the baseline's."""
    implementations: tuple[ImplementationResult, ...]
    speedups: tuple[Speedup, ...] = ()

    def implementation(self, name: str) -> ImplementationResult | None:
        return next((i for i in self.implementations if i.name == name), None)

    @property
    def baseline(self) -> ImplementationResult | None:
        return next((i for i in self.implementations if i.kind == "baseline"), None)

    def speedup(self, implementation: str, size: int) -> Speedup | None:
        return next(
            (s for s in self.speedups if s.implementation == implementation and s.size == size),
            None,
        )


@dataclass(frozen=True)
class Results:
    """Everything one ``gwbench run`` measured."""

    schema_version: int
    gwbench_version: str
    environment: Environment
    workload: WorkloadInfo
    run: RunInfo
    hotpaths: tuple[HotPathResult, ...]
    envoy: tuple[dict[str, Any], ...] | None = None
    """Real-Envoy measurements (``--envoy``), records defined by harness/envoy."""

    def hotpath(self, name: str) -> HotPathResult | None:
        return next((h for h in self.hotpaths if h.name == name), None)


# --------------------------------------------------------------------------- JSON


def to_json_dict(results: Results) -> dict[str, Any]:
    """Plain JSON-ready data (tuples become lists)."""
    data = _plain(results)
    assert isinstance(data, dict)
    return data


def dumps(results: Results) -> str:
    return json.dumps(to_json_dict(results), indent=1, allow_nan=False) + "\n"


def write_results(results: Results, path: str | os.PathLike[str]) -> Path:
    """Write ``results`` to ``path`` atomically (temporary file in the same directory,
    then ``os.replace``)."""
    return atomic_write_text(Path(path), dumps(results))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""Old version -> function turning its data into the next version's data."""


def loads(text: str, *, source: str = "results") -> Results:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a JSON document: {exc}", file=source) from None
    return from_json_dict(data, source=source)


def load_results(path: str | os.PathLike[str]) -> Results:
    """Read a results file; migrate an old schema version or refuse an unknown one."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read results: {exc.strerror or exc}", file=str(p)) from None
    return loads(text, source=str(p))


def from_json_dict(data: object, *, source: str = "results") -> Results:
    if not isinstance(data, dict) or "schema_version" not in data:
        raise InputError("not a gwbench results file (no schema_version)", file=source)
    version = data["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise InputError(f"schema_version {version!r} is not an integer", file=source)
    while version != SCHEMA_VERSION and version in MIGRATIONS:
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    if version != SCHEMA_VERSION:
        newer = " (written by a newer gwbench)" if version > SCHEMA_VERSION else ""
        raise InputError(
            f"results schema version {version}{newer} is not supported: this gwbench "
            f"reads schema version {SCHEMA_VERSION}",
            file=source,
        )
    try:
        return _build(Results, data, "")
    except _SchemaError as exc:
        raise InputError(exc.message, file=source, field=exc.field or None) from None


class _SchemaError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


_T = TypeVar("_T")
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _build(cls: type[_T], data: object, where: str) -> _T:
    if not isinstance(data, dict):
        raise _SchemaError(where, f"expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        path = f"{where}.{f.name}" if where else f.name
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise _SchemaError(path, "missing")
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name], path)
    return cls(**kwargs)


def _convert(tp: Any, value: object, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors: list[str] = []
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _convert(arm, value, where)
            except _SchemaError as exc:
                errors.append(exc.message)
        raise _SchemaError(where, "; ".join(errors) or "unexpected null")
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise _SchemaError(where, f"{value!r} is not one of {allowed}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise _SchemaError(where, f"expected a list, got {type(value).__name__}")
        item = args[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise _SchemaError(where, f"expected an object, got {type(value).__name__}")
        _, vt = args
        return {str(k): _convert(vt, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise _SchemaError(where, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _SchemaError(where, f"expected an integer, got {value!r}")
        return value
    if tp is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _SchemaError(where, f"expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _SchemaError(where, f"expected a string, got {value!r}")
        return value
    raise TypeError(f"results schema: unsupported type {tp!r} at {where}")
