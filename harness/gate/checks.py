"""The gate's four checks (docs/gate.md), pure functions over what the sides answered.

1. Equivalence: every implementation's result equals its baseline's, by the side's own
   ``compare``, on both sides. A mismatch in the head fails the gate; one only in the base
   is reported (the head fixed it).
2. Counters (exact): at each N, no counter of the head may exceed the base's by more than
   its threshold (relative; byte counters have their own). A counter that goes from 0 to
   anything is an unbounded rise.
3. Scaling (exact on counters): ``log(counter) = a + b log(N)`` fitted over the sweep on
   each side (:func:`gwbench.scaling.fit_power_law`); the check fails when ``b`` rises by
   more than the slope threshold (an accidental N -> N^2 is about +1).
4. Wall time (statistical): the median of the per-round log-ratios ``r_i`` with a seeded
   99% percentile-bootstrap interval over rounds (:func:`gwbench.stats.bootstrap_median`),
   judged by the one ladder of :mod:`gwbench.verdicts` (``time_warn`` is the no-change
   band, ``time_fail`` the regression): no change when the interval lies within
   ``±ln(1 + time_warn)``; slower (faster) when the estimate is beyond it and the interval
   above (below) 0; otherwise inconclusive.

Rounds are sequential (:mod:`harness.gate.sequential`): a row whose interval cannot yet
say (inconclusive) gets more rounds, a step at a time, until its interval is decisive or
a cap (rounds or seconds) is reached; the row's statistic is then that of all its rounds
(``pooled``), and a row stopped by a cap says so. A regression is a decisive interval
(slower, the estimate above ``ln(1 + time_fail)``) confirmed by a second, independent
batch of rounds that is a regression on its own; an inconclusive interval is never a
regression. A row that failed an exact check gets no more rounds and no confirmation:
counters need no statistics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from gwbench.harness.gate.protocol import CheckPoint, PointKey
from gwbench.harness.gate.thresholds import Thresholds
from gwbench.scaling import fit_power_law
from gwbench.stats import GATE_CONFIDENCE, GATE_RESAMPLES, bootstrap_median, median, stable_seed
from gwbench.verdicts import Thresholds as Ladder
from gwbench.verdicts import Verdict, classify, is_regression

TimeVerdict = Verdict
RowVerdict = Literal["regression", "slower", "inconclusive", "faster", "no change", "pass"]
"""A row's verdict: the time ladder's, ``regression`` (an exact check failed, or a
confirmed time regression) or ``pass`` (not timed; the exact checks pass)."""
ROW_VERDICT_ORDER: tuple[RowVerdict, ...] = (
    "regression",
    "slower",
    "inconclusive",
    "faster",
    "no change",
    "pass",
)


# --------------------------------------------------------------------------- 1. equivalence


@dataclass(frozen=True)
class Equivalence:
    base_difference: str | None
    head_difference: str | None

    @property
    def failed(self) -> bool:
        return self.head_difference is not None


def equivalence(base: CheckPoint | None, head: CheckPoint | None) -> Equivalence:
    return Equivalence(
        base.difference if base is not None else None,
        head.difference if head is not None else None,
    )


# --------------------------------------------------------------------------- 2. counters


@dataclass(frozen=True)
class CounterDelta:
    """One counter at one N on both sides."""

    name: str
    base: int | None
    head: int | None
    limit: float | None
    """Allowed relative rise; ``None``: not checked (ignored by the thresholds)."""

    @property
    def change(self) -> float | None:
        """Relative change head/base - 1 (``inf`` from zero; ``None`` if one side lacks it)."""
        if self.base is None or self.head is None:
            return None
        if self.base == 0:
            return 0.0 if self.head == 0 else math.inf
        return self.head / self.base - 1.0

    @property
    def failed(self) -> bool:
        change = self.change
        return self.limit is not None and change is not None and change > self.limit + 1e-12


def counter_deltas(
    hotpath: str,
    base: Mapping[str, int] | None,
    head: Mapping[str, int] | None,
    thresholds: Thresholds,
) -> tuple[CounterDelta, ...]:
    """Every counter either side reports, in name order."""
    b = dict(base or {})
    h = dict(head or {})
    return tuple(
        CounterDelta(name, b.get(name), h.get(name), thresholds.counter_limit(hotpath, name))
        for name in sorted(set(b) | set(h))
    )


# --------------------------------------------------------------------------- 3. scaling


@dataclass(frozen=True)
class SlopeDelta:
    """The fitted exponent of one counter over the sweep, on both sides."""

    counter: str
    base: float | None
    head: float | None
    limit: float
    checked: bool
    """False when ignored by the thresholds or not fittable on both sides."""
    reason: str | None = None

    @property
    def delta(self) -> float | None:
        if self.base is None or self.head is None:
            return None
        return self.head - self.base

    @property
    def failed(self) -> bool:
        d = self.delta
        return self.checked and d is not None and d > self.limit + 1e-9


def _exponent(sizes: Sequence[int], series: Mapping[int, int]) -> tuple[float | None, str | None]:
    have = [n for n in sizes if n in series]
    if len(set(have)) < 2:
        return None, "fewer than two sizes"
    fit = fit_power_law(have, [float(series[n]) for n in have])
    return fit.exponent, fit.reason


def slope_deltas(
    hotpath: str,
    sizes: Sequence[int],
    base: Mapping[int, Mapping[str, int]],
    head: Mapping[int, Mapping[str, int]],
    thresholds: Thresholds,
) -> tuple[SlopeDelta, ...]:
    """Per counter: exponent on each side over ``sizes`` (``size -> counters``)."""
    names = sorted({c for pts in (base, head) for counters in pts.values() for c in counters})
    limit = thresholds.slope_limit(hotpath)
    out = []
    for name in names:
        b_series = {n: c[name] for n, c in base.items() if name in c}
        h_series = {n: c[name] for n, c in head.items() if name in c}
        b_exp, b_why = _exponent(sizes, b_series)
        h_exp, h_why = _exponent(sizes, h_series)
        reason = None
        if b_exp is None or h_exp is None:
            reason = f"not fitted: {b_why or h_why}"
        ignored = thresholds.ignored(hotpath, name)
        if ignored:
            reason = "ignored by the thresholds"
        out.append(
            SlopeDelta(
                counter=name,
                base=b_exp,
                head=h_exp,
                limit=limit,
                checked=not ignored and b_exp is not None and h_exp is not None,
                reason=reason,
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- 4. time


@dataclass(frozen=True)
class TimeCheck:
    """The paired log-ratio statistic of one batch of rounds."""

    rounds: int
    estimate: float
    """Median of ``r_i = ln(t_head / t_base)``."""
    low: float
    high: float
    confidence: float
    resamples: int
    seed: int
    verdict: TimeVerdict
    fail: float
    warn: float
    regression: bool = False
    """Slower by more than ``fail`` with the interval above 0 (before confirmation)."""
    cpu_estimate: float | None = None
    """The same median from process CPU time (advisory)."""
    base_median: float | None = None
    """Median per-call seconds of the base and the head over the batch's processes."""
    head_median: float | None = None
    log_ratios: tuple[float, ...] = ()
    """The per-round ``r_i`` the statistic was computed from, in round order."""
    cpu_log_ratios: tuple[float, ...] = ()
    """The same rounds' ``r_i`` from process CPU time, and from wall time (diagnostics:
    how far each metric spread over the same rounds)."""
    wall_log_ratios: tuple[float, ...] = ()

    @property
    def ratio(self) -> float:
        return math.exp(self.estimate)

    @property
    def ratio_low(self) -> float:
        return math.exp(self.low)

    @property
    def ratio_high(self) -> float:
        return math.exp(self.high)


