"""The gate's result as the renderers see it: typed, read from the gate document.

The gate writes one versioned document (``gate.json``, ``"kind": "gwbench-gate"``); its
renderers (:mod:`reports.gate_summary` for markdown and the console,
:mod:`reports.gate_html` for the page) take a :class:`GateView` built from that document
by :func:`from_document`, never the harness's own objects. Pure: nothing here reads files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist, quantiles
from typing import Any, cast

from gwbench.verdicts import Shown, Thresholds, describe_thresholds

KIND = "gwbench-gate"


@dataclass(frozen=True)
class TimeView:
    """One batch's (or the pooled) time statistic: ``exp`` of the median log-ratio."""

    rounds: int
    ratio: float
    low: float
    high: float
    verdict: str
    regression: bool
    confidence: float
    spread: float | None = None
    """Robust standard deviation of the rounds' log-ratios ``r_i`` (IQR / 1.349)."""

    def rounds_to_resolve(self, band: float) -> int | None:
        """About how many rounds would put the interval of the median inside ``±band``
        (relative), at this spread: ``(z * 1.253 * spread / ln(1 + band))^2``, 1.253 the
        median's standard error over the mean's."""
        if self.spread is None or self.spread <= 0.0 or band <= 0.0:
            return None
        z = NormalDist().inv_cdf(0.5 + self.confidence / 2.0)
        return math.ceil((z * 1.253 * self.spread / math.log1p(band)) ** 2)

    def text(self) -> str:
        return f"×{self.ratio:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class CounterView:
    name: str
    base: int | None
    head: int | None
    change: float | None
    """Relative change head/base - 1 (``inf``: from zero)."""
    limit: float | None
    failed: bool


@dataclass(frozen=True)
class SlopeView:
    counter: str
    base: float | None
    head: float | None
    delta: float | None
    limit: float
    checked: bool
    failed: bool


@dataclass(frozen=True)
class RowView:
    hotpath: str
    implementation: str
    kind: str
    size: int
    verdict: Shown | str
    reasons: tuple[str, ...]
    head_difference: str | None
    base_difference: str | None
    counters: tuple[CounterView, ...]
    slopes: tuple[SlopeView, ...]
    time: TimeView | None
    confirmation: TimeView | None
    pooled: TimeView | None
    stopped: str | None = None
    """The cap that ended the rounds of a row still inconclusive (``40 rounds``)."""

    def label(self) -> str:
        return f"{self.hotpath}/{self.implementation} N={self.size}"

    @property
    def changed_counters(self) -> tuple[CounterView, ...]:
        return tuple(c for c in self.counters if c.base != c.head)

    def worst_counter(self) -> CounterView | None:
        """The changed counter with the largest relative change (checked ones first)."""
        changed = [c for c in self.changed_counters if c.change is not None]
        if not changed:
            return None
        return max(changed, key=lambda c: (c.limit is not None, abs(c.change or 0.0)))

    def worst_slope(self) -> SlopeView | None:
        fitted = [s for s in self.slopes if s.delta is not None]
        if not fitted:
            return None
        return max(fitted, key=lambda s: (s.checked, abs(s.delta or 0.0)))

    @property
    def decisive_time(self) -> TimeView | None:
        """The statistic the verdict rests on: all the row's rounds, else the first look's."""
        return self.pooled or self.time


@dataclass(frozen=True)
class ProfileView:
    row: str
    page: str | None
    reason: str | None


@dataclass(frozen=True)
class GateView:
    verdict: str
    exit_code: int
    strict: bool
    base_commit: str
    base_named: str
    head_commit: str
    head_ref: str
    sizes: tuple[int, ...]
    sweep: tuple[int, ...]
    seed: int
    rounds: int
    confirm_rounds: int
    time_metric: str
    thresholds_source: str
    ladder: Thresholds
    counts: float | None
    bytes: float | None
    slope: float | None
    rows: tuple[RowView, ...]
    profiles: tuple[ProfileView, ...]
    notes: tuple[str, ...]
    wall_seconds: float
    max_rounds: int | None = None
    """Cap on a row's rounds (``None``: a document from before sequential rounds)."""
    max_seconds: float | None = None

    def describe_thresholds(self) -> str:
        """Every threshold the rows were judged by, in one sentence."""
        parts = [f"time: {describe_thresholds(self.ladder)}"]
        if self.counts is not None and self.bytes is not None:
            parts.append(
                f"counters: a rise above +{self.counts:.0%} (counts) or +{self.bytes:.0%} "
                "(bytes) fails"
            )
        if self.slope is not None:
            parts.append(f"exponents: a rise above +{self.slope:.2f} fails")
        return "; ".join(parts)

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rows if r.verdict == verdict)


