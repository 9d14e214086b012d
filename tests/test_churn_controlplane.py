"""GIVEN N generated Ingresses and a seeded stream of every kind of change WHEN each batch is
pushed by the full control planes and by the incremental one THEN after every push the
listener Envoy would hold is byte-for-byte the same, while the incremental push builds only
the chains that changed."""

from __future__ import annotations

import pytest
from envoy.config.listener.v3 import listener_pb2

from gwbench.errors import EquivalenceError
from gwbench.harness.churn.controlplane import (
    ControlPlane,
    check_equal,
    make_control_plane,
    parts_of,
)
from gwbench.harness.churn.events import IngressStore, Touched, materialize, touched_by
from gwbench.harness.churn.stream import KINDS, poisson_stream
from gwbench.harness.hotpaths.ingress_update import active_listener
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec


@pytest.mark.parametrize(("n", "seed"), [(120, 3), (300, 11)])
def test_incremental_equals_full_translation_after_every_push(n: int, seed: int) -> None:
    # GIVEN a workload, its patch set, and 40 changes of every kind in batches of 1 to 4
    workload = generate(WorkloadSpec(n, seed))
    wire, patches = active_listener(workload)
    mix = dict.fromkeys(KINDS, 1.0)
    events = materialize(workload, poisson_stream(600, 4, seed, mix))
    assert {e.kind for e in events} == set(KINDS)
    planes: dict[str, ControlPlane] = {
        name: make_control_plane(name, patches) for name in ("baseline", "optimized", "incremental")
    }
    store = IngressStore(workload)
    # WHEN the initial state is pushed THEN it is the listener ingress_update starts from
    first = {name: plane.push(store, Touched()) for name, plane in planes.items()}
    assert first["optimized"].parts.wire() == wire
    for name in planes:
        check_equal(first["optimized"], first[name], 0, name)
    position, push = 0, 1
    while position < len(events):
        batch = events[position : position + 1 + push % 4]
        position += len(batch)
        store.apply(batch)
        touched = touched_by(batch)
        outputs = {name: plane.push(store, touched) for name, plane in planes.items()}
        # THEN every control plane leaves Envoy the same listener
        for name in planes:
            check_equal(outputs["optimized"], outputs[name], push, name)
        # AND the incremental one built only a handful of chains, not N
        assert outputs["incremental"].chains_built <= 2 * len(batch)
        assert outputs["optimized"].chains_built == len(outputs["optimized"].parts.chains)
        push += 1


def test_a_listener_split_into_parts_encodes_to_the_same_bytes() -> None:
    workload = generate(WorkloadSpec(50, 2))
    wire, _ = active_listener(workload)
    parts = parts_of(listener_pb2.Listener.FromString(wire))
    assert parts.wire() == wire
    assert len(parts.chains) == len(parts.names) > 40


def test_a_differing_push_is_reported_with_the_chain_that_differs() -> None:
    workload = generate(WorkloadSpec(40, 4))
    _, patches = active_listener(workload)
    full = make_control_plane("optimized", patches).push(IngressStore(workload), Touched())
    smaller = IngressStore(generate(WorkloadSpec(39, 4)))
    other = make_control_plane("optimized", patches).push(smaller, Touched())
    with pytest.raises(EquivalenceError, match="push 7"):
        check_equal(full, other, 7, "incremental")