def ladder(thresholds: Thresholds, hotpath: str) -> Ladder:
    """The verdict thresholds of one hot path, from the thresholds file (never copied)."""
    fail, warn = thresholds.time_limits(hotpath)
    return Ladder(no_change=warn, fail=fail)


def time_verdict(estimate: float, low: float, high: float, fail: float, warn: float) -> TimeVerdict:
    """The ladder's verdict of one batch (log space; ``fail``/``warn`` as relative rises)."""
    return classify(estimate, low, high, Ladder(no_change=warn, fail=fail))


def time_check(
    ratios: Sequence[float],
    *,
    fail: float,
    warn: float,
    seed: int,
    cpu_ratios: Sequence[float] = (),
    wall_ratios: Sequence[float] = (),
    base_seconds: Sequence[float] = (),
    head_seconds: Sequence[float] = (),
    confidence: float = GATE_CONFIDENCE,
    resamples: int = GATE_RESAMPLES,
) -> TimeCheck:
    if not ratios:
        raise ValueError("time check of no rounds")
    iv = bootstrap_median(ratios, confidence=confidence, resamples=resamples, seed=seed)
    return TimeCheck(
        rounds=len(ratios),
        estimate=iv.estimate,
        low=iv.low,
        high=iv.high,
        confidence=iv.confidence,
        resamples=iv.resamples,
        seed=iv.seed,
        verdict=time_verdict(iv.estimate, iv.low, iv.high, fail, warn),
        fail=fail,
        warn=warn,
        regression=is_regression(iv.estimate, iv.low, Ladder(no_change=warn, fail=fail)),
        cpu_estimate=median(cpu_ratios) if cpu_ratios else None,
        base_median=median(base_seconds) if base_seconds else None,
        head_median=median(head_seconds) if head_seconds else None,
        log_ratios=tuple(ratios),
        cpu_log_ratios=tuple(cpu_ratios),
        wall_log_ratios=tuple(wall_ratios),
    )


