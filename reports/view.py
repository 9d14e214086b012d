"""What a report shows, computed once from a :class:`gwbench.results.Results`.

The renderers (HTML, markdown) format these small frozen records and never read the
results schema themselves: :func:`summarize` and the ``*_view`` builders here are the only
code in ``reports/`` that knows the schema's field names (with
:mod:`reports.regression`, which needs the raw timing values). Nothing here reads files;
the caller hands the HTML renderer the profile artefacts.

What leads: each hot path's fix with its absolute times (baseline -> fix), speedup,
interval and verdict (:mod:`gwbench.verdicts`); variants and ablations after the fixes;
the end-to-end stage breakdown; the few counters that explain each speedup; fits with
too few sizes or a poor R² flagged.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gwbench.reports.svgchart import Series
from gwbench.results import (
    TIME_METRIC,
    ChurnRun,
    Environment,
    HotPathResult,
    ImplementationResult,
    ModelCheck,
    Point,
    Profile,
    Results,
    RunInfo,
    Speedup,
    WorkloadInfo,
)
from gwbench.scaling import fit_power_law
from gwbench.units import format_seconds
from gwbench.verdicts import VERDICTS, Thresholds, Verdict, classify, describe_thresholds

END_TO_END = "ingress_update"
KIND_ORDER = {"baseline": 0, "optimized": 1, "ablation": 2}
THRESHOLDS = Thresholds()
"""The verdict thresholds of ``run``'s speedups (the gate reads its own from
``ci/thresholds.toml``)."""
KEY_COUNTERS = 3
"""Counters shown per hot path: those that changed most between the baseline and the fix;
the rest sit behind a disclosure."""
FIT_MIN_SIZES = 3
FIT_MIN_R_SQUARED = 0.9
STAGE_LABELS = {
    "translate": "translate",
    "gateway_lookup": "lookup",
    "envoyfilter_patch": "patch",
    "encode": "encode",
    "listener_update": "listener update",
}
"""Display names of the ``ingress_update`` pipeline stages (results.json names them after
their hot paths)."""

# ----------------------------------------------------------------------------- formats


def fmt_seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return format_seconds(value)


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "–"
    for limit, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if abs(value) >= limit:
            return f"{value / limit:.3g} {unit}"
    return f"{value:.0f} B"


def fmt_int(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}"


def fmt_speedup(value: float | None) -> str:
    """A ratio as a speedup factor: ``20.4×``, ``1.02×``, ``0.80×``."""
    if value is None or not math.isfinite(value):
        return "–"
    if value >= 100:
        return f"{value:,.0f}×"
    if value >= 10:
        return f"{value:.1f}×"
    return f"{value:.2f}×"


def fmt_ratio(value: float | None) -> str:
    """A counter ratio (optimized over baseline): ``201× fewer``, ``1.50× more``, ``same``."""
    if value is None or not math.isfinite(value):
        return "–"
    if value == 1.0:
        return "same"
    if value == 0.0:
        return "none left"
    if value < 1.0:
        return f"{fmt_speedup(1.0 / value)} fewer"
    return f"{fmt_speedup(value)} more"


def fmt_exponent(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def fmt_percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def fmt_level(confidence: float) -> str:
    """A confidence level: ``99%``."""
    return f"{confidence * 100:.0f}%"


def fmt_ci(confidence: float, low: float, high: float) -> str:
    """An interval, stated the same way in every output: ``99% CI 1.80×–2.10×``."""
    return f"{fmt_level(confidence)} CI {fmt_speedup(low)}–{fmt_speedup(high)}"


def fmt_change(before: float | None, after: float | None) -> str:
    """Absolute times, before and after: ``1.20 s → 61.0 ms``."""
    return f"{fmt_seconds(before)} → {fmt_seconds(after)}"


def fit_caveat(exponent: float | None, r_squared: float | None, sizes: int) -> str | None:
    """Why a fitted exponent deserves doubt, or ``None``."""
    if exponent is None:
        return None
    if sizes < FIT_MIN_SIZES:
        return f"only {sizes} sizes"
    if r_squared is not None and r_squared < FIT_MIN_R_SQUARED:
        return f"R² {r_squared:.2f} < {FIT_MIN_R_SQUARED:g}"
    return None


def speedup_verdict(s: Speedup, thresholds: Thresholds = THRESHOLDS) -> Verdict:
    """The speedup's own verdict when the results carry one (results written before
    verdicts have ``None``), else the ladder of
    :func:`gwbench.verdicts.classify` applied to its interval (``ratio`` is baseline over
    implementation, so the log-ratio of the new side over the old is ``-ln ratio``)."""
    for verdict in VERDICTS:
        if s.verdict == verdict:
            return verdict
    if min(s.ratio, s.ci_low, s.ci_high) <= 0:
        return "inconclusive"
    return classify(-math.log(s.ratio), -math.log(s.ci_high), -math.log(s.ci_low), thresholds)


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict: ``verdict-faster``, ``verdict-no-change`` ..."""
    return "verdict-" + verdict.replace(" ", "-")


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class MachineView:
    """The machine as the results hold it, and what the report derives from it."""

    env: Environment

    @property
    def python(self) -> str:
        return f"{self.env.python_version} ({self.env.python_implementation})"

    @property
    def packages(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.env.packages.items()))

    @property
    def command_line(self) -> str:
        """The recorded command, shell-quoted: paste it to reproduce."""
        return shlex.join(self.env.command_line)


