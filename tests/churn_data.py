"""Fabricated churn documents for the tests that read one (a cost model, ``--simulate``)."""

from __future__ import annotations

import json
from pathlib import Path

from gwbench.harness.churn.summary import ChangeRecord, ChurnResult, PushRecord, document


def live_churn_file(
    path: Path, *runs: tuple[str, ChangeRecord, PushRecord, tuple[float, ...]]
) -> Path:
    """A churn document at ``path`` of live runs (per-host, 4,000 Ingresses, a minute at 60
    changes a minute, seed 1, over files), one per (implementation, its one change, its
    one push, Envoy's update seconds)."""
    results = [
        ChurnResult(
            impl,
            "per-host",
            4000,
            60.0,
            60.0,
            1,
            "live",
            "files",
            (change,),
            (push,),
            envoy_updates_s=updates,
        )
        for impl, change, push, updates in runs
    ]
    path.write_text(json.dumps(document(results)))
    return path
