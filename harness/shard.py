"""One part of a run's plan: ``gwbench run --shard I/K``.

A CI matrix (the distributed engine users already have) spreads a long run over K
runners; ``gwbench merge`` joins their results. The plan is split by hot path, never
inside one: a hot path's sizes stay together (its scaling fit needs every size), and so do
its implementations (its speedups compare them at each size).

The split is a pure function of the selected hot paths and K: the parts are balanced by a
static cost weight per hot path (:data:`COST_WEIGHTS`), costliest first, each to the
lightest part so far (longest-processing-time scheduling), so every runner of a matrix
computes the same split on its own. Only shard 1 measures the real Envoy (``--envoy``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gwbench.errors import InputError
from gwbench.harness.registry import HotPath
from gwbench.harness.sources import WorkloadProvider
from gwbench.results import Shard

OPTION = "--shard"

COST_WEIGHTS: Mapping[str, float] = {
    "ingress_update": 118.0,
    "listener_update": 31.0,
    "gateway_lookup": 7.0,
    "filterchain_hash": 3.6,
    "envoyfilter_patch": 0.95,
}
"""Relative cost of each built-in hot path: seconds of one call of each of its
implementations at 8,000 generated Ingresses, added up (measured on the 2-core machine of
docs/run.md). A run's time goes mostly to these calls at the largest sizes, so they rank
the hot paths; only the ratios matter."""

DEFAULT_WEIGHT = 1.0
"""Weight of a hot path not in :data:`COST_WEIGHTS` (a plugin's)."""

_SYNTAX = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class ShardSpec:
    """``I/K``: the I-th (from 1) of K parts."""

    index: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> ShardSpec:
    """``I/K`` with ``1 <= I <= K``; anything else is an :class:`InputError` (exit 2)."""
    match = _SYNTAX.fullmatch(text)
    if match is None:
        raise InputError(
            f"{text!r} is not I/K (the I-th of K parts, for example 1/2)", field=OPTION
        )
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise InputError(f"{text!r}: K must be at least 1", field=OPTION)
    if not 1 <= index <= count:
        raise InputError(f"{text!r}: I must be between 1 and K={count}", field=OPTION)
    return ShardSpec(index, count)


def weight(name: str, weights: Mapping[str, float] = COST_WEIGHTS) -> float:
    return weights.get(name, DEFAULT_WEIGHT)


def split(
    names: Sequence[str], count: int, weights: Mapping[str, float] = COST_WEIGHTS
) -> tuple[tuple[str, ...], ...]:
    """``names`` in ``count`` parts balanced by weight; each part keeps the plan order.

    Costliest first (ties in plan order), each to the part with the least weight so far
    (ties to the lowest part). Every name lands in exactly one part and no part is empty.
    """
    if len(set(names)) != len(names):
        raise ValueError(f"hot paths named twice: {list(names)}")
    if not 1 <= count <= len(names):
        raise InputError(
            f"{count} parts of {len(names)} hot path(s): a hot path is never split, so K "
            f"may be at most {len(names)}",
            field=OPTION,
        )
    position = {name: i for i, name in enumerate(names)}
    loads = [0.0] * count
    parts: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(names, key=lambda n: (-weight(n, weights), position[n])):
        lightest = min(range(count), key=lambda k: (loads[k], len(parts[k]), k))
        parts[lightest].append(name)
        loads[lightest] += weight(name, weights)
    return tuple(tuple(sorted(p, key=position.__getitem__)) for p in parts)


def part(names: Sequence[str], spec: ShardSpec) -> tuple[str, ...]:
    """The hot paths of shard ``spec``."""
    return split(names, spec.count)[spec.index - 1]


def source_digest(provider: WorkloadProvider) -> str | None:
    """SHA-256 of the user's Ingresses: the manifest file's bytes, or the cluster's
    Ingresses in their wire form; ``None`` for generated workloads."""
    kind = provider.spec.kind
    if kind == "generated":
        return None
    if kind == "file":
        assert provider.spec.path is not None
        try:
            data = Path(provider.spec.path).read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read: {exc.strerror or exc}", file=provider.spec.path
            ) from None
        return hashlib.sha256(data).hexdigest()
    from gwbench.workloads.yamlio import to_dict

    full = provider.full()
    assert full is not None
    digest = hashlib.sha256()
    for ingress in full.ingresses:
        digest.update(json.dumps(to_dict(ingress), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def select(
    spec: ShardSpec | None, hotpaths: Sequence[HotPath], provider: WorkloadProvider
) -> tuple[list[HotPath], Shard | None]:
    """The hot paths this run measures and its :class:`~gwbench.results.Shard` record
    (all of them and ``None`` without ``--shard``)."""
    if spec is None:
        return list(hotpaths), None
    names = [hp.name for hp in hotpaths]
    mine = set(part(names, spec))
    record = Shard(
        index=spec.index,
        count=spec.count,
        plan_hotpaths=tuple(names),
        source_digest=source_digest(provider),
    )
    return [hp for hp in hotpaths if hp.name in mine], record


def measures_envoy(shard: Shard | None) -> bool:
    """The real-Envoy measurement belongs to the first shard only."""
    return shard is None or shard.index == 1