@dataclass(frozen=True)
class SpeedupView:
    hotpath: str
    hotpath_title: str
    implementation: str
    kind: str
    baseline: str
    size: int
    ratio: float
    ci_low: float
    ci_high: float
    confidence: float
    baseline_exponent: float | None
    exponent: float | None
    verdict: Verdict
    baseline_median: float | None
    median: float | None
    fit_caveat: str | None
    """Doubt about either side's time exponent (too few sizes, poor R²)."""
    unfitted: str | None = None
    """Why neither side's time exponent was fitted (the fit's own reason), else ``None``."""
    role: str = "fix"
    """``fix`` (the hot path's first optimized implementation), ``variant`` (another
    optimized one) or ``ablation``."""

    @property
    def ci(self) -> str:
        return fmt_ci(self.confidence, self.ci_low, self.ci_high)

    @property
    def change(self) -> str:
        return fmt_change(self.baseline_median, self.median)


@dataclass(frozen=True)
class TimingRow:
    implementation: str
    kind: str
    size: int
    median: float | None = None
    iqr: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    n_values: int = 0
    reduced: bool = False
    processes: int | None = None
    loops: int | None = None
    speedup: SpeedupView | None = None
    peak_memory_bytes: int | None = None
    allocations: int | None = None
    error: str | None = None
    not_run_above: int | None = None
    """The implementation's size limit when this size is above it: no point here."""

    @property
    def relative_iqr(self) -> float | None:
        if self.iqr is None or not self.median:
            return None
        return self.iqr / self.median


@dataclass(frozen=True)
class SizeGroup:
    size: int
    rows: tuple[TimingRow, ...]


@dataclass(frozen=True)
class CounterCell:
    implementation: str
    value: int | None
    ratio: float | None
    """Value over the baseline's (``None`` for the baseline itself)."""


@dataclass(frozen=True)
class CounterRow:
    size: int
    name: str
    cells: tuple[CounterCell, ...]


@dataclass(frozen=True)
class MemoryRow:
    implementation: str
    size: int | None
    peak_memory_bytes: int | None
    allocations: int | None
    note: str | None


@dataclass(frozen=True)
class FitCell:
    implementation: str
    exponent: float | None
    r_squared: float | None
    sizes: int
    reason: str | None

    @property
    def caveat(self) -> str | None:
        return fit_caveat(self.exponent, self.r_squared, self.sizes)


@dataclass(frozen=True)
class FitRow:
    """One metric's fitted exponent for every implementation (``None``: not fitted)."""

    metric: str
    cells: tuple[FitCell | None, ...]

    @property
    def caveats(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.caveat for c in self.cells if c is not None and c.caveat))


@dataclass(frozen=True)
class StageShare:
    name: str
    label: str
    seconds: float
    share: float


@dataclass(frozen=True)
class StageSide:
    implementation: str
    kind: str
    total_seconds: float
    stages: tuple[StageShare, ...]


@dataclass(frozen=True)
class StageBreakdown:
    """Where the end-to-end time goes, per side: each stage's share of one untimed call
    at N (the equivalence check's)."""

    hotpath: str
    size: int
    sides: tuple[StageSide, ...]

    @property
    def rows(self) -> tuple[tuple[str, tuple[StageShare | None, ...]], ...]:
        """(stage label, that stage on each side), stages in pipeline order."""
        names = dict.fromkeys(st.name for side in self.sides for st in side.stages)
        return tuple(
            (
                STAGE_LABELS.get(name, name),
                tuple(
                    next((st for st in side.stages if st.name == name), None) for side in self.sides
                ),
            )
            for name in names
        )


