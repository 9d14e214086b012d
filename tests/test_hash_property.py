"""GIVEN random FilterChains drawn from small alphabets (so equal chains do occur) WHEN
hashed by every strategy THEN all strategies split them into the same classes of equal
keys, and those classes are exactly the classes of equal messages.

Each field draws from its own alphabet: the deterministic hash mixes values without field
numbers, so one value moving to another field could alias (a known semantic difference,
labelled in test_filterchain_hash.py), which is not what this property is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gwbench.baselines import filterchain_hash as baseline
from gwbench.optimized import filterchain_hash as optimized
from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import ALPN_H1, ALPN_H2, build_filter_chain, pack
from gwbench.workloads.protohash import ChainsInput, Partition, partition_of

SERVER_NAMES = ("a.example.com", "b.example.com", "c.example.org")
SDS_NAMES = (
    "kubernetes-ingress://Kubernetes/higress-system/wildcard-cert",
    "kubernetes-ingress://Kubernetes/ns-1/custom-1",
)
ALPNS = (ALPN_H2, ALPN_H1, ())
ROUTES = ("https.443.route-a", "https.443.route-b")
GATEWAYS = ("higress-system/gw-a", "higress-system/gw-b")
FILTER_LISTS = (
    (),  # the full Higress list, ending with the router
    ("envoy.filters.http.cors",),  # drop the CORS filter
    ("envoy.filters.http.cors", "envoy.filters.http.fault"),
)


@dataclass(frozen=True)
class ChainSpec:
    server_names: tuple[str, ...]
    sds: str
    alpn: tuple[str, ...]
    route: str
    gateway: str
    dropped_filters: tuple[str, ...]

    def build(self) -> Any:
        chain = build_filter_chain(self.server_names, self.sds, self.alpn, self.route, self.gateway)
        if self.dropped_filters:
            hcm_any = chain.filters[0].typed_config
            hcm = hcm_pb2.HttpConnectionManager()
            hcm_any.Unpack(hcm)
            kept = [f for f in hcm.http_filters if f.name not in self.dropped_filters]
            del hcm.http_filters[:]
            hcm.http_filters.extend(kept)
            hcm_any.CopyFrom(pack(hcm))
        return chain


chain_specs = st.builds(
    ChainSpec,
    server_names=st.lists(st.sampled_from(SERVER_NAMES), min_size=1, max_size=2).map(tuple),
    sds=st.sampled_from(SDS_NAMES),
    alpn=st.sampled_from(ALPNS),
    route=st.sampled_from(ROUTES),
    gateway=st.sampled_from(GATEWAYS),
    dropped_filters=st.sampled_from(FILTER_LISTS),
)


@st.composite
def chain_lists(draw: st.DrawFn) -> list[ChainSpec]:
    """A few distinct-ish specs, then a list picking among them (repeats are likely)."""
    specs = draw(st.lists(chain_specs, min_size=1, max_size=5))
    picks = draw(st.lists(st.integers(0, len(specs) - 1), min_size=2, max_size=10))
    return [specs[i] for i in picks]


def _decoded(specs: list[ChainSpec]) -> list[Any]:
    listener = listener_pb2.Listener(filter_chains=[s.build() for s in specs])
    return ChainsInput.decode(listener.SerializeToString()).chains


def _partitions(chains: list[Any]) -> dict[str, Partition]:
    return {
        "textformat": partition_of(baseline.hash_chains(chains, Counters())),
        "cached": partition_of(optimized.hash_chains(chains, Counters())),
        "deterministic": partition_of(optimized.hash_chains_deterministic(chains, Counters())),
        "serialized": partition_of(optimized.hash_chains_serialized(chains, Counters())),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chain_lists())
def test_hash_strategies_partition_random_chains_identically(specs: list[ChainSpec]) -> None:
    chains = _decoded(specs)
    by_message = partition_of([c.SerializeToString(deterministic=True) for c in chains])
    for name, partition in _partitions(chains).items():
        assert partition == by_message, name


def test_the_generator_produces_equal_chains() -> None:
    """The property is only meaningful if equal chains occur: a fixed draw shows they do."""
    spec = ChainSpec(SERVER_NAMES[:1], SDS_NAMES[0], ALPN_H2, ROUTES[0], GATEWAYS[0], ())
    other = ChainSpec(SERVER_NAMES[1:2], SDS_NAMES[0], ALPN_H2, ROUTES[0], GATEWAYS[0], ())
    partitions = _partitions(_decoded([spec, other, spec]))
    assert {p.classes for p in partitions.values()} == {((0, 2),)}
