"""The gate's machine-readable output: ``gate.json`` and ``gwbench gate --json``.

This document is also what the gate's renderers read (:mod:`reports.gate_view`,
:mod:`reports.gate_summary`, :mod:`reports.gate_html`): they never see the harness's
objects, so a stored ``gate.json`` renders the same summary as the run that wrote it.

A versioned document (``"kind": "gwbench-gate"``, ``schema_version``) with the overall
verdict and exit code, both sides (ref, commit, where their ``harness`` was imported
from, workload digests), the settings (sizes, sweep, seed, rounds, the timing plan), and
per row every counter, every fitted exponent, the equivalence result and each batch's
time statistic (log-ratio estimate and interval, the same as ratios, verdict, bootstrap
seed, and the per-round log-ratios it was computed from) with the reasons.
"""

from __future__ import annotations

import json
import math
from typing import Any

from gwbench.harness.gate.checks import Row, TimeCheck
from gwbench.harness.gate.engine import GateOutcome, SideInfo
from gwbench.harness.gate.profiles import RowProfiles, diff_page
from gwbench.harness.gate.thresholds import Thresholds

KIND = "gwbench-gate"
SCHEMA_VERSION = 1
"""Additions since version 1 are optional keys: ``thresholds``, ``profiles``, the settings
``step_rounds``, ``max_rounds`` and ``max_seconds``, each batch's
``round_cpu_log_ratios`` and ``round_wall_log_ratios``, and per row ``pooled`` (all the row's
rounds, when it got more than the first look's), ``stopped`` (the cap that ended the
rounds of a row still inconclusive) and each batch's ``regression``."""


def _num(x: float | None) -> float | str | None:
    if x is None:
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _attrs(obj: object, *names: str, **renamed: str) -> dict[str, Any]:
    """``obj``'s attributes ``names`` under their own names, then ``renamed`` (JSON key:
    attribute)."""
    return {n: getattr(obj, n) for n in names} | {k: getattr(obj, a) for k, a in renamed.items()}


def _time(check: TimeCheck | None) -> dict[str, Any] | None:
    if check is None:
        return None
    return _attrs(
        check,
        *("rounds", "ratio", "ratio_low", "ratio_high", "confidence", "resamples", "seed"),
        *("verdict", "regression", "fail", "warn"),
        log_ratio="estimate",
        log_low="low",
        log_high="high",
        cpu_log_ratio="cpu_estimate",
        base_median_seconds="base_median",
        head_median_seconds="head_median",
    ) | {
        "round_log_ratios": list(check.log_ratios),
        "round_cpu_log_ratios": list(check.cpu_log_ratios),
        "round_wall_log_ratios": list(check.wall_log_ratios),
    }


def _row(row: Row) -> dict[str, Any]:
    return {
        "hotpath": row.key.hotpath,
        "implementation": row.key.implementation,
        "kind": row.kind,
        "size": row.key.size,
        "verdict": row.verdict,
        "reasons": list(row.reasons),
        "equivalence": {
            "base_difference": row.equivalence.base_difference,
            "head_difference": row.equivalence.head_difference,
            "failed": row.equivalence.failed,
        },
        "counters": [
            {
                "name": c.name,
                "base": c.base,
                "head": c.head,
                "change": _num(c.change),
                "limit": c.limit,
                "failed": c.failed,
            }
            for c in row.counters
        ],
        "scaling": [
            {
                "counter": s.counter,
                "base_exponent": s.base,
                "head_exponent": s.head,
                "delta": s.delta,
                "limit": s.limit,
                "checked": s.checked,
                "failed": s.failed,
                "reason": s.reason,
            }
            for s in row.slopes
        ],
        "time": _time(row.time),
        "confirmation": _time(row.confirmation),
        "pooled": _time(row.pooled),
        "stopped": row.stopped,
    }


def _side(side: SideInfo) -> dict[str, Any]:
    return {
        "ref": side.ref,
        "commit": side.commit,
        "harness_file": side.harness_file,
        "workload_digests": {str(n): d for n, d in sorted(side.workload_digests.items())},
    }


def _thresholds(th: Thresholds | None) -> dict[str, Any] | None:
    if th is None:
        return None
    return _attrs(th, "source", "counts", "bytes", "slope", "time_fail", "time_warn")


def _profile(p: RowProfiles) -> dict[str, Any]:
    complete = p.base.folded is not None and p.head.folded is not None
    return {
        "row": p.key.label(),
        "page": diff_page(p.key) if complete else None,
        "reason": None
        if complete
        else (p.base.missing_reason or p.head.missing_reason or "no samples"),
    }


def to_json_dict(outcome: GateOutcome) -> dict[str, Any]:
    s = outcome.settings
    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "verdict": outcome.verdict,
        "exit_code": outcome.exit_code,
        "strict": outcome.strict,
        "base": {**_side(outcome.base), "named": outcome.base_ref_named},
        "head": _side(outcome.head),
        "settings": {
            "sizes": list(s.sizes),
            "sweep": list(s.sweep),
            "seed": s.seed,
            "custom_domain_share": s.custom_domain_share,
            "rounds": s.rounds,
            "confirm_rounds": s.confirm_rounds,
            "step_rounds": s.step_rounds,
            "max_rounds": s.max_rounds,
            "max_seconds": s.max_seconds,
            "time_metric": s.time_metric,
            "thresholds": s.thresholds_source,
            "hotpaths": list(s.hotpaths),
            "plan": [e.payload() for e in s.plan],
        },
        "thresholds": _thresholds(outcome.thresholds),
        "rows": [_row(r) for r in outcome.rows],
        "profiles": [_profile(p) for p in outcome.profiles],
        "notes": list(outcome.notes),
        "wall_seconds": outcome.wall_seconds,
    }


def dumps(outcome: GateOutcome) -> str:
    return json.dumps(to_json_dict(outcome), indent=1, allow_nan=False) + "\n"
