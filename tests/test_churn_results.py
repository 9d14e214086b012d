"""GIVEN results files of schema version 1 and churn runs WHEN they are read or written THEN
version 1 migrates to 2 (no churn measured), and a churn run survives the round trip with
every activation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gwbench import results as r
from gwbench.harness.churn.summary import ChangeRecord, ChurnResult, PushRecord, results_record
from gwbench.harness.commands.merge import load_shards, merge
from tests.test_merge import write_shards
from tests.test_results_schema import make_results


def fabricated_result() -> ChurnResult:
    changes = (
        ChangeRecord(0, "add", "", 0.5, 0, 0.2, 0.3),
        ChangeRecord(1, "delete", "ns/a", 1.0, 1, 0.1, 0.15),
        ChangeRecord(2, "add-custom", "", 1.5, 1, 0.1, None),
        ChangeRecord(3, "rotate-certificate", "ns/s", 2.0, 2, 0.2, 0.9),
    )
    pushes = tuple(PushRecord(i, 1, float(i), 0.05, 0.04, 1, 100, 1000) for i in range(3))
    return ChurnResult(
        impl="incremental",
        shape="per-host",
        ingresses=100,
        rate_per_min=60.0,
        duration_s=3.0,
        seed=1,
        mode="live",
        transport="delta",
        changes=changes,
        pushes=pushes,
        disruption_requests=50,
        bytes_sent=4096,
    )


def test_a_version_1_file_migrates_to_version_2_without_churn(tmp_path: Path) -> None:
    data = r.to_json_dict(make_results())
    data["schema_version"] = 1
    del data["churn"]
    del data["run"]["churn"]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    loaded = r.load_results(path)
    assert r.SCHEMA_VERSION == 2
    assert loaded.schema_version == 2
    assert loaded.churn is None and loaded.run.churn is False


def test_a_churn_run_round_trips_with_its_activations() -> None:
    record = results_record(fabricated_result())
    # only the activating changes that were seen: the add and the rotation
    assert [(a.kind, a.at_s, a.latency_s) for a in record.activations] == [
        ("add", 0.5, 0.3),
        ("rotate-certificate", 2.0, 0.9),
    ]
    assert record.not_seen == 1 and record.bytes_sent == 4096 and record.transport == "delta"
    results = r.Results(**{**make_results().__dict__, "churn": (record,)})
    assert r.loads(r.dumps(results)) == results


def test_merge_carries_the_churn_of_the_shard_that_measured_it(tmp_path: Path) -> None:
    # GIVEN two shards of one plan, the first (the one measuring Envoy) with a churn run
    record = results_record(fabricated_result())

    def with_churn(index: int, results: r.Results) -> r.Results:
        if index != 1:
            return results
        return replace(results, churn=(record,), run=replace(results.run, churn=True))

    dirs = write_shards(tmp_path, change=with_churn)
    # WHEN they are merged THEN the merged results hold that churn run
    merged = merge(load_shards(dirs)).results
    assert merged.churn == (record,)
    assert merged.run.churn is True