def short(commit: str) -> str:
    return commit[:10]


def _num(x: Any) -> float | None:
    if x is None:
        return None
    if x == "inf":
        return math.inf
    if x == "-inf":
        return -math.inf
    return float(x)


def _time(d: Mapping[str, Any] | None) -> TimeView | None:
    if d is None:
        return None
    return TimeView(
        rounds=int(d["rounds"]),
        ratio=float(d["ratio"]),
        low=float(d["ratio_low"]),
        high=float(d["ratio_high"]),
        verdict=str(d["verdict"]),
        regression=bool(d.get("regression", d["verdict"] == "regression")),
        confidence=float(d.get("confidence", 0.99)),
        spread=_spread(d.get("round_log_ratios") or ()),
    )


def _spread(ratios: Sequence[float]) -> float | None:
    if len(ratios) < 4:
        return None
    q = quantiles([float(x) for x in ratios], n=4, method="inclusive")
    return (q[2] - q[0]) / 1.349


def _row(d: Mapping[str, Any]) -> RowView:
    eq = d.get("equivalence") or {}
    return RowView(
        hotpath=str(d["hotpath"]),
        implementation=str(d["implementation"]),
        kind=str(d.get("kind", "")),
        size=int(d["size"]),
        verdict=str(d["verdict"]),
        reasons=tuple(str(x) for x in d.get("reasons", ())),
        head_difference=eq.get("head_difference"),
        base_difference=eq.get("base_difference"),
        counters=tuple(
            CounterView(
                name=str(c["name"]),
                base=c.get("base"),
                head=c.get("head"),
                change=_num(c.get("change")),
                limit=_num(c.get("limit")),
                failed=bool(c.get("failed")),
            )
            for c in d.get("counters", ())
        ),
        slopes=tuple(
            SlopeView(
                counter=str(s["counter"]),
                base=_num(s.get("base_exponent")),
                head=_num(s.get("head_exponent")),
                delta=_num(s.get("delta")),
                limit=float(s["limit"]),
                checked=bool(s.get("checked")),
                failed=bool(s.get("failed")),
            )
            for s in d.get("scaling", ())
        ),
        time=_time(d.get("time")),
        confirmation=_time(d.get("confirmation")),
        pooled=_time(d.get("pooled")),
        stopped=d.get("stopped"),
    )


def _ladder(doc: Mapping[str, Any]) -> Thresholds:
    th = doc.get("thresholds")
    if th:
        return Thresholds(no_change=float(th["time_warn"]), fail=float(th["time_fail"]))
    for r in doc.get("rows", ()):
        t = r.get("time")
        if t:
            return Thresholds(no_change=float(t["warn"]), fail=float(t["fail"]))
    return Thresholds()


def from_document(doc: Mapping[str, Any]) -> GateView:
    """The view of a gate document (as written to ``gate.json``)."""
    if doc.get("kind") != KIND:
        raise ValueError(f"not a gate document (kind {doc.get('kind')!r})")
    s = doc["settings"]
    th = cast(Mapping[str, Any], doc.get("thresholds") or {})
    return GateView(
        verdict=str(doc["verdict"]),
        exit_code=int(doc["exit_code"]),
        strict=bool(doc.get("strict")),
        base_commit=str(doc["base"]["commit"]),
        base_named=str(doc["base"].get("named", doc["base"].get("ref", ""))),
        head_commit=str(doc["head"]["commit"]),
        head_ref=str(doc["head"].get("ref", "")),
        sizes=tuple(int(n) for n in s["sizes"]),
        sweep=tuple(int(n) for n in s["sweep"]),
        seed=int(s["seed"]),
        rounds=int(s["rounds"]),
        confirm_rounds=int(s["confirm_rounds"]),
        time_metric=str(s["time_metric"]),
        thresholds_source=str(s.get("thresholds", "")),
        ladder=_ladder(doc),
        counts=_num(th.get("counts")),
        bytes=_num(th.get("bytes")),
        slope=_num(th.get("slope")),
        rows=tuple(_row(r) for r in doc.get("rows", ())),
        profiles=tuple(
            ProfileView(str(p["row"]), p.get("page"), p.get("reason"))
            for p in doc.get("profiles", ())
        ),
        notes=tuple(str(n) for n in doc.get("notes", ())),
        wall_seconds=float(doc.get("wall_seconds", 0.0)),
        max_rounds=int(s["max_rounds"]) if "max_rounds" in s else None,
        max_seconds=float(s["max_seconds"]) if "max_seconds" in s else None,
    )
