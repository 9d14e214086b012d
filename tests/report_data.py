"""Fabricated results for the report tests (the renderers only read results; see
tests/test_report_browser.py for the report of a real run).

Timings follow a power law per implementation with seeded noise, so speedups, intervals
and fitted exponents are computed by the harness's own functions from values, never
written in by hand.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gwbench.results import (
    SCHEMA_VERSION,
    TIME_METRIC,
    Environment,
    HotPathResult,
    ImplementationResult,
    Memory,
    Point,
    Profile,
    Results,
    RunInfo,
    ScalingFit,
    Speedup,
    Timing,
    WorkloadInfo,
)
from gwbench.scaling import fit_power_law
from gwbench.stats import bootstrap_ratio_of_medians

SIZES = (50, 100, 200)
STAGE_SHARES = {
    "baseline": {
        "translate": 0.05,
        "gateway_lookup": 0.30,
        "envoyfilter_patch": 0.10,
        "encode": 0.02,
        "listener_update": 0.53,
    },
    "optimized": {
        "translate": 0.40,
        "gateway_lookup": 0.05,
        "envoyfilter_patch": 0.15,
        "encode": 0.10,
        "listener_update": 0.30,
    },
}
"""Shares of one call per stage, for the fabricated ``ingress_update``."""

BASELINE_FOLDED = """\
{label};build_listener (baselines/lookup.py:10);find_gateway (baselines/lookup.py:40) 80
{label};build_listener (baselines/lookup.py:10);make_chain (workloads/envoy_config.py:20) 15
{label};build_listener (baselines/lookup.py:10);serialize (workloads/envoy_config.py:90) 5
"""
OPTIMIZED_FOLDED = """\
{label};build_listener (optimized/lookup.py:12);index_gateways (optimized/lookup.py:30) 3
{label};build_listener (optimized/lookup.py:12);make_chain (workloads/envoy_config.py:20) 15
{label};build_listener (optimized/lookup.py:12);serialize (workloads/envoy_config.py:90) 12
"""


def timing(values: Sequence[float]) -> Timing:
    return Timing.of(
        values,
        processes=3,
        values_per_process=len(values) // 3 or 1,
        warmups=1,
        loops=1,
        reduced=False,
        pyperf_json=None,
        wall_seconds=1.0,
    )


def noisy(center: float, n: int, seed: int, rel: float = 0.02) -> list[float]:
    rng = random.Random(seed)
    return [center * (1.0 + rng.uniform(-rel, rel)) for _ in range(n)]


def implementation(
    name: str,
    kind: str,
    *,
    coefficient: float,
    exponent: float,
    counters: dict[str, tuple[float, float]],
    seed: int,
    sizes: Sequence[int] = SIZES,
    profile: Profile | None = None,
    memory: Memory | None = None,
    slowdown: float = 1.0,
    n_values: int = 9,
    stage_shares: dict[str, float] | None = None,
) -> ImplementationResult:
    """Time ``coefficient * N ** exponent`` (times ``slowdown``); each counter
    ``(c, b)`` is ``round(c * N ** b)``; each stage its share of the call."""
    points = tuple(
        Point(
            size=n,
            counters={k: round(c * n**b) for k, (c, b) in counters.items()},
            call_seconds=coefficient * n**exponent,
            inputs_seconds=0.01,
            timing=timing(noisy(coefficient * n**exponent * slowdown, n_values, seed + n)),
            stage_seconds={
                k: share * coefficient * n**exponent for k, share in (stage_shares or {}).items()
            },
        )
        for n in sizes
    )
    fits = [_fit(TIME_METRIC, points, lambda p: p.timing.median if p.timing else 0.0)]
    for counter in counters:
        fits.append(_fit(f"counter:{counter}", points, lambda p, c=counter: p.counters[c]))
    return ImplementationResult(
        name=name,
        kind=kind,
        module=f"{'baselines' if kind == 'baseline' else 'optimized'}.lookup",
        points=points,
        profile=profile,
        memory=memory,
        scaling=tuple(fits),
    )


def _fit(metric: str, points: Sequence[Point], value: Any) -> ScalingFit:
    sizes = [p.size for p in points]
    fit = fit_power_law(sizes, [float(value(p)) for p in points])
    return ScalingFit(
        metric=metric,
        exponent=fit.exponent,
        intercept=fit.intercept,
        r_squared=fit.r_squared,
        sizes=tuple(sizes),
        reason=fit.reason,
    )


def speedups(impls: Sequence[ImplementationResult]) -> tuple[Speedup, ...]:
    base = next(i for i in impls if i.kind == "baseline")
    out = []
    for impl in impls:
        if impl is base:
            continue
        for point in impl.points:
            bp = base.point(point.size)
            if bp is None or bp.timing is None or point.timing is None:
                continue
            ci = bootstrap_ratio_of_medians(
                bp.timing.values, point.timing.values, resamples=300, seed=point.size
            )
            out.append(
                Speedup(
                    impl.name,
                    base.name,
                    point.size,
                    ci.estimate,
                    ci.low,
                    ci.high,
                    ci.confidence,
                    ci.resamples,
                    ci.seed,
                )
            )
    return tuple(out)


def write_profiles(base_dir: Path, hotpath: str) -> tuple[Profile, Profile]:
    """Folded stacks for a baseline and an optimized profile, as the harness writes them."""
    out = []
    for impl, text in (("baseline", BASELINE_FOLDED), ("optimized", OPTIMIZED_FOLDED)):
        rel = f"profiles/{hotpath}/{impl}-N200.folded"
        path = base_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(label=f"{hotpath}/{impl} N=200"), encoding="utf-8")
        out.append(Profile(200, None, None, rel, 100 if impl == "baseline" else 30, 1.0))
    return out[0], out[1]


def hotpath(
    name: str,
    *,
    title: str,
    base_dir: Path | None = None,
    slowdown: float = 1.0,
    seed: int = 1,
    sizes: Sequence[int] = SIZES,
    stages: bool = False,
    ablation: bool = False,
) -> HotPathResult:
    """A baseline that scales as N^2 and an optimized twin as N^1 (``slowdown`` scales
    the optimized times, to fabricate a regression); with ``stages``, each point records
    :data:`STAGE_SHARES`; with ``ablation``, a third implementation (kind ablation, 3x
    faster than the optimized one) follows."""
    base_profile = opt_profile = None
    if base_dir is not None:
        base_profile, opt_profile = write_profiles(base_dir, name)
    impls = (
        implementation(
            "baseline",
            "baseline",
            coefficient=2e-7,
            exponent=2.0,
            seed=seed,
            counters={"name_comparisons": (1.0, 2.0), "lookups": (2.0, 1.0)},
            sizes=sizes,
            profile=base_profile,
            memory=Memory(max(sizes), 1_500_000, 120_000),
            stage_shares=STAGE_SHARES["baseline"] if stages else None,
        ),
        implementation(
            "optimized",
            "optimized",
            coefficient=4e-6,
            exponent=1.0,
            seed=seed + 7,
            counters={"name_comparisons": (1.0, 1.0), "lookups": (1.0, 1.0)},
            sizes=sizes,
            profile=opt_profile,
            slowdown=slowdown,
            memory=Memory(max(sizes), 1_600_000, 110_000),
            stage_shares=STAGE_SHARES["optimized"] if stages else None,
        ),
    )
    if ablation:
        impls += (
            implementation(
                "serialized",
                "ablation",
                coefficient=4e-6 / 3,
                exponent=1.0,
                seed=seed + 11,
                counters={"name_comparisons": (1.0, 1.0), "lookups": (1.0, 1.0)},
                sizes=sizes,
            ),
        )
    return HotPathResult(
        name=name,
        title=title,
        models="istio/istio pilot/pkg/networking/core/v1alpha3/gateway.go GetGatewayByName",
        counters=("name_comparisons", "lookups"),
        equivalence_sizes=tuple(sizes),
        implementations=impls,
        speedups=speedups(impls),
    )


ENVOY_RECORDS: tuple[dict[str, Any], ...] = tuple(
    {
        "ingresses": n,
        "shape": shape,
        "format": "pb",
        "hosts": n,
        "filter_chains": n if shape == "per-host" else max(1, n // 20),
        "initial_load_s": n * (5e-4 if shape == "per-host" else 4e-5),
        "activation_s": n * (2e-4 if shape == "per-host" else 2.4e-5),
        "activation_samples_s": [n * (2e-4 if shape == "per-host" else 2.4e-5)] * 3,
        "rotation_s": 0.01,
        "in_place": True,
        "update_rejected": 0,
        "rss_bytes": 70_000_000 + n * 50_000,
        "envoy_version": "1.40.0",
    }
    for shape in ("per-host", "consolidated")
    for n in (1000, 5000)
)


def results(
    *,
    base_dir: Path | None = None,
    status: str = "complete",
    reason: str | None = None,
    source: str = "generated",
    seed: int = 42,
    ingresses: int = 200,
    slowdown: float = 1.0,
    ablation: bool = False,
    envoy: tuple[dict[str, Any], ...] | None = None,
    command_line: tuple[str, ...] = ("gwbench", "run", "--ingresses", "200", "--quick"),
) -> Results:
    sizes = tuple(n for n in SIZES if n <= ingresses) or (ingresses,)
    hotpaths = (
        hotpath(
            "gateway_lookup",
            title="Gateway config lookup",
            base_dir=base_dir,
            slowdown=slowdown,
            sizes=sizes,
            ablation=ablation,
        ),
        hotpath(
            "ingress_update",
            title="One Ingress added at N",
            base_dir=base_dir,
            seed=5,
            sizes=sizes,
            stages=True,
        ),
    )
    return Results(
        schema_version=SCHEMA_VERSION,
        gwbench_version="0.1.0",
        environment=Environment(
            cpu_model="Test CPU 3000",
            cpu_count=2,
            usable_cpus=2,
            memory_total_bytes=8 << 30,
            platform="Linux-6.1-x86_64",
            python_version="3.11.7",
            python_implementation="CPython",
            protobuf_backend="upb",
            packages={"gwbench": "0.1.0", "protobuf": "5.29.0"},
            git_commit="0123456789abcdef0123456789abcdef01234567",
            git_dirty=False,
            command_line=command_line,
        ),
        workload=WorkloadInfo(
            source=source,
            ingresses=ingresses,
            sizes=sizes,
            seed=seed,
            custom_domain_share=0.05 if source == "generated" else None,
            domain="cloud.example.com",
            available_ingresses=None if source == "generated" else ingresses,
            sampling=None,
        ),
        run=RunInfo(
            mode="quick",
            status=status,  # type: ignore[arg-type]
            reason=reason,
            started_at="2025-01-01T00:00:00Z",
            finished_at="2025-01-01T00:01:00Z",
            wall_seconds=60.0,
            budget_seconds=210.0,
            profile=base_dir is not None,
            memory=True,
            envoy=envoy is not None,
            hotpaths=tuple(h.name for h in hotpaths),
            peak_rss_bytes=100 << 20,
            children_peak_rss_bytes=200 << 20,
        ),
        hotpaths=hotpaths,
        envoy=envoy,
    )


def with_workload(r: Results, **changes: Any) -> Results:
    return replace(r, workload=replace(r.workload, **changes))
