"""The incremental control plane's work is bounded by the changes, not by N, and its
listener stays the full translation's through the cases a generated stream rarely hits:
two Ingresses claiming one host, a Secret appearing and disappearing, two hosts whose
gateway names clash, and the enable-h2 mix turning off and on."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import pytest
from kubernetes.client import V1Ingress, V1ObjectMeta, V1Secret

from gwbench.harness.churn.controlplane import (
    ControlPlane,
    IncrementalControlPlane,
    check_equal,
    make_control_plane,
)
from gwbench.harness.churn.events import Event, IngressStore, Key, Touched, materialize, touched_by
from gwbench.harness.churn.stream import KINDS, poisson_stream
from gwbench.harness.hotpaths.ingress_update import active_listener
from gwbench.workloads.churn import IngressDeleted
from gwbench.workloads.envoyfilters import PatchSet
from gwbench.workloads.generate import generate
from gwbench.workloads.istio import ENABLE_H2_ANNOTATION
from gwbench.workloads.model import WILDCARD_SECRET, Workload, WorkloadSpec
from tests.factories import make_ingress

K = TypeVar("K")
V = TypeVar("V")

WORK_PER_CHANGE = 12
"""Units of work (Ingresses translated, hosts resolved, chains keyed, entries rebuilt) one
change may cost: a generated change touches one or two Ingresses of one or two hosts."""


class _Guarded(dict[K, V]):
    """A dict that fails any pass over all its entries once armed."""

    armed = False

    def _refuse(self) -> None:
        if self.armed:
            raise AssertionError("a pass over every entry")

    def __iter__(self) -> Iterator[K]:
        self._refuse()
        return super().__iter__()

    def keys(self) -> Any:
        self._refuse()
        return super().keys()

    def values(self) -> Any:
        self._refuse()
        return super().values()

    def items(self) -> Any:
        self._refuse()
        return super().items()


@pytest.mark.parametrize("n", [150, 1200])
def test_a_push_does_work_bounded_by_its_changes_whatever_n(n: int) -> None:
    # GIVEN a workload of N Ingresses pushed once, and a stream of every kind of change
    workload = generate(WorkloadSpec(n, 5))
    _, patches = active_listener(workload)
    events = materialize(workload, poisson_stream(600, 3, 5, dict.fromkeys(KINDS, 1.0)))
    store = IngressStore(workload)
    ingresses, positions = _Guarded(store.ingresses), _Guarded(store.position)
    store.ingresses, store.position = ingresses, positions
    plane = IncrementalControlPlane(patches)
    first = plane.push(store, Touched())
    assert first.work >= n
    # WHEN every later push may not pass over all Ingresses
    ingresses.armed = positions.armed = True
    worst = 0.0
    for position in range(0, len(events), 2):
        batch = events[position : position + 2]
        store.apply(batch)
        out = plane.push(store, touched_by(batch))
        # THEN its counted work is bounded by the changes it carries, not by N
        assert out.work == plane.work.total() <= WORK_PER_CHANGE * len(batch)
        assert out.chains_built <= 2 * len(batch)
        worst = max(worst, out.work / len(batch))
    assert worst > 0
    # AND the listener it ends with is the full translation's
    ingresses.armed = positions.armed = False
    full = make_control_plane("optimized", patches).push(store, Touched())
    check_equal(full, plane.push(store, Touched()), len(events), "incremental")


def _secret(namespace: str, name: str) -> V1Secret:
    return V1Secret(metadata=V1ObjectMeta(name=name, namespace=namespace), type="kubernetes.io/tls")


def _event(
    number: int,
    upserts: Sequence[V1Ingress] = (),
    removals: Sequence[Key] = (),
    secrets: Sequence[V1Secret] = (),
    secret_removals: Sequence[Key] = (),
) -> Event:
    change = IngressDeleted("", "", (), 0)
    return Event(
        number,
        float(number),
        "test",
        "",
        change,
        tuple(upserts),
        tuple(removals),
        tuple(secrets),
        tuple(secret_removals),
    )


def _planes(workload: Workload) -> tuple[ControlPlane, ControlPlane, PatchSet]:
    _, patches = active_listener(workload)
    return make_control_plane("optimized", patches), IncrementalControlPlane(patches), patches


def test_the_incremental_listener_follows_shared_hosts_secrets_clashes_and_the_h2_mix() -> None:
    # GIVEN two Ingresses claiming one host (the first with the wildcard certificate, the
    # second with its own Secret), two hosts whose gateway names clash, plain hosts, and
    # one Ingress with its own enable-h2 annotation (so no mix is added)
    shared = "shop.example.org"
    first = make_ingress("first", shared, namespace="ns-a")
    second = make_ingress("second", shared, namespace="ns-b", secret="shop-tls")
    clash_a = make_ingress("clash-a", "x-y.example.org", namespace="ns-c")
    clash_b = make_ingress("clash-b", "x.y-example.org", namespace="ns-c")
    h2_on = {ENABLE_H2_ANNOTATION: "true"}
    annotated = make_ingress("app0", "app0.cloud.example.com", annotations=h2_on)
    plain = [make_ingress(f"app{i}", f"app{i}.cloud.example.com") for i in range(1, 6)]
    namespaces = ("ns-a", "ns-b", "ns-c", "ns-test0001")
    secrets = [_secret(ns, WILDCARD_SECRET) for ns in namespaces]
    secrets.append(_secret("ns-b", "shop-tls"))
    workload = Workload([first, second, clash_a, clash_b, annotated, *plain], secrets)
    full, incremental, _ = _planes(workload)
    store = IngressStore(workload)
    h1 = {ENABLE_H2_ANNOTATION: "false"}
    clash_b_h1 = make_ingress("clash-b", "x.y-example.org", namespace="ns-c", annotations=h1)
    steps: list[tuple[str, Event, int | None]] = [
        ("first claimant deleted: the second wins", _event(1, removals=[("ns-a", "first")]), 1),
        ("first created again, now later: the second keeps the host", _event(2, [first]), 0),
        (
            "the second's Secret gone: wildcard",
            _event(3, secret_removals=[("ns-b", "shop-tls")]),
            1,
        ),
        ("the Secret back", _event(4, secrets=[_secret("ns-b", "shop-tls")]), 1),
        ("h2 off on a clashing name: both chains", _event(5, [clash_b_h1]), 2),
        ("that Ingress deleted: its twin's h2 back", _event(6, removals=[("ns-c", "clash-b")]), 1),
        (
            "the own annotation gone: the mix turns on",
            _event(7, removals=[("ns-test0001", "app0")]),
            None,
        ),
        ("the annotation back: the mix turns off", _event(8, [annotated]), None),
        ("a plain Ingress deleted", _event(9, removals=[("ns-test0001", "app3")]), 0),
    ]
    # WHEN each step is pushed THEN the listener equals the full translation's
    check_equal(full.push(store, Touched()), incremental.push(store, Touched()), 0, "incremental")
    for what, event, built in steps:
        store.apply([event])
        touched = touched_by([event])
        want, got = full.push(store, touched), incremental.push(store, touched)
        check_equal(want, got, event.number, f"incremental ({what})")
        # AND only the chains whose inputs changed were built
        if built is not None:
            assert got.chains_built == built, what
