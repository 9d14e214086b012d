"""gwbench.results: round trip, version refusal and migration, atomic writes, and the
written description of the format."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import jsonschema
import pytest

from gwbench import results as r
from gwbench.errors import EXIT_USAGE, InputError

DOCS = Path(__file__).resolve().parent.parent / "docs" / "results-schema.md"


def make_results(status: r.RunState = "complete") -> r.Results:
    """A small but complete results document, fabricated (no benchmark runs)."""
    timing = r.Timing.of(
        (0.012, 0.011, 0.013),
        processes=1,
        values_per_process=3,
        warmups=0,
        loops=1,
        reduced=True,
        pyperf_json="pyperf/gateway_lookup/baseline-N2000.json",
        wall_seconds=1.5,
    )
    fast = dataclasses.replace(timing, values=(1e-4, 1.1e-4, 0.9e-4), median=1e-4, reduced=False)
    base = r.ImplementationResult(
        name="baseline",
        kind="baseline",
        module="gwbench.baselines.gateway_lookup",
        points=(
            r.Point(1000, {"name_comparisons": 10**6}, 0.003, 0.2, None, error="worker died"),
            r.Point(2000, {"name_comparisons": 4 * 10**6}, 0.012, 0.4, timing),
        ),
        profile=r.Profile(2000, None, None, None, 0, 0.0, missing_reason="py-spy not found"),
        memory=r.Memory(1000, 123456, 789, note="measured at N=1000: budget"),
        scaling=(
            r.ScalingFit("time", None, None, None, (2000,), "fewer than 2 distinct sizes"),
            r.ScalingFit("counter:name_comparisons", 2.0, -0.1, 1.0, (1000, 2000)),
        ),
    )
    opt = r.ImplementationResult(
        name="optimized",
        kind="optimized",
        module="gwbench.optimized.gateway_lookup",
        points=(r.Point(2000, {"lookups": 4000}, 1e-4, 0.4, fast),),
        profile=r.Profile(
            2000,
            "profiles/gateway_lookup/optimized-N2000.svg",
            "profiles/gateway_lookup/optimized-N2000.speedscope.json",
            "profiles/gateway_lookup/optimized-N2000.folded",
            250,
            2.5,
        ),
    )
    return r.Results(
        schema_version=r.SCHEMA_VERSION,
        gwbench_version="0.1.0",
        environment=r.Environment(
            cpu_model="AMD EPYC",
            cpu_count=2,
            usable_cpus=2,
            memory_total_bytes=None,
            platform="Linux",
            python_version="3.11.7",
            python_implementation="CPython",
            protobuf_backend="upb",
            packages={"pyperf": "2.11.0", "gwbench": "0.1.0"},
            git_commit=None,
            git_dirty=None,
            command_line=("gwbench", "run", "--ingresses", "2000"),
        ),
        workload=r.WorkloadInfo(
            source="generated",
            ingresses=2000,
            sizes=(1000, 2000),
            seed=42,
            custom_domain_share=0.05,
            domain="cloud.example.com",
            available_ingresses=None,
            sampling=None,
        ),
        run=r.RunInfo(
            mode="quick",
            status=status,
            reason=None if status == "complete" else "interrupted (Ctrl-C)",
            started_at="2026-01-01T00:00:00Z",
            finished_at=None,
            wall_seconds=12.5,
            budget_seconds=210.0,
            profile=True,
            memory=True,
            envoy=False,
            hotpaths=("gateway_lookup",),
            peak_rss_bytes=10**8,
            children_peak_rss_bytes=None,
            warnings=("the time budget of 3 min 30 s cannot be kept",),
        ),
        hotpaths=(
            r.HotPathResult(
                name="gateway_lookup",
                title="Gateway lookup",
                models="GetGatewayByName",
                counters=("name_comparisons", "lookups"),
                equivalence_sizes=(1000, 2000),
                implementations=(base, opt),
                speedups=(
                    r.Speedup("optimized", "baseline", 2000, 120.0, 100.0, 130.0, 0.95, 2000, 17),
                ),
            ),
        ),
        envoy=({"shape": "per-host", "activation_seconds": 0.2, "hosts": [1, 2]},),
    )


def test_round_trip_preserves_every_value(tmp_path: Path) -> None:
    # GIVEN fabricated results WHEN written and read back THEN they are equal
    original = make_results()
    path = r.write_results(original, tmp_path / "results.json")
    loaded = r.load_results(path)
    assert loaded == original
    assert r.dumps(loaded) == r.dumps(original)
    assert json.loads(path.read_text())["schema_version"] == r.SCHEMA_VERSION


def test_fields_added_since_version_1_may_be_absent() -> None:
    # GIVEN results written before run.warnings and Profile.source/calls existed
    data = r.to_json_dict(make_results())
    del data["run"]["warnings"]
    for hp in data["hotpaths"]:
        for impl in hp["implementations"]:
            if impl["profile"] is not None:
                del impl["profile"]["source"], impl["profile"]["calls"]
    # WHEN loaded THEN they take their defaults
    loaded = r.from_json_dict(data)
    assert loaded.run.warnings == ()
    profiles = [i.profile for h in loaded.hotpaths for i in h.implementations if i.profile]
    assert profiles and all(p.source is None and p.calls is None for p in profiles)


def test_lookup_helpers() -> None:
    res = make_results()
    hp = res.hotpath("gateway_lookup")
    assert hp is not None and hp.baseline is not None and hp.baseline.name == "baseline"
    opt = hp.implementation("optimized")
    assert opt is not None and opt.point(2000) is not None and opt.point(5) is None
    assert hp.speedup("optimized", 2000) is not None
    assert hp.baseline.fit("counter:name_comparisons") is not None
    assert res.hotpath("nope") is None


@pytest.mark.parametrize("version", [0, r.SCHEMA_VERSION + 1, 99])
def test_unknown_versions_are_refused_naming_both_versions(tmp_path: Path, version: int) -> None:
    data = r.to_json_dict(make_results())
    data["schema_version"] = version
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        r.load_results(path)
    message = str(info.value)
    assert f"version {version}" in message
    assert f"version {r.SCHEMA_VERSION}" in message
    assert str(path) in message
    assert info.value.exit_code == EXIT_USAGE


def test_old_versions_go_through_the_migration_map(monkeypatch: pytest.MonkeyPatch) -> None:
    data = r.to_json_dict(make_results())
    data["schema_version"] = 0
    data["old_name"] = data.pop("gwbench_version")

    def from_0(old: dict[str, object]) -> dict[str, object]:
        new = dict(old)
        new["gwbench_version"] = new.pop("old_name")
        new["schema_version"] = 1
        return new

    monkeypatch.setitem(r.MIGRATIONS, 0, from_0)
    assert r.from_json_dict(data) == make_results()


def test_not_a_results_file_and_bad_fields_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no schema_version"):
        r.loads('{"hello": 1}')
    with pytest.raises(InputError, match="not a JSON document"):
        r.loads("{")
    with pytest.raises(InputError, match="cannot read"):
        r.load_results(tmp_path / "missing.json")
    data = r.to_json_dict(make_results())
    data["hotpaths"][0]["implementations"][0]["points"][1]["size"] = "big"
    with pytest.raises(InputError) as info:
        r.from_json_dict(data)
    assert "hotpaths[0].implementations[0].points[1].size" in str(info.value)
    data = r.to_json_dict(make_results())
    del data["run"]["mode"]
    with pytest.raises(InputError, match=r"run\.mode.*missing"):
        r.from_json_dict(data)
    data = r.to_json_dict(make_results())
    data["run"]["status"] = "done"
    with pytest.raises(InputError, match="not one of"):
        r.from_json_dict(data)


@pytest.mark.parametrize(
    ("where", "value", "field", "words"),
    [
        (("run", "wall_seconds"), True, "run.wall_seconds", "expected a number, got a boolean"),
        (("workload", "sizes"), "1,2", "workload.sizes", "expected a list"),
        (("environment", "git_dirty"), 1, "environment.git_dirty", "expected true or false"),
        (("environment", "packages"), [], "environment.packages", "expected an object"),
        (("workload", "seed"), 1.5, "workload.seed", "expected an integer"),
    ],
)
def test_strict_validation_names_the_file_and_the_field(
    where: tuple[str, str], value: object, field: str, words: str
) -> None:
    # GIVEN a results file with one field of the wrong type
    data = r.to_json_dict(make_results())
    data[where[0]][where[1]] = value
    # WHEN read THEN an input error (exit 2) names the file, the field and what is wrong
    with pytest.raises(InputError) as info:
        r.loads(json.dumps(data), source="out/results.json")
    assert info.value.exit_code == EXIT_USAGE
    assert str(info.value).startswith(f"out/results.json, field {field}: {words}")


def test_unknown_keys_are_ignored_so_newer_optional_fields_stay_readable() -> None:
    data = r.to_json_dict(make_results())
    data["added_later"] = {"x": 1}
    data["run"]["also_new"] = 2
    assert r.from_json_dict(data) == make_results()


def test_the_published_json_schema_is_current() -> None:
    # GIVEN the JSON Schema committed beside docs/results-schema.md
    committed = Path(__file__).resolve().parent.parent / "docs" / "results.schema.json"
    # WHEN generated again from gwbench/results.py THEN it is the same (else: regenerate
    # with `python -m gwbench.results > docs/results.schema.json`)
    current = json.dumps(r.json_schema(), indent=2, ensure_ascii=False) + "\n"
    assert committed.read_text(encoding="utf-8") == current, (
        "docs/results.schema.json is stale: python -m gwbench.results > docs/results.schema.json"
    )


def test_the_json_schema_describes_what_gwbench_writes() -> None:
    # GIVEN the schema and a results file written by this version
    schema = r.json_schema()
    data = r.to_json_dict(make_results())
    # THEN every top-level key written is a property, the required ones are there, and
    # field docstrings became descriptions
    assert set(data) <= set(schema["properties"])
    assert set(schema["required"]) <= set(data)
    timing = schema["$defs"]["Timing"]["properties"]
    assert "warmups excluded" in timing["values"]["description"]
    # AND a JSON Schema validator of its own accepts the file and refuses a bad field
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(data)
    data["run"]["mode"] = "fast"
    assert [e.json_path for e in validator.iter_errors(data)] == ["$.run.mode"]


def test_nan_never_reaches_the_file() -> None:
    res = make_results()
    bad = dataclasses.replace(res, run=dataclasses.replace(res.run, wall_seconds=float("nan")))
    with pytest.raises(ValueError):
        r.dumps(bad)


def _all_fields() -> set[str]:
    names: set[str] = set()
    for cls in (
        r.Results,
        r.Environment,
        r.WorkloadInfo,
        r.RunInfo,
        r.HotPathResult,
        r.ImplementationResult,
        r.Point,
        r.Timing,
        r.Profile,
        r.Memory,
        r.ScalingFit,
        r.Speedup,
    ):
        names |= {f.name for f in dataclasses.fields(cls)}
    return names


def test_the_written_description_names_every_field() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", text))
    missing = sorted(_all_fields() - documented)
    assert not missing, f"docs/results-schema.md does not describe: {missing}"
    assert f"schema_version` | {r.SCHEMA_VERSION}" in text or f"version {r.SCHEMA_VERSION}" in text
