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

import dataclasses
import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import TypeAdapter

from gwbench.errors import InputError
from gwbench.files import atomic_write_text
from gwbench.stats import spread
from gwbench.validation import input_error

SCHEMA_VERSION = 2

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
class Shard:
    """One part of a plan split over several runs (``gwbench run --shard I/K``)."""

    index: int
    """I, from 1."""
    count: int
    """K, the number of parts."""
    plan_hotpaths: tuple[str, ...]
    """Every hot path of the whole plan, in plan order (``gwbench merge`` checks that the
    shards cover them)."""
    source_digest: str | None = None
    """SHA-256 of the user's Ingresses (``--from-file``, ``--from-cluster``); ``None``
    for generated ones, which the workload's parameters identify."""


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
    shard: Shard | None = None
    """Set when this run measured one part of a plan (``--shard I/K``)."""
    merged_from: tuple[Shard, ...] = ()
    """The shards ``gwbench merge`` made this file of (empty for a run)."""
    phase_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    """Wall seconds of each pass (``checks``, building the workloads included;
    ``profiles``, py-spy and memray; ``timing``; ``envoy``): where the run's time went."""
    churn: bool = False
    """A churn measurement was asked for (``--churn``; schema version 2)."""


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
    stage_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    """Seconds of each pipeline stage in that same untimed call, for hot paths that are a
    pipeline (``ingress_update``): informative shares, never compared (not deterministic)."""


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
    max_size: int | None = None
    """The largest N the implementation runs at (the registry's ``max_size``; ``None``:
    no limit). Sizes above it have no point."""

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
class ChurnActivation:
    """One change that had to show on the data plane (an added host, a renewed certificate)."""

    at_s: float
    """When the change arrived, seconds from the start of the stream."""
    latency_s: float
    """Arrival until the host answered with its own certificate."""
    kind: str
    """``add``, ``add-custom`` or ``rotate-certificate``."""


@dataclass(frozen=True)
class ChurnRun:
    """One control plane under a live change stream on a real Envoy (``gwbench churn``)."""

    impl: str
    """``baseline``, ``optimized`` or ``incremental``."""
    shape: str
    transport: str
    """How pushes reached Envoy: ``sotw``, ``delta`` or ``files``."""
    ingresses: int
    rate_per_min: float
    duration_s: float
    seed: int
    changes: int
    not_seen: int
    """Activations never seen on the data plane."""
    p50_s: float | None
    p90_s: float | None
    p99_s: float | None
    max_s: float | None
    pushes: int
    push_p50_s: float | None
    push_max_s: float | None
    largest_batch: int
    disruption_errors: int
    """Failed probes of hosts no change touched (must be 0)."""
    disruption_requests: int
    bytes_sent: int
    """Bytes the transport handed Envoy during the stream."""
    activations: tuple[ChurnActivation, ...]


@dataclass(frozen=True)
class ModelShapeCheck:
    """One shape's activation, modelled and measured on the real Envoy, over N."""

    shape: str
    model: str
    """The model run for the shape's activation (an LDS or an RDS update)."""
    sizes: tuple[int, ...]
    model_s: tuple[float, ...]
    """Median model CPU seconds per activation at each size."""
    envoy_cpu_s: tuple[float | None, ...]
    """Median Envoy CPU seconds per activation at each size (None: not measured)."""
    model_exponent: float | None
    envoy_exponent: float | None
    difference: float | None
    """Model exponent minus Envoy exponent."""
    within: bool | None
    """``|difference|`` at most the tolerance; None when an exponent could not be fitted."""
    reason: str | None = None
    """Why an exponent is missing."""


@dataclass(frozen=True)
class ModelCheck:
    """The models held against the real Envoy (``--envoy``): per shape, the model's time per
    activation beside Envoy's CPU per activation, both fitted exponents, and the ordering of
    shapes."""

    tolerance: float
    envoy_version: str | None
    envoy_cpu: str
    """What the Envoy figure is, in words."""
    model_time: str
    """What the model figure is, in words."""
    order: tuple[str, ...]
    """Shapes from the most to the least expensive activation: the ordering to hold."""
    shapes: tuple[ModelShapeCheck, ...]
    model_ordered: bool | None
    """The model keeps ``order`` at every N measured in all shapes (None: no such N)."""
    envoy_ordered: bool | None


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
    churn: tuple[ChurnRun, ...] | None = None
    """Activation latency under a change stream (``--churn``), one run per control plane."""
    envoy_model: ModelCheck | None = None
    """The models held against the real Envoy (``--envoy``): exponents and ordering."""

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
    """Write ``results`` to ``path`` atomically (:mod:`gwbench.files`)."""
    return atomic_write_text(Path(path), dumps(results))


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds ``run.churn`` (false: version 1 could not measure churn) and the
    optional ``churn`` section (null)."""
    run = data.get("run")
    migrated = {**data, "schema_version": 2, "churn": None}
    if isinstance(run, dict):
        migrated["run"] = {**run, "churn": False}
    return migrated


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}
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
    return _validate(data, source)


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value



# --------------------------------------------------------------------------- validation
#
# pydantic validates the file against the dataclasses above (strict: no "3" for 3, no 1 for
# true), so the schema is written once, as Python types. It is imported on first use:
# it takes a fifth of a second, and most commands never read a results file.

@functools.cache
def _adapter() -> TypeAdapter[Results]:
    from pydantic import ConfigDict, TypeAdapter

    for cls in _schema_classes():
        # Field docstrings become the JSON Schema's descriptions; unknown keys are ignored
        # (a newer gwbench may add optional fields without a new schema version).
        cls.__pydantic_config__ = ConfigDict(use_attribute_docstrings=True)  # type: ignore[attr-defined]
    return TypeAdapter(Results)


def _schema_classes() -> list[type]:
    return [
        obj
        for obj in globals().values()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == __name__
    ]


def _validate(data: dict[str, Any], source: str) -> Results:
    from pydantic import ValidationError

    try:
        return _adapter().validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        raise input_error(exc, source) from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``results.json`` (published as docs/results.schema.json)."""
    schema = _adapter().json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"gwbench results.json, schema_version {SCHEMA_VERSION}; generated from "
        "gwbench/results.py by `python -m gwbench.results`, described in "
        "docs/results-schema.md",
        **schema,
    }


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