@dataclass(frozen=True)
class ProfileRef:
    """Where an implementation's profile artefacts are (paths relative to the results)."""

    implementation: str
    kind: str
    missing_reason: str | None
    size: int | None = None
    flamegraph_svg: str | None = None
    speedscope_json: str | None = None
    folded_stacks: str | None = None
    samples: int = 0
    seconds: float = 0.0
    calls: int | None = None
    time_per_call: float | None = None
    """Median time per call of the timing pass at the profile's N."""


@dataclass(frozen=True)
class HotPathView:
    name: str
    anchor: str
    title: str
    models: str
    equivalence_sizes: tuple[int, ...]
    implementations: tuple[str, ...]
    baseline: str | None
    counter_names: tuple[str, ...]
    groups: tuple[SizeGroup, ...]
    """Largest N first."""
    counters: tuple[CounterRow, ...]
    key_counters: tuple[CounterRow, ...]
    """At N, the :data:`KEY_COUNTERS` that changed most between the baseline and the fix."""
    memory: tuple[MemoryRow, ...]
    fits: tuple[FitRow, ...]
    """Time first, then every counter."""
    series: tuple[Series, ...]
    speedups: tuple[SpeedupView, ...]
    """Non-baseline implementations at N."""
    profiles: tuple[ProfileRef, ...]
    limits: tuple[tuple[str, int], ...] = ()
    """(implementation, its ``max_size``) for each implementation not run at the largest
    size (its registry size limit)."""

    @property
    def fix(self) -> str | None:
        """The first optimized implementation: the fix the hot path stands for."""
        return next((r.implementation for r in self.profiles if r.kind == "optimized"), None)

    @property
    def key_fits(self) -> tuple[FitRow, ...]:
        """The time fit and those of the key counters."""
        keys = {f"counter:{c.name}" for c in self.key_counters}
        return tuple(f for f in self.fits if f.metric == TIME_METRIC or f.metric in keys)

    @property
    def caveats(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for f in self.key_fits for c in f.caveats))


@dataclass(frozen=True)
class EnvoyRow:
    ingresses: int
    shape: str
    format: str
    filter_chains: int | None
    initial_load_s: float | None
    activation_s: float
    activation_min_s: float | None
    activation_max_s: float | None
    repeats: int
    rotation_s: float | None
    in_place: bool | None
    rss_bytes: int | None
    rejected: int | None
    transport: str = ""
    activation_bytes: int | None = None


@dataclass(frozen=True)
class EnvoyView:
    rows: tuple[EnvoyRow, ...]
    series: tuple[Series, ...]
    envoy_version: str | None
    skipped: int


@dataclass(frozen=True)
class Summary:
    """Everything both renderers show, built by :func:`summarize`."""

    workload: WorkloadInfo
    machine: MachineView
    run: RunInfo
    """How the run went, as the results hold it (its warnings: what went differently from
    the plan, such as a time budget the run could not keep)."""
    gwbench_version: str
    schema_version: int
    end_to_end: tuple[SpeedupView, ...]
    hotpaths: tuple[HotPathView, ...]
    envoy: EnvoyView | None
    stages: StageBreakdown | None = None
    thresholds: str = describe_thresholds(THRESHOLDS)
    churn: tuple[ChurnRun, ...] | None = None
    envoy_model: ModelCheck | None = None

    @property
    def partial(self) -> bool:
        return self.run.status != "complete"

    @property
    def fixes(self) -> tuple[SpeedupView, ...]:
        """Each hot path's fix at N, in hot-path order."""
        return tuple(sp for hp in self.hotpaths for sp in hp.speedups if sp.role == "fix")

    @property
    def others(self) -> tuple[SpeedupView, ...]:
        """Variants, then ablations: below the fixes."""
        rest = [sp for hp in self.hotpaths for sp in hp.speedups if sp.role != "fix"]
        return tuple(sorted(rest, key=lambda sp: sp.role == "ablation"))

    @property
    def confidence_levels(self) -> tuple[float, ...]:
        return tuple(
            sorted({sp.confidence for hp in self.hotpaths for sp in hp.speedups}, reverse=True)
        )


# ----------------------------------------------------------------------------- builders