def bootstrap_seed(seed: int, key: PointKey, batch: str) -> int:
    """The seed of one row's bootstrap: the same inputs always give the same interval."""
    return stable_seed("gwbench-gate", seed, key.hotpath, key.implementation, key.size, batch)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    """Everything the gate found for one hot path, implementation and N."""

    key: PointKey
    kind: str
    equivalence: Equivalence
    counters: tuple[CounterDelta, ...]
    slopes: tuple[SlopeDelta, ...]
    time: TimeCheck | None
    confirmation: TimeCheck | None
    verdict: RowVerdict
    reasons: tuple[str, ...]
    """Why the verdict is what it is, one sentence each (failures first)."""
    pooled: TimeCheck | None = None
    """All the row's rounds, when the first look could not say and more rounds ran."""
    stopped: str | None = None
    """The cap that ended the rounds of a row still inconclusive (``40 rounds``)."""

    @property
    def decisive_time(self) -> TimeCheck | None:
        """The time statistic the verdict rests on: all the row's rounds, else the first
        look's."""
        return self.pooled or self.time

    @property
    def exact_failed(self) -> bool:
        return exact_failure(self.equivalence, self.counters, self.slopes)

    def worst_counter(self) -> CounterDelta | None:
        """The counter with the largest relative change (checked ones first)."""
        changed = [c for c in self.counters if c.change is not None]
        if not changed:
            return None
        return max(changed, key=lambda c: (c.limit is not None, abs(c.change or 0.0)))

    def worst_slope(self) -> SlopeDelta | None:
        fitted = [s for s in self.slopes if s.delta is not None]
        if not fitted:
            return None
        return max(fitted, key=lambda s: (s.checked, abs(s.delta or 0.0)))


def exact_failure(
    eq: Equivalence, counters: Sequence[CounterDelta], slopes: Sequence[SlopeDelta]
) -> bool:
    return eq.failed or any(c.failed for c in counters) or any(s.failed for s in slopes)


def needs_confirmation(
    eq: Equivalence,
    counters: Sequence[CounterDelta],
    slopes: Sequence[SlopeDelta],
    decisive: TimeCheck | None,
) -> bool:
    """A confirmation batch: for a time regression found by the rounds (never for a row an
    exact check already failed, never for an inconclusive interval)."""
    return decisive is not None and decisive.regression and not exact_failure(eq, counters, slopes)


def undecided(check: TimeCheck) -> bool:
    """Whether more rounds could decide the row: its interval is inconclusive."""
    return check.verdict == "inconclusive"


