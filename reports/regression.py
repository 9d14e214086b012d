"""Regression table of two results files: reference (before) against candidate (after).

For every hot path, implementation and N both files measured, the time ratio is
``median(candidate) / median(reference)`` (above 1: the candidate is slower) with a
percentile-bootstrap interval that resamples each side's values
(:func:`gwbench.stats.bootstrap_ratio_of_medians`, seeded per row so the table
reproduces). Verdicts follow docs/gate.md's thresholds:

- ``regression``: estimate above 1.10 and the interval entirely above 1;
- ``warn``: estimate above 1.05 (the warn band) and the interval entirely above 1;
- ``improvement`` / ``minor improvement``: the same, mirrored (below 1/1.10, 1/1.05);
- ``no change``: the interval lies inside the warn band;
- ``inconclusive``: anything else (too noisy to say).

Two files from different workloads (source, seed, custom-domain share, domain, N) or
schema versions are refused (:class:`gwbench.errors.InputError`): their times do not
measure the same work. This is the comparison of two stored runs; the pull-request gate
(docs/gate.md) additionally interleaves rounds in one job and compares counters exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gwbench.errors import InputError
from gwbench.results import HotPathResult, Results, Timing
from gwbench.stats import DEFAULT_RESAMPLES, bootstrap_ratio_of_medians, stable_seed

Verdict = Literal[
    "regression", "warn", "inconclusive", "no change", "minor improvement", "improvement"
]
VERDICT_ORDER: tuple[Verdict, ...] = (
    "regression",
    "warn",
    "inconclusive",
    "no change",
    "minor improvement",
    "improvement",
)
THRESHOLD = 1.10
WARN_BAND = 1.05
CONFIDENCE = 0.99


@dataclass(frozen=True)
class CounterChange:
    name: str
    reference: int | None
    candidate: int | None

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.candidate is None or self.reference == 0:
            return None
        return self.candidate / self.reference


@dataclass(frozen=True)
class ComparisonRow:
    """One hot path, implementation and N measured by both files."""

    hotpath: str
    implementation: str
    kind: str
    size: int
    reference_median: float
    candidate_median: float
    reference_values: int
    candidate_values: int
    ratio: float
    """Candidate time over reference time (above 1: slower)."""
    ci_low: float
    ci_high: float
    verdict: Verdict
    counter_changes: tuple[CounterChange, ...]
    """Counters whose value differs between the two files."""


@dataclass(frozen=True)
class Comparison:
    """The whole table, regressions first."""

    reference_label: str
    candidate_label: str
    confidence: float
    threshold: float
    warn_band: float
    rows: tuple[ComparisonRow, ...]
    skipped: tuple[str, ...]
    """Hot path / implementation / N present on one side only, or without timing."""

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.rows if r.verdict == verdict)

    @property
    def regressions(self) -> tuple[ComparisonRow, ...]:
        return tuple(r for r in self.rows if r.verdict == "regression")


def verdict(
    ratio: float,
    low: float,
    high: float,
    *,
    threshold: float = THRESHOLD,
    warn_band: float = WARN_BAND,
) -> Verdict:
    """docs/gate.md's decision for one time ratio and its confidence interval."""
    if ratio > threshold and low > 1.0:
        return "regression"
    if ratio < 1.0 / threshold and high < 1.0:
        return "improvement"
    if low >= 1.0 / warn_band and high <= warn_band:
        return "no change"
    if ratio > warn_band and low > 1.0:
        return "warn"
    if ratio < 1.0 / warn_band and high < 1.0:
        return "minor improvement"
    return "inconclusive"


def check_comparable(reference: Results, candidate: Results) -> None:
    """Refuse (exit 2) two files that did not measure the same workload."""
    if reference.schema_version != candidate.schema_version:
        raise InputError(
            f"cannot compare results of schema version {reference.schema_version} "
            f"(reference) and {candidate.schema_version} (candidate)"
        )
    ref, cand = reference.workload, candidate.workload
    fields: tuple[tuple[str, object, object], ...] = (
        ("source", ref.source, cand.source),
        ("seed", ref.seed, cand.seed),
        ("custom-domain share", ref.custom_domain_share, cand.custom_domain_share),
        ("domain", ref.domain, cand.domain),
        ("N (Ingresses)", ref.ingresses, cand.ingresses),
        ("Ingresses in the source", ref.available_ingresses, cand.available_ingresses),
    )
    differences = [f"{name} {a!r} in the reference, {b!r} here" for name, a, b in fields if a != b]
    if differences:
        raise InputError(
            "the two results measured different workloads ("
            + "; ".join(differences)
            + "): rerun both with the same --ingresses, --seed and source"
        )