def summarize(results: Results) -> Summary:
    """The adapter from the results schema to what the report shows."""
    hotpaths = tuple(hotpath_view(hp, results.workload.ingresses) for hp in results.hotpaths)
    end_to_end = next((hp.speedups for hp in hotpaths if hp.name == END_TO_END), ())
    return Summary(
        workload=workload_view(results),
        machine=MachineView(results.environment),
        run=results.run,
        gwbench_version=results.gwbench_version,
        schema_version=results.schema_version,
        end_to_end=end_to_end,
        hotpaths=hotpaths,
        envoy=envoy_view(results.envoy),
        stages=stage_breakdown(results.hotpath(END_TO_END)),
        churn=results.churn,
        envoy_model=results.envoy_model,
    )


def workload_view(results: Results) -> WorkloadInfo:
    """The workload as the results hold it (the report shows it unchanged)."""
    return results.workload


def anchor(name: str) -> str:
    """An HTML id from a hot path name (letters, digits, ``-`` and ``_`` only)."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
    return f"hp-{cleaned}"


def _ordered(hp: HotPathResult) -> list[ImplementationResult]:
    return sorted(hp.implementations, key=lambda i: KIND_ORDER.get(i.kind, 3))


def _role(hp: HotPathResult, impl: ImplementationResult) -> str:
    if impl.kind == "ablation":
        return "ablation"
    fix = next((i for i in hp.implementations if i.kind == "optimized"), None)
    return "fix" if fix is None or fix.name == impl.name else "variant"


def _median(impl: ImplementationResult | None, size: int) -> float | None:
    point = impl.point(size) if impl is not None else None
    return point.timing.median if point is not None and point.timing is not None else None


def _speedup_view(hp: HotPathResult, impl: ImplementationResult, s: Speedup) -> SpeedupView:
    base = hp.implementation(s.baseline) or hp.baseline
    base_fit = base.fit(TIME_METRIC) if base is not None else None
    fit = impl.fit(TIME_METRIC)
    fits = [f for f in (base_fit, fit) if f is not None]
    caveats = [fit_caveat(f.exponent, f.r_squared, len(f.sizes)) for f in fits]
    unfitted = (
        next((f.reason or "no fit" for f in fits), "no fit")
        if all(f.exponent is None for f in fits)
        else None
    )
    return SpeedupView(
        hotpath=hp.name,
        hotpath_title=hp.title,
        implementation=impl.name,
        kind=impl.kind,
        baseline=s.baseline,
        size=s.size,
        ratio=s.ratio,
        ci_low=s.ci_low,
        ci_high=s.ci_high,
        confidence=s.confidence,
        baseline_exponent=base_fit.exponent if base_fit is not None else None,
        exponent=fit.exponent if fit is not None else None,
        verdict=speedup_verdict(s),
        baseline_median=_median(base, s.size),
        median=_median(impl, s.size),
        fit_caveat=next((c for c in caveats if c), None),
        unfitted=unfitted,
        role=_role(hp, impl),
    )


def _timing_row(hp: HotPathResult, impl: ImplementationResult, point: Point) -> TimingRow:
    t = point.timing
    s = hp.speedup(impl.name, point.size)
    memory = impl.memory
    at_size = memory is not None and memory.size == point.size
    return TimingRow(
        implementation=impl.name,
        kind=impl.kind,
        size=point.size,
        median=t.median if t is not None else None,
        iqr=t.iqr if t is not None else None,
        minimum=t.minimum if t is not None else None,
        maximum=t.maximum if t is not None else None,
        n_values=t.n_values if t is not None else 0,
        reduced=t.reduced if t is not None else False,
        processes=t.processes if t is not None else None,
        loops=t.loops if t is not None else None,
        speedup=_speedup_view(hp, impl, s) if s is not None and impl.kind != "baseline" else None,
        peak_memory_bytes=memory.peak_memory_bytes if memory is not None and at_size else None,
        allocations=memory.total_allocations if memory is not None and at_size else None,
        error=point.error,
    )


def _not_run_row(impl: ImplementationResult, size: int, limit: int) -> TimingRow:
    return TimingRow(implementation=impl.name, kind=impl.kind, size=size, not_run_above=limit)


def _row(hp: HotPathResult, impl: ImplementationResult, size: int) -> TimingRow | None:
    """``impl``'s row at ``size``: its point, or that it is not run at this size."""
    point = impl.point(size)
    if point is not None:
        return _timing_row(hp, impl, point)
    if impl.max_size is not None and size > impl.max_size:
        return _not_run_row(impl, size, impl.max_size)
    return None