def _pct(change: float | None) -> str:
    if change is None:
        return "n/a"
    if math.isinf(change):
        return "from 0"
    return f"{change:+.1%}"


def time_text(check: TimeCheck) -> str:
    """``×1.004 [0.991, 1.020] over 10 rounds``."""
    return (
        f"×{check.ratio:.3f} [{check.ratio_low:.3f}, {check.ratio_high:.3f}] over "
        f"{check.rounds} rounds"
    )


def _time_verdict(
    first: TimeCheck,
    pooled: TimeCheck | None,
    confirmation: TimeCheck | None,
    stopped: str | None,
    reasons: list[str],
) -> RowVerdict:
    """The verdict of a row whose exact checks pass, from its rounds: the first look, all
    its rounds when it got more (``pooled``) and the confirmation batch."""
    decisive = pooled or first
    shown = f"time {time_text(first)}"
    if pooled is not None:
        shown += f"; with {pooled.rounds - first.rounds} more rounds, {time_text(pooled)}"
    fail = f"+{decisive.fail:.0%}"
    if decisive.regression:
        if confirmation is not None and confirmation.regression:
            reasons.append(
                f"{shown}: above {fail}; confirmed by a second, independent batch: "
                f"{time_text(confirmation)}"
            )
            return "regression"
        if confirmation is None:
            reasons.append(f"{shown} above {fail} but not confirmed: not run")
            return "inconclusive"
        verdict: RowVerdict = "slower" if confirmation.verdict == "slower" else "inconclusive"
        reasons.append(
            f"{shown} above {fail} but not confirmed: {time_text(confirmation)} "
            f"({confirmation.verdict})"
        )
        return verdict
    if decisive.verdict == "inconclusive":
        cap = f", stopped at the cap ({stopped})" if stopped else ""
        reasons.append(f"{shown}: inconclusive{cap}")
    elif decisive.verdict != "no change" or pooled is not None:
        reasons.append(f"{shown}: {decisive.verdict}")
    return decisive.verdict


def row(
    key: PointKey,
    kind: str,
    eq: Equivalence,
    counters: tuple[CounterDelta, ...],
    slopes: tuple[SlopeDelta, ...],
    first: TimeCheck | None,
    confirmation: TimeCheck | None,
    pooled: TimeCheck | None = None,
    stopped: str | None = None,
) -> Row:
    """Combine the four checks of one row into its verdict and reasons: ``first`` the
    first look's statistic, ``pooled`` that of all the row's rounds when it got more,
    ``stopped`` the cap that ended its rounds while still inconclusive."""
    reasons: list[str] = []
    failed = False
    if eq.head_difference is not None:
        failed = True
        reasons.append(f"head result differs from its baseline: {eq.head_difference}")
    if eq.base_difference is not None:
        reasons.append(f"base result differed from its baseline: {eq.base_difference}")
    for c in counters:
        if c.failed:
            failed = True
            reasons.append(
                f"counter {c.name} {c.base:,} → {c.head:,} ({_pct(c.change)}, "
                f"limit +{(c.limit or 0.0):.0%})"
            )
    for s in slopes:
        if s.failed:
            failed = True
            reasons.append(
                f"scaling exponent of {s.counter} {s.base:.2f} → {s.head:.2f} "
                f"(+{s.delta:.2f}, limit +{s.limit:.2f})"
            )
    verdict: RowVerdict = "regression" if failed else "pass"
    if first is not None:
        if failed:
            if first.regression:
                reasons.append(f"time {time_text(first)} also above +{first.fail:.0%}")
        else:
            verdict = _time_verdict(first, pooled, confirmation, stopped, reasons)
    return Row(
        key,
        kind,
        eq,
        counters,
        slopes,
        first,
        confirmation,
        verdict,
        tuple(reasons),
        pooled,
        stopped if verdict == "inconclusive" else None,
    )


def overall(rows: Sequence[Row]) -> RowVerdict:
    """The worst row verdict (``pass`` when there are no rows)."""
    if not rows:
        return "pass"
    rank = {v: i for i, v in enumerate(ROW_VERDICT_ORDER)}
    return min((r.verdict for r in rows), key=lambda v: rank[v])
