"""`gwbench run --shard I/K`: the split of a plan into K parts, its syntax, and the shard
record in results.json."""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_fakes
import report_data

from gwbench.errors import InputError
from gwbench.harness import shard
from gwbench.harness.cli import main
from gwbench.harness.sources import SourceSpec, WorkloadProvider
from gwbench.results import Shard, dumps, from_json_dict, loads, to_json_dict

BUILTIN = ("gateway_lookup", "envoyfilter_patch", "filterchain_hash", "listener_update")
PLANS = (
    (*BUILTIN, "ingress_update"),
    ("gateway_lookup", "filterchain_hash"),
    ("plugin_a", "ingress_update", "plugin_b", "plugin_c", "gateway_lookup", "plugin_d"),
)


def _cases() -> list[tuple[tuple[str, ...], int]]:
    return [(names, k) for names in PLANS for k in range(1, len(names) + 1)]


@pytest.mark.parametrize(("names", "count"), _cases())
def test_every_hot_path_lands_in_exactly_one_non_empty_part(
    names: tuple[str, ...], count: int
) -> None:
    # GIVEN a plan WHEN it is split in K parts
    parts = shard.split(names, count)
    # THEN there are K parts, none empty, together holding each hot path exactly once
    assert len(parts) == count
    assert all(parts)
    flat = [n for p in parts for n in p]
    assert sorted(flat) == sorted(names)
    # AND each part keeps the plan's order
    for p in parts:
        assert list(p) == [n for n in names if n in p]


@pytest.mark.parametrize(("names", "count"), _cases())
def test_the_parts_are_balanced_by_cost(names: tuple[str, ...], count: int) -> None:
    # GIVEN a split (costliest first, each to the lightest part)
    loads = [sum(shard.weight(n) for n in p) for p in shard.split(names, count)]
    # THEN no part outweighs another by more than the costliest single hot path
    assert max(loads) - min(loads) <= max(shard.weight(n) for n in names) + 1e-9


def test_the_costliest_hot_paths_go_to_different_runners() -> None:
    parts = shard.split(PLANS[0], 2)
    assert parts[0] == ("ingress_update",)
    three = shard.split(PLANS[0], 3)
    assert ("ingress_update",) in three and ("listener_update",) in three


def test_the_split_is_deterministic_whatever_the_process() -> None:
    # GIVEN the same plan WHEN split again, with the weights given in another order
    reordered = dict(reversed(list(shard.COST_WEIGHTS.items())))
    for names, count in _cases():
        first = shard.split(names, count)
        # THEN the same parts come out
        assert shard.split(list(names), count) == first
        assert shard.split(names, count, reordered) == first


def test_equal_weights_split_in_plan_order() -> None:
    names = ("a", "b", "c", "d", "e")
    assert shard.split(names, 2, {}) == (("a", "c", "e"), ("b", "d"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1/2", (1, 2)), ("2/2", (2, 2)), (" 3 / 5 ", (3, 5)), ("1/1", (1, 1))],
)
def test_shard_syntax(text: str, expected: tuple[int, int]) -> None:
    spec = shard.parse(text)
    assert (spec.index, spec.count) == expected and spec.label == f"{expected[0]}/{expected[1]}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0/2", "I must be between 1 and K=2"),
        ("3/2", "I must be between 1 and K=2"),
        ("1/0", "K must be at least 1"),
        ("a/b", "is not I/K"),
        ("1", "is not I/K"),
        ("1/2/3", "is not I/K"),
        ("-1/2", "is not I/K"),
        ("1.5/2", "is not I/K"),
        ("", "is not I/K"),
    ],
)
def test_bad_shard_syntax_is_an_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        shard.parse(text)
    assert info.value.field == "--shard"


@pytest.fixture()
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    harness_fakes.install(monkeypatch)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "0/2"], "field --shard: '0/2': I must be between 1 and K=2"),
        (["--shard", "3/2"], "field --shard: '3/2': I must be between 1 and K=2"),
        (["--shard", "a/b"], "field --shard: 'a/b' is not I/K"),
        (["--shard", "1/3"], "3 parts of 2 hot path(s): a hot path is never split"),
    ],
)
def test_run_refuses_a_bad_shard_with_exit_2(
    fakes: None, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    # GIVEN a run of two toy hot paths WHEN --shard is wrong
    with pytest.raises(SystemExit) as info:
        main(["run", "-n", "10", "--hotpath", "fake_search", "--hotpath", "fake_pickled", *args])
    out, err = capsys.readouterr()
    # THEN it exits 2 with one line naming the option, before anything runs
    assert info.value.code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_select_records_the_whole_plan_and_only_shard_1_measures_envoy(
    fakes: None, tmp_path: Path
) -> None:
    from gwbench.harness.selection import select_hotpaths

    hotpaths = select_hotpaths(["fake_search", "fake_pickled"])
    provider = WorkloadProvider(SourceSpec("generated"))
    mine, record = shard.select(shard.parse("2/2"), hotpaths, provider)
    assert [hp.name for hp in mine] == ["fake_pickled"]
    assert record == Shard(2, 2, ("fake_search", "fake_pickled"), None)
    assert not shard.measures_envoy(record)
    assert shard.measures_envoy(Shard(1, 2, ("a", "b")))
    assert shard.measures_envoy(None)
    everything, none = shard.select(None, hotpaths, provider)
    assert everything == hotpaths and none is None


def test_source_digest_is_the_manifest_file_sha256(tmp_path: Path) -> None:
    manifest = tmp_path / "ingresses.yaml"
    manifest.write_bytes(b"apiVersion: v1\nkind: List\nitems: []\n")
    provider = WorkloadProvider(SourceSpec("file", path=str(manifest)))
    assert shard.source_digest(provider) == hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert shard.source_digest(WorkloadProvider(SourceSpec("generated"))) is None


def test_the_shard_record_round_trips_and_older_files_still_load() -> None:
    # GIVEN results of a shard
    base = report_data.results()
    record = Shard(1, 2, ("gateway_lookup", "ingress_update"), "ab" * 32)
    sharded = replace(base, run=replace(base.run, shard=record, merged_from=(record,)))
    # THEN the record survives JSON
    again = loads(dumps(sharded))
    assert again.run.shard == record and again.run.merged_from == (record,)
    # AND a file written before these fields existed loads, with none set
    data = to_json_dict(base)
    for key in ("shard", "merged_from"):
        del data["run"][key]
    old = from_json_dict(data)
    assert old.run.shard is None and old.run.merged_from == ()


def test_weights_cover_every_builtin_hot_path() -> None:
    from gwbench.harness import registry

    names = {hp.name for hp in registry.all_hotpaths()}
    assert set(shard.COST_WEIGHTS) == names
    assert all(w > 0 for w in shard.COST_WEIGHTS.values())
    assert list(itertools.chain(*shard.split(sorted(names), 1))) == sorted(names)
