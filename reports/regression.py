"""Regression table of two results files: reference (before) against candidate (after).

For every hot path, implementation and N both files measured, the time ratio is
``median(candidate) / median(reference)`` (above 1: the candidate is slower) with a
percentile-bootstrap interval that resamples each side's values
(:func:`gwbench.stats.bootstrap_ratio_of_medians`, seeded per row so the table
reproduces). Each row's verdict is the one ladder of :mod:`gwbench.verdicts` (faster, no
change, slower, inconclusive; a slower row above the failure threshold is a regression),
with the thresholds of ``ci/thresholds.toml`` (``time_warn`` the no-change band,
``time_fail`` the regression).

Two sides that hold the same values (a file against itself, or against a copy) are one
sample, not two: their difference is exactly zero, so the interval of the ratio is the
point ``[1, 1]`` (resampling both sides with the same draw gives the same median on both)
and the verdict is "no change". Two independent runs are resampled independently.

Two files from different workloads (source, seed, custom-domain share, domain, N) or
schema versions are refused (:class:`gwbench.errors.InputError`): their times do not
measure the same work. This is the comparison of two stored runs; the pull-request gate
(docs/gate.md) additionally interleaves rounds in one job and compares counters exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from gwbench.errors import InputError
from gwbench.results import HotPathResult, ImplementationResult, Point, Results, Timing
from gwbench.stats import DEFAULT_RESAMPLES, Interval, bootstrap_ratio_of_medians, stable_seed
from gwbench.verdicts import (
    VERDICTS,
    Shown,
    Thresholds,
    classify_ratio,
    describe_thresholds,
    is_regression_ratio,
)

Verdict = Literal[
    "regression",
    "slower",
    "inconclusive",
    "no change",
    "faster",
    "warn",
    "minor improvement",
    "improvement",
]
"""Names a table may count rows by. Rows carry only the ladder's verdicts and
``regression`` (:data:`gwbench.verdicts.Shown`); the last three are names of the older
ladder, which count no row."""

VERDICT_ORDER: tuple[Shown, ...] = ("regression", *VERDICTS)
CONFIDENCE = 0.99

T = TypeVar("T")
K = TypeVar("K")


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
    verdict: Shown
    """The ladder's verdict, or ``regression`` for a slower row above the threshold."""
    counter_changes: tuple[CounterChange, ...]
    """Counters whose value differs between the two files."""
    identical: bool = False
    """Both sides hold the same values: one sample, the interval is the point."""

    @property
    def regression(self) -> bool:
        return self.verdict == "regression"


@dataclass(frozen=True)
class Comparison:
    """The whole table, regressions first."""

    reference_label: str
    candidate_label: str
    confidence: float
    thresholds: Thresholds
    rows: tuple[ComparisonRow, ...]
    skipped: tuple[str, ...]
    """Hot path / implementation / N present on one side only, or without timing."""
    thresholds_source: str = field(default="built-in defaults")

    @property
    def threshold(self) -> float:
        """The regression threshold as a ratio (1.10)."""
        return 1.0 + self.thresholds.fail

    @property
    def warn_band(self) -> float:
        """The upper edge of the no-change band as a ratio (1.05)."""
        return 1.0 + self.thresholds.no_change

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rows if r.verdict == verdict)

    @property
    def regressions(self) -> tuple[ComparisonRow, ...]:
        return tuple(r for r in self.rows if r.regression)

    def describe(self) -> str:
        """The thresholds, stated: "±5% no change band (...), regression at +10%"."""
        return describe_thresholds(self.thresholds)


def verdict(
    ratio: float, low: float, high: float, thresholds: Thresholds | None = None
) -> Shown:
    """The verdict of one time ratio and its interval: the ladder's, or ``regression``."""
    th = thresholds if thresholds is not None else Thresholds()
    if is_regression_ratio(ratio, low, th):
        return "regression"
    return classify_ratio(ratio, low, high, th)


def ratio_interval(
    candidate: Sequence[float],
    reference: Sequence[float],
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> tuple[Interval, bool]:
    """``median(candidate) / median(reference)`` with its bootstrap interval, and whether
    the two sides are one sample (the same values: the interval is the point 1)."""
    if sorted(candidate) == sorted(reference):
        return Interval(1.0, 1.0, 1.0, confidence, resamples, seed), True
    interval = bootstrap_ratio_of_medians(
        candidate, reference, confidence=confidence, resamples=resamples, seed=seed
    )
    return interval, False


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
    thresholds: Thresholds | None = None,
    thresholds_source: str = "built-in defaults",
) -> Comparison:
    """Every common (hot path, implementation, N), regressions first."""
    check_comparable(reference, candidate)
    th = thresholds if thresholds is not None else Thresholds()
    rows: list[ComparisonRow] = []
    skipped: list[str] = []
    for cand_hp, ref_hp in _in_reference(candidate.hotpaths, _name, reference.hotpath, "", skipped):
        rows.extend(_rows(ref_hp, cand_hp, confidence, resamples, th, skipped))
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
        key=lambda r: (rank[r.verdict], -abs(math.log(r.ratio)), order[r.hotpath])
    )
    return Comparison(
        reference_label=reference_label,
        candidate_label=candidate_label,
        confidence=confidence,
        thresholds=th,
        rows=tuple(rows),
        skipped=tuple(skipped),
        thresholds_source=thresholds_source,
    )


def _in_reference(
    candidates: Iterable[T],
    key: Callable[[T], K],
    find: Callable[[K], T | None],
    prefix: str,
    skipped: list[str],
) -> Iterator[tuple[T, T]]:
    """Each candidate (hot path, implementation or point) with the reference's of the same
    key; one the reference lacks is noted in ``skipped`` (``prefix`` + key)."""
    for cand in candidates:
        ref = find(key(cand))
        if ref is None:
            skipped.append(f"{prefix}{key(cand)}: not in the reference")
            continue
        yield cand, ref


def _name(item: HotPathResult | ImplementationResult) -> str:
    return item.name


def _size(point: Point) -> int:
    return point.size


def _rows(
    ref_hp: HotPathResult,
    cand_hp: HotPathResult,
    confidence: float,
    resamples: int,
    thresholds: Thresholds,
    skipped: list[str],
) -> list[ComparisonRow]:
    rows: list[ComparisonRow] = []
    impls = _in_reference(
        cand_hp.implementations, _name, ref_hp.implementation, f"{cand_hp.name}/", skipped
    )
    for cand_impl, ref_impl in impls:
        where = f"{cand_hp.name}/{cand_impl.name} N="
        points = _in_reference(cand_impl.points, _size, ref_impl.point, where, skipped)
        for cand_pt, ref_pt in points:
            if not _usable(ref_pt.timing) or not _usable(cand_pt.timing):
                skipped.append(f"{where}{cand_pt.size}: no timing on one side")
                continue
            assert ref_pt.timing is not None and cand_pt.timing is not None
            interval, identical = ratio_interval(
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
                    verdict=verdict(interval.estimate, interval.low, interval.high, thresholds),
                    counter_changes=changes,
                    identical=identical,
                )
            )
    return rows