def _profile_ref(impl: ImplementationResult, profile: Profile | None, n: int) -> ProfileRef:
    """Where ``impl``'s profile is, or why there is none (``n``: where profiles are taken)."""
    if profile is None:
        above = impl.max_size is not None and impl.max_size < n
        why = f"not run above N={impl.max_size:,}" if above else "not profiled in this run"
        return ProfileRef(impl.name, impl.kind, missing_reason=why)
    calls = profile.calls
    point = impl.point(profile.size)
    timing = point.timing if point is not None else None
    return ProfileRef(
        implementation=impl.name,
        kind=impl.kind,
        missing_reason=profile.missing_reason,
        size=profile.size,
        flamegraph_svg=profile.flamegraph_svg,
        speedscope_json=profile.speedscope_json,
        folded_stacks=profile.folded_stacks,
        samples=profile.samples,
        seconds=profile.seconds,
        calls=calls if isinstance(calls, int) and calls > 0 else None,
        time_per_call=timing.median if timing is not None and timing.median > 0 else None,
    )


def _memory_row(impl: ImplementationResult) -> MemoryRow:
    m = impl.memory
    if m is None:
        return MemoryRow(impl.name, None, None, None, "not measured in this run")
    return MemoryRow(
        impl.name, m.size, m.peak_memory_bytes, m.total_allocations, m.note or m.missing_reason
    )


def hotpath_view(hp: HotPathResult, n: int) -> HotPathView:
    impls = _ordered(hp)
    baseline = hp.baseline
    sizes = sorted({p.size for i in impls for p in i.points}, reverse=True)
    groups = tuple(
        SizeGroup(
            size=size,
            rows=tuple(row for impl in impls if (row := _row(hp, impl, size)) is not None),
        )
        for size in sizes
    )
    counter_names = tuple(
        dict.fromkeys(
            [*hp.counters, *(name for i in impls for p in i.points for name in p.counters)]
        )
    )
    counters: list[CounterRow] = []
    for size in sizes:
        base_point = baseline.point(size) if baseline is not None else None
        for name in counter_names:
            cells = []
            base_value = base_point.counters.get(name) if base_point is not None else None
            for impl in impls:
                point = impl.point(size)
                value = point.counters.get(name) if point is not None else None
                ratio = None
                if impl is not baseline and value is not None and base_value:
                    ratio = value / base_value
                cells.append(CounterCell(impl.name, value, ratio))
            if any(c.value is not None for c in cells):
                counters.append(CounterRow(size, name, tuple(cells)))
    memory = tuple(_memory_row(i) for i in impls)
    fits = _fit_rows(impls)
    series = tuple(_time_series(i) for i in impls)
    top = max(sizes) if sizes else n
    speedups = tuple(
        _speedup_view(hp, impl, s)
        for impl in impls
        if impl.kind != "baseline" and (s := hp.speedup(impl.name, top)) is not None
    )
    return HotPathView(
        name=hp.name,
        anchor=anchor(hp.name),
        title=hp.title,
        models=hp.models,
        equivalence_sizes=tuple(hp.equivalence_sizes),
        implementations=tuple(i.name for i in impls),
        baseline=baseline.name if baseline is not None else None,
        counter_names=counter_names,
        groups=groups,
        counters=tuple(counters),
        key_counters=_key_counters(counters, sizes[0] if sizes else n),
        memory=memory,
        fits=fits,
        series=series,
        speedups=speedups,
        profiles=tuple(_profile_ref(i, i.profile, top) for i in impls),
        limits=tuple(
            (i.name, i.max_size) for i in impls if i.max_size is not None and i.max_size < top
        ),
    )


def _fit_rows(impls: Sequence[ImplementationResult]) -> tuple[FitRow, ...]:
    metrics = dict.fromkeys(f.metric for i in impls for f in i.scaling)
    ordered = sorted(metrics, key=lambda m: (m != TIME_METRIC, m))
    rows = []
    for metric in ordered:
        cells = []
        for impl in impls:
            f = impl.fit(metric)
            cells.append(
                FitCell(impl.name, f.exponent, f.r_squared, len(f.sizes), f.reason)
                if f is not None
                else None
            )
        rows.append(FitRow(metric, tuple(cells)))
    return tuple(rows)


def _change_score(row: CounterRow) -> float:
    """How much the fix (the first non-baseline cell) changed a counter: ``|ln ratio|``,
    infinite when the fix does none of what the baseline does."""
    cell = next((c for c in row.cells[1:] if c.ratio is not None), None)
    if cell is None or cell.ratio is None:
        return 0.0
    if cell.ratio <= 0:
        return math.inf
    return abs(math.log(cell.ratio))


