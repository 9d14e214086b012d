"""The models held against the real Envoy: fitting, ordering and the report's table.

GIVEN fabricated envoy records (model time and Envoy CPU per activation following known
power laws) WHEN they are compared THEN both exponents are the fitted ones, the difference
is checked against the tolerance, and the ordering of shapes is checked at every N; the
renderers show exactly that. No Envoy runs here (tests/test_envoy_real.py runs one)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from gwbench.errors import InputError
from gwbench.harness.commands.run import parse_envoy_sizes
from gwbench.harness.envoy import model_check
from gwbench.reports.html import render_html
from gwbench.reports.markdown import render_markdown
from gwbench.reports.model_check import markdown_lines, section
from gwbench.results import from_json_dict, to_json_dict
from tests.report_data import results

SIZES = (1000, 5000, 20000)
# (model scale, model exponent, Envoy scale, Envoy exponent) per shape
LAWS = {
    "per-host": (1e-3, 1.0, 5e-4, 1.0),
    "consolidated": (5e-5, 1.0, 8e-5, 0.95),
    "wildcard": (4e-6, 1.1, 2e-5, 0.7),
}


def record(shape: str, n: int, transport: str = "sotw", **changes: Any) -> dict[str, Any]:
    a, b, c, d = LAWS[shape]
    data: dict[str, Any] = {
        "ingresses": n,
        "shape": shape,
        "transport": transport,
        "model": "m-" + shape,
        "model_update_s": a * n**b,
        "activation_cpu_s": c * n**d,
        "envoy_version": "1.40.0",
    }
    data.update(changes)
    return data


def records() -> list[dict[str, Any]]:
    return [record(shape, n) for shape in LAWS for n in SIZES]


def test_both_exponents_are_fitted_and_the_difference_checked() -> None:
    check = model_check.compare(records())
    assert check is not None
    by_shape = {s.shape: s for s in check.shapes}
    assert [s.shape for s in check.shapes] == ["per-host", "consolidated", "wildcard"]
    consolidated = by_shape["consolidated"]
    assert consolidated.model_exponent == pytest.approx(1.0)
    assert consolidated.envoy_exponent == pytest.approx(0.95)
    assert consolidated.difference == pytest.approx(0.05)
    assert consolidated.within is True
    wildcard = by_shape["wildcard"]
    assert wildcard.difference == pytest.approx(0.4)
    assert wildcard.within is False
    assert check.envoy_version == "1.40.0"
    assert check.model_ordered is True and check.envoy_ordered is True


def test_the_ordering_fails_when_one_n_breaks_it() -> None:
    # GIVEN Envoy's wildcard activation above consolidated at 5,000
    data = [r for r in records() if not (r["shape"] == "wildcard" and r["ingresses"] == 5000)]
    data.append(record("wildcard", 5000, activation_cpu_s=1.0))
    check = model_check.compare(data)
    assert check is not None
    assert check.envoy_ordered is False
    assert check.model_ordered is True


def test_sotw_is_preferred_and_unmodelled_records_are_left_out() -> None:
    data = records()
    data.append(record("per-host", 1000, transport="files", activation_cpu_s=99.0))
    data.append({"ingresses": 1000, "shape": "scoped", "activation_cpu_s": 0.001})
    data.append(record("per-host", 2000, model_update_s=None))
    check = model_check.compare(data)
    assert check is not None
    per_host = check.shapes[0]
    assert per_host.sizes == SIZES
    assert per_host.envoy_cpu_s[0] == pytest.approx(0.5)


def test_one_size_gives_no_exponent_and_says_why() -> None:
    check = model_check.compare([record(shape, 1000) for shape in LAWS])
    assert check is not None
    assert all(s.model_exponent is None and s.within is None for s in check.shapes)
    assert all(s.reason == "fewer than 2 distinct sizes" for s in check.shapes)
    assert check.model_ordered is True
    assert model_check.compare([{"ingresses": 1, "shape": "per-host"}]) is None


def test_the_markdown_table_shows_times_exponents_and_verdicts() -> None:
    check = model_check.compare(records())
    assert check is not None
    lines = markdown_lines(check)
    assert lines[0].startswith("| shape | model | model 1,000 | model 5,000 | model 20,000 |")
    assert "| Envoy CPU 20,000 |" in lines[0] and lines[0].endswith("| within ±0.15 |")
    wildcard = next(line for line in lines if line.startswith("| wildcard"))
    assert "| 1.10 | 0.70 | +0.40 | no |" in wildcard
    assert "- model: per-host > consolidated > wildcard at every N: yes" in lines
    assert lines[-1].endswith("not met")
    met = dataclasses.replace(
        check, shapes=tuple(dataclasses.replace(s, within=True) for s in check.shapes)
    )
    assert section(met).met is True


def test_the_report_shows_the_section_and_results_keep_it() -> None:
    check = model_check.compare(records())
    data = dataclasses.replace(results(), envoy_model=check)
    # THEN the field survives the JSON round trip
    assert from_json_dict(to_json_dict(data)).envoy_model == check
    html = render_html(data)
    assert 'id="envoy-model"' in html and 'href="#envoy-model"' in html
    part = html[html.index('id="envoy-model"') :]
    assert "goal not met" in part and "+0.40" in part
    assert 'id="envoy-model"' not in render_html(results())
    markdown = render_markdown(data)
    assert "#### Models held against the real Envoy" in markdown
    assert "| wildcard | m-wildcard |" in markdown


def test_envoy_sizes_are_parsed_or_refused_naming_the_option() -> None:
    assert parse_envoy_sizes("20000, 1000,5_000", True) == (1000, 5000, 20000)
    assert parse_envoy_sizes(None, False) == ()
    for text, envoy in (("1000", False), ("x", True), ("0", True), (",", True)):
        with pytest.raises(InputError) as caught:
            parse_envoy_sizes(text, envoy)
        assert "--envoy-sizes" in str(caught.value)


@pytest.mark.parametrize(
    ("shape", "model", "counter"),
    [
        ("per-host", model_check.LDS_MODEL, "chains_built"),
        ("consolidated", model_check.LDS_MODEL, "chains_built"),
        ("wildcard", model_check.RDS_MODEL, "virtual_hosts_built"),
    ],
)
def test_the_model_replays_the_plans_activations(shape: str, model: str, counter: str) -> None:
    from gwbench.harness.envoy.plan import plan_case
    from gwbench.workloads.generate import generate
    from gwbench.workloads.model import WorkloadSpec

    plan = plan_case(generate(WorkloadSpec(40, seed=3)), shape, repeat=2, seed=3)  # type: ignore[arg-type]
    ticks = iter(float(i) for i in range(100))
    timing = model_check.model_case(plan, clock=lambda: next(ticks))
    assert timing is not None and timing.model == model
    assert timing.samples_s == (1.0, 1.0)  # one clock step per activation, two activations
    if shape == "wildcard":
        vhosts = len(next(iter(plan.rds_routes.values())).virtual_hosts)
        assert timing.counters[counter] == vhosts + 2  # the whole table, both new hosts in it
    else:
        # per-host: the new chain is built; consolidated: the changed shared chain is rebuilt
        assert timing.counters[counter] == 1
        assert timing.counters["chains_reused"] == plan.filter_chains + (
            1 if shape == "per-host" else -1
        )
    scoped = plan_case(generate(WorkloadSpec(40, seed=3)), "scoped", repeat=1, seed=3)
    assert model_check.model_case(scoped) is None
