"""The change stream: seeded Poisson arrivals of Ingress changes at R changes per minute.

A stream is a list of :class:`Arrival` (seconds from the start, change kind, optional
target). The kinds are the single-object changes of :mod:`gwbench.workloads.churn`; which
object a change hits is decided when the stream is applied to a workload
(:mod:`gwbench.harness.churn.events`), from the arrival's ``seed`` unless a replay file
named the target. Inter-arrival gaps are exponential with mean ``60 / R`` seconds (a Poisson
process); kinds are drawn independently with the mix's weights. Same seed, same stream.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from gwbench.errors import InputError

KINDS = (
    "add",
    "add-custom",
    "delete",
    "change-path",
    "change-backend",
    "rotate-certificate",
)
"""``add``: a new host on the shared wildcard certificate; ``add-custom``: a new custom
domain with its own certificate; ``rotate-certificate``: a custom domain's certificate
renewed into a new Secret name the Ingress then points to."""

DEFAULT_MIX: Mapping[str, float] = {
    "add": 0.5,
    "add-custom": 0.05,
    "delete": 0.15,
    "change-path": 0.1,
    "change-backend": 0.1,
    "rotate-certificate": 0.1,
}


@dataclass(frozen=True)
class Arrival:
    """One change reaching the control plane ``at`` seconds after the stream starts."""

    at: float
    kind: str
    seed: int
    target: str | None = None
    """``namespace/name`` of the Ingress (of the Secret for a rotation); None: by seed."""
    line: int | None = None
    """Line of the replay file it came from (None: generated)."""


def parse_mix(text: str, *, field: str = "--mix") -> dict[str, float]:
    """``add=5,delete=1`` -> weights. Kinds left out get weight 0; at least one must be > 0."""
    mix = dict.fromkeys(KINDS, 0.0)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kind, sep, value = part.partition("=")
        kind = kind.strip()
        if not sep or kind not in KINDS:
            raise InputError(
                f"expected KIND=WEIGHT with KIND one of {', '.join(KINDS)}, got {part!r}",
                field=field,
            )
        try:
            weight = float(value)
        except ValueError:
            raise InputError(f"weight of {kind} is not a number: {value!r}", field=field) from None
        if weight < 0 or weight != weight:
            raise InputError(f"weight of {kind} must be >= 0, got {value}", field=field)
        mix[kind] = weight
    if sum(mix.values()) <= 0:
        raise InputError("at least one change kind needs a weight above 0", field=field)
    return mix


def poisson_stream(
    rate_per_min: float, duration_s: float, seed: int, mix: Mapping[str, float] = DEFAULT_MIX
) -> list[Arrival]:
    """Arrivals of a Poisson process at ``rate_per_min`` over ``[0, duration_s)``."""
    if rate_per_min <= 0:
        raise InputError(f"must be above 0, got {rate_per_min}", field="--rate")
    if duration_s <= 0:
        raise InputError(f"must be above 0, got {duration_s}", field="--duration")
    kinds = [k for k in KINDS if mix.get(k, 0.0) > 0]
    weights = [mix[k] for k in kinds]
    rng = random.Random(f"gwbench-churn-stream:{seed}")
    arrivals: list[Arrival] = []
    at = rng.expovariate(rate_per_min / 60.0)
    while at < duration_s:
        kind = rng.choices(kinds, weights)[0]
        arrivals.append(Arrival(round(at, 6), kind, rng.randrange(2**31)))
        at += rng.expovariate(rate_per_min / 60.0)
    return arrivals