def _key_counters(rows: Sequence[CounterRow], size: int) -> tuple[CounterRow, ...]:
    at_n = [r for r in rows if r.size == size]
    changed = [r for r in at_n if _change_score(r) > 0]
    changed.sort(key=_change_score, reverse=True)
    return tuple(changed[:KEY_COUNTERS])


def stage_breakdown(hp: HotPathResult | None) -> StageBreakdown | None:
    """Each side's stage shares at the largest N where every side recorded its stages."""
    if hp is None:
        return None
    impls = [i for i in _ordered(hp) if i.kind != "ablation"]
    sizes = sorted({p.size for i in impls for p in i.points}, reverse=True)
    for size in sizes:
        points = [(i, i.point(size)) for i in impls]
        if not points or any(p is None or not p.stage_seconds for _, p in points):
            continue
        sides = []
        for impl, point in points:
            assert point is not None
            total = sum(point.stage_seconds.values())
            sides.append(
                StageSide(
                    implementation=impl.name,
                    kind=impl.kind,
                    total_seconds=total,
                    stages=tuple(
                        StageShare(
                            name,
                            STAGE_LABELS.get(name, name),
                            seconds,
                            seconds / total if total > 0 else 0.0,
                        )
                        for name, seconds in point.stage_seconds.items()
                    ),
                )
            )
        return StageBreakdown(hp.name, size, tuple(sides))
    return None


def _time_series(impl: ImplementationResult) -> Series:
    points = tuple(
        (float(p.size), p.timing.median)
        for p in sorted(impl.points, key=lambda p: p.size)
        if p.timing is not None and p.timing.median > 0
    )
    fit = impl.fit(TIME_METRIC)
    return Series(
        name=impl.name,
        points=points,
        exponent=fit.exponent if fit is not None else None,
        r_squared=fit.r_squared if fit is not None else None,
        intercept=fit.intercept if fit is not None else None,
    )


# ----------------------------------------------------------------------------- envoy


def _num(record: Mapping[str, Any], key: str) -> float | None:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(record: Mapping[str, Any], key: str) -> int | None:
    value = record.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def envoy_view(records: Sequence[Mapping[str, Any]] | None) -> EnvoyView | None:
    """Rows of the real-Envoy section; records without N, shape or activation time are
    counted as skipped rather than failing the report."""
    if not records:
        return None
    rows: list[EnvoyRow] = []
    skipped = 0
    version: str | None = None
    for record in records:
        n = _int(record, "ingresses")
        shape = record.get("shape")
        activation = _num(record, "activation_s")
        if n is None or not isinstance(shape, str) or activation is None:
            skipped += 1
            continue
        samples = [
            float(v)
            for v in record.get("activation_samples_s") or ()
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        in_place = record.get("in_place")
        fmt = record.get("format")
        if isinstance(record.get("envoy_version"), str):
            version = record["envoy_version"]
        rows.append(
            EnvoyRow(
                ingresses=n,
                shape=shape,
                format=fmt if isinstance(fmt, str) else "",
                filter_chains=_int(record, "filter_chains"),
                initial_load_s=_num(record, "initial_load_s"),
                activation_s=activation,
                activation_min_s=min(samples) if samples else None,
                activation_max_s=max(samples) if samples else None,
                repeats=len(samples),
                rotation_s=_num(record, "rotation_s"),
                in_place=in_place if isinstance(in_place, bool) else None,
                rss_bytes=_int(record, "rss_bytes"),
                rejected=_int(record, "update_rejected"),
                transport=str(record.get("transport") or ""),
                activation_bytes=_int(record, "activation_bytes"),
            )
        )
    rows.sort(key=lambda r: (r.shape, r.format, r.ingresses))
    keys = list(dict.fromkeys((r.shape, r.format) for r in rows))
    formats = {f for _, f in keys}
    series = []
    for shape, fmt in keys:
        pts = tuple(
            (float(r.ingresses), r.activation_s)
            for r in rows
            if (r.shape, r.format) == (shape, fmt) and r.activation_s > 0
        )
        fit = fit_power_law([int(x) for x, _ in pts], [y for _, y in pts]) if len(pts) > 1 else None
        series.append(
            Series(
                name=shape if len(formats) <= 1 else f"{shape} ({fmt})",
                points=pts,
                exponent=fit.exponent if fit is not None else None,
                r_squared=fit.r_squared if fit is not None else None,
                intercept=fit.intercept if fit is not None else None,
            )
        )
    return EnvoyView(rows=tuple(rows), series=tuple(series), envoy_version=version, skipped=skipped)
