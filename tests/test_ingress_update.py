"""GIVEN N generated Ingresses and one change WHEN the change is pushed end to end by the
baseline and by the optimized pipeline THEN both send the same listener and Envoy does the
same with it, while the optimized push does far less work."""

from __future__ import annotations

from typing import Any

import pytest

from gwbench.harness.hotpaths import ingress_update as hp_module
from gwbench.harness.registry import get
from gwbench.workloads.counters import Counters
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec
from gwbench.workloads.push import STAGES, PushResult

HOTPATH = get("ingress_update")


def _run(setup: Any) -> dict[str, tuple[PushResult, Counters]]:
    """Each implementation's push of ``setup`` (one scenario) and its counters."""
    out = {}
    for impl in HOTPATH.implementations:
        inputs = hp_module.prepare(hp_module.specialize(setup, impl.name))
        counters = Counters()
        func = impl.func.__wrapped__  # type: ignore[attr-defined]  # one scenario's
        out[impl.name] = (func(inputs, counters), counters)
    return out


@pytest.mark.parametrize(("n", "seed"), [(60, 1), (240, 7)])
def test_adding_one_ingress_is_equivalent_and_in_place(n: int, seed: int) -> None:
    setup = hp_module.make_inputs(generate(WorkloadSpec(n, seed)))
    results = _run(setup)
    base, opt = results["baseline"][0], results["optimized"][0]
    assert hp_module.compare(base, opt) is None
    assert base.update.decision == "in-place"
    assert len(base.update.rebuilt) == 1
    assert [name for name, _ in base.stage_seconds] == list(STAGES)


@pytest.mark.parametrize("change", hp_module.CHANGES[1:])
def test_other_changes_are_equivalent(change: str) -> None:
    setup = hp_module.make_setup(generate(WorkloadSpec(120, 3)), change)
    results = _run(setup)
    base, opt = results["baseline"][0], results["optimized"][0]
    assert hp_module.compare(base, opt) is None
    assert base.update.decision in ("in-place", "no-op")


def test_the_registered_check_runs_every_change_as_a_side_scenario() -> None:
    """GIVEN the registered hot path WHEN its inputs are built THEN the main push adds one
    Ingress at N and every other change runs on a small slice, each compared."""
    inputs = HOTPATH.make_inputs(generate(WorkloadSpec(60, 3)))
    assert [name for name, _ in inputs.side] == list(hp_module.CHANGES[1:])
    results = {}
    for impl in HOTPATH.implementations:
        arg = HOTPATH.prepare(HOTPATH.inputs_for(inputs, impl.name))  # type: ignore[misc]
        results[impl.name] = impl.func(arg, Counters())
    assert HOTPATH.compare(results["baseline"], results["optimized"]) is None
    decisions = {name: r.update.decision for name, r in results["baseline"].side}
    assert decisions["change-http-filter"] == "in-place"
    assert decisions["change-path"] == "no-op"


def test_counters_show_where_the_work_went() -> None:
    setup = hp_module.make_inputs(generate(WorkloadSpec(200, 2)))
    results = _run(setup)
    base, opt = results["baseline"][1], results["optimized"][1]
    # O(S*G) against O(S+G) lookups
    assert base.get("gateway_lookup.name_comparisons") > 20 * opt.get(
        "gateway_lookup.name_comparisons"
    )
    # decode once, encode once
    assert base.get("envoyfilter_patch.any_decodes") > opt.get("envoyfilter_patch.any_decodes")
    # TextFormat hashing with deep compares against one cached hash of the listener
    assert base.get("listener_update.deep_compares") > 0
    assert opt.get("listener_update.deep_compares") == 0
    assert opt.get("listener_update.chain_hashes") <= 3 * 201
    assert base.get("listener_update.chain_hashes") > 4 * 200


def test_a_broken_optimized_stage_is_caught() -> None:
    setup = hp_module.make_inputs(generate(WorkloadSpec(80, 4)))
    results = _run(setup)
    good = results["optimized"][0]
    # the same push with one byte of the pushed listener changed
    broken = PushResult(good.listener[:-1] + b"\x00", good.applied, good.update, ())
    difference = hp_module.compare(results["baseline"][0], broken)
    assert difference is not None and "listener differs" in difference


def test_the_check_hands_each_side_its_stage_seconds() -> None:
    # GIVEN the registered ingress_update hot path and a small workload
    from gwbench.harness import equivalence

    hotpath = get("ingress_update")
    workload = generate(WorkloadSpec(ingresses=60, seed=3))
    # WHEN the equivalence check runs (through the measurement kernel)
    check = equivalence.check(hotpath, workload)
    # THEN every implementation's outcome carries the seconds of each pipeline stage
    for outcome in check.outcomes:
        assert set(outcome.stage_seconds) == set(STAGES), outcome.implementation
        assert all(s >= 0 for s in outcome.stage_seconds.values())
