"""The change stream made concrete: each arrival applied to the workload once, ahead of time.

A control plane sees Ingress objects, not change kinds; a probe needs to know which host an
add created. So before a run the arrivals are applied in order with
:mod:`gwbench.workloads.churn` (the same single-object changes ``ingress_update`` uses), and
each becomes an :class:`Event`: the change record plus the objects it added, replaced or
removed. :class:`IngressStore` is what the control plane reads (an informer's cache):
Ingresses and Secrets keyed by ``namespace/name``, in creation order, to which events are
applied as they are pushed. Cost: O(N) per arrival, once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kubernetes.client import V1Ingress, V1Secret

from gwbench.errors import InputError
from gwbench.harness.churn.stream import Arrival
from gwbench.workloads import churn
from gwbench.workloads.model import Workload

Key = tuple[str, str]


def key_of(obj: V1Ingress | V1Secret) -> Key:
    meta = obj.metadata
    return ((meta.namespace if meta else None) or "default", (meta.name if meta else None) or "")


@dataclass(frozen=True)
class Event:
    """One arrival made concrete."""

    number: int
    """Position in the stream (0-based)."""
    at: float
    kind: str
    target: str
    """``namespace/name`` of the Ingress it added, removed or changed (of the Secret renewed)."""
    change: churn.Change
    upserts: tuple[V1Ingress, ...]
    removals: tuple[Key, ...]
    secrets: tuple[V1Secret, ...]
    secret_removals: tuple[Key, ...]

    def touched(self) -> frozenset[Key]:
        """Ingresses whose translation this event may change."""
        return frozenset({*(key_of(i) for i in self.upserts), *self.removals})

    def touched_secrets(self) -> frozenset[Key]:
        """Secrets this event created, replaced or removed."""
        return frozenset({*(key_of(s) for s in self.secrets), *self.secret_removals})

    def hosts(self) -> tuple[str, ...]:
        """Hosts the change is about (added, removed, changed, or re-certified)."""
        change = self.change
        if isinstance(change, churn.IngressAdded | churn.IngressChanged):
            return (change.host,)
        return change.hosts


@dataclass(frozen=True)
class Touched:
    """What a batch of events changed: the keys of the Ingresses and of the Secrets."""

    ingresses: frozenset[Key] = frozenset()
    secrets: frozenset[Key] = frozenset()


def touched_by(events: Iterable[Event]) -> Touched:
    batch = list(events)
    return Touched(
        frozenset().union(*(e.touched() for e in batch)),
        frozenset().union(*(e.touched_secrets() for e in batch)),
    )


def _apply(workload: Workload, arrival: Arrival) -> tuple[Workload, churn.Change]:
    kind = arrival.kind
    if kind in ("add", "add-custom"):
        return churn.add_ingress(workload, arrival.seed, custom_domain=kind == "add-custom")
    if kind == "rotate-certificate":
        secret = _split(arrival.target) if arrival.target else None
        return churn.rotate_certificate(workload, arrival.seed, rename=True, secret=secret)
    index = None
    if arrival.target is not None:
        index = churn.find_ingress(workload, *_split(arrival.target))
        if index is None:
            raise InputError(f"no Ingress {arrival.target} exists at {arrival.at:g} s")
    if kind == "delete":
        return churn.delete_ingress(workload, arrival.seed, index=index)
    if kind == "change-path":
        return churn.change_path(workload, arrival.seed, index=index)
    if kind == "change-backend":
        return churn.change_backend(workload, arrival.seed, index=index)
    raise InputError(f"unknown change kind {kind!r}")


def _split(target: str) -> Key:
    namespace, _, name = target.partition("/")
    return namespace, name


def _diff(
    old: Sequence[V1Ingress | V1Secret], new: Sequence[V1Ingress | V1Secret]
) -> tuple[list[V1Ingress | V1Secret], list[Key]]:
    """Objects of ``new`` that are not in ``old`` (by identity), keys of ``old`` gone."""
    old_ids = {id(o) for o in old}
    added = [o for o in new if id(o) not in old_ids]
    new_keys = {key_of(o) for o in new}
    gone = [key_of(o) for o in old if key_of(o) not in new_keys]
    return added, gone


def _target(change: churn.Change) -> str:
    if isinstance(change, churn.CertificateRotated):
        return f"{change.namespace}/{change.old_secret}"
    return f"{change.namespace}/{change.name}"


def materialize(
    workload: Workload, arrivals: Sequence[Arrival], source: str | None = None
) -> list[Event]:
    """Every arrival applied in order to ``workload`` (not mutated). An arrival that cannot
    apply (its target is gone, nothing left to delete) is an input error naming ``source``
    and the arrival's line."""
    events: list[Event] = []
    current = workload
    for number, arrival in enumerate(arrivals):
        try:
            after, change = _apply(current, arrival)
        except InputError as exc:
            where = f"line {arrival.line}: " if arrival.line is not None else ""
            raise InputError(f"{where}{exc}", file=source) from None
        ingresses, removals = _diff(current.ingresses, after.ingresses)
        secrets, secret_removals = _diff(current.secrets, after.secrets)
        events.append(
            Event(
                number,
                arrival.at,
                arrival.kind,
                _target(change),
                change,
                tuple(i for i in ingresses if isinstance(i, V1Ingress)),
                tuple(removals),
                tuple(s for s in secrets if isinstance(s, V1Secret)),
                tuple(secret_removals),
            )
        )
        current = after
    return events


class IngressStore:
    """The control plane's view of the cluster: Ingresses and Secrets by key, in order.

    ``position`` numbers each Ingress by when its key appeared (an informer's cache keeps
    no order; this one does, so every control plane sees the same order): an update keeps
    the number, a key deleted and created again gets a new, larger one, and iterating
    ``ingresses`` goes by increasing number."""

    def __init__(self, workload: Workload) -> None:
        self._template = workload
        self.ingresses: dict[Key, V1Ingress] = {}
        self.position: dict[Key, int] = {}
        self._next = 0
        for ingress in workload.ingresses:
            self._upsert(ingress)
        self.secrets: dict[Key, V1Secret] = {key_of(s): s for s in workload.secrets}

    def _upsert(self, ingress: V1Ingress) -> None:
        key = key_of(ingress)
        if key not in self.ingresses:
            self.position[key] = self._next
            self._next += 1
        self.ingresses[key] = ingress

    def apply(self, events: Iterable[Event]) -> None:
        for event in events:
            for key in event.removals:
                self.ingresses.pop(key, None)
                self.position.pop(key, None)
            for ingress in event.upserts:
                self._upsert(ingress)
            for key in event.secret_removals:
                self.secrets.pop(key, None)
            for secret in event.secrets:
                self.secrets[key_of(secret)] = secret

    def workload(self) -> Workload:
        """The current Ingresses and Secrets as a workload (objects shared, lists new)."""
        return dataclasses.replace(
            self._template,
            ingresses=list(self.ingresses.values()),
            secrets=list(self.secrets.values()),
            warnings=[],
        )

    def subset(self, keys: Iterable[Key]) -> Workload:
        """A workload of only the Ingresses ``keys`` that still exist (all Secrets kept)."""
        chosen = [self.ingresses[k] for k in keys if k in self.ingresses]
        return dataclasses.replace(
            self._template, ingresses=chosen, secrets=list(self.secrets.values()), warnings=[]
        )

    def __len__(self) -> int:
        return len(self.ingresses)