def _usable(timing: Timing | None) -> bool:
    return timing is not None and bool(timing.values) and min(timing.values) > 0


def compare_results(
    reference: Results,
    candidate: Results,
    *,
    reference_label: str = "reference",
    candidate_label: str = "candidate",
    confidence: float = CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    threshold: float = THRESHOLD,
    warn_band: float = WARN_BAND,
) -> Comparison:
    """Every common (hot path, implementation, N), regressions first."""
    check_comparable(reference, candidate)
    rows: list[ComparisonRow] = []
    skipped: list[str] = []
    for cand_hp in candidate.hotpaths:
        ref_hp = reference.hotpath(cand_hp.name)
        if ref_hp is None:
            skipped.append(f"{cand_hp.name}: not in the reference")
            continue
        rows.extend(_rows(ref_hp, cand_hp, confidence, resamples, threshold, warn_band, skipped))
    for ref_hp in reference.hotpaths:
        if candidate.hotpath(ref_hp.name) is None:
            skipped.append(f"{ref_hp.name}: not in the candidate")
    if not rows:
        raise InputError(
            "the two results have no hot path, implementation and N with timings in common"
        )
    rank = {v: i for i, v in enumerate(VERDICT_ORDER)}
    order = {hp.name: i for i, hp in enumerate(candidate.hotpaths)}
    rows.sort(
        key=lambda r: (rank[r.verdict], -r.ratio if r.ratio > 1 else r.ratio, order[r.hotpath])
    )
    return Comparison(
        reference_label=reference_label,
        candidate_label=candidate_label,
        confidence=confidence,
        threshold=threshold,
        warn_band=warn_band,
        rows=tuple(rows),
        skipped=tuple(skipped),
    )


def _rows(
    ref_hp: HotPathResult,
    cand_hp: HotPathResult,
    confidence: float,
    resamples: int,
    threshold: float,
    warn_band: float,
    skipped: list[str],
) -> list[ComparisonRow]:
    rows: list[ComparisonRow] = []
    for cand_impl in cand_hp.implementations:
        ref_impl = ref_hp.implementation(cand_impl.name)
        if ref_impl is None:
            skipped.append(f"{cand_hp.name}/{cand_impl.name}: not in the reference")
            continue
        for cand_pt in cand_impl.points:
            where = f"{cand_hp.name}/{cand_impl.name} N={cand_pt.size}"
            ref_pt = ref_impl.point(cand_pt.size)
            if ref_pt is None:
                skipped.append(f"{where}: not in the reference")
                continue
            if not _usable(ref_pt.timing) or not _usable(cand_pt.timing):
                skipped.append(f"{where}: no timing on one side")
                continue
            assert ref_pt.timing is not None and cand_pt.timing is not None
            interval = bootstrap_ratio_of_medians(
                cand_pt.timing.values,
                ref_pt.timing.values,
                confidence=confidence,
                resamples=resamples,
                seed=stable_seed("gwbench-compare", cand_hp.name, cand_impl.name, cand_pt.size),
            )
            names = sorted(set(ref_pt.counters) | set(cand_pt.counters))
            changes = tuple(
                CounterChange(n, ref_pt.counters.get(n), cand_pt.counters.get(n))
                for n in names
                if ref_pt.counters.get(n) != cand_pt.counters.get(n)
            )
            rows.append(
                ComparisonRow(
                    hotpath=cand_hp.name,
                    implementation=cand_impl.name,
                    kind=cand_impl.kind,
                    size=cand_pt.size,
                    reference_median=ref_pt.timing.median,
                    candidate_median=cand_pt.timing.median,
                    reference_values=len(ref_pt.timing.values),
                    candidate_values=len(cand_pt.timing.values),
                    ratio=interval.estimate,
                    ci_low=interval.low,
                    ci_high=interval.high,
                    verdict=verdict(
                        interval.estimate,
                        interval.low,
                        interval.high,
                        threshold=threshold,
                        warn_band=warn_band,
                    ),
                    counter_changes=changes,
                )
            )
    return rows
