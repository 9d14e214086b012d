"""GIVEN the filter chains of a translated listener WHEN hashed by TextFormat, the cached
recursive hash, upstream's deterministic hash and the serialized ablation THEN they split
the chains into the same classes of equal keys; the known semantic differences between the
strategies are pinned down by labelled tests, and a stale cache is caught."""

from __future__ import annotations

from typing import Any

import pytest
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from google.protobuf import any_pb2

from gwbench.baselines import filterchain_hash as baseline
from gwbench.harness import registry
from gwbench.harness.hotpaths import filterchain_hash as hotpath_module
from gwbench.harness.hotpaths.listener_changes import designed_chain_set
from gwbench.optimized import filterchain_hash as optimized
from gwbench.workloads.counters import Counters
from gwbench.workloads.envoy_config import ALPN_H2, build_filter_chain, wildcard_credential
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec
from gwbench.workloads.protohash import (
    ChainsInput,
    compare_partitions,
    equivalent,
    message_class_for,
    partition_of,
)

HOTPATH = registry.get("filterchain_hash")
hotpath = hotpath_module


def _fresh(inputs: Any) -> Any:
    assert HOTPATH.prepare is not None
    return HOTPATH.prepare(inputs)


def _chain(host: str) -> Any:
    return build_filter_chain(
        [host], wildcard_credential(), ALPN_H2, f"https.443.{host}", "higress-system/gw"
    )


def _decoded(*chains: Any) -> list[Any]:
    """The chains as Envoy sees them: a listener on the wire, decoded afresh."""
    listener = listener_pb2.Listener(filter_chains=list(chains))
    return ChainsInput.decode(listener.SerializeToString()).chains


def _reversed_encoding(message: Any) -> bytes:
    """The same message encoded with its fields in reverse order (valid, not canonical)."""
    parts = []
    for field, _ in message.ListFields():
        single = type(message)()
        single.CopyFrom(message)
        for other, _ in single.ListFields():
            if other is not field:
                single.ClearField(other.name)
        parts.append(single.SerializeToString(deterministic=True))
    return b"".join(reversed(parts))


def _keys(chains: list[Any]) -> dict[str, list[int]]:
    """Each strategy's hash of each chain."""
    return {
        "textformat": baseline.hash_chains(chains, Counters()),
        "deterministic": optimized.hash_chains_deterministic(chains, Counters()),
        "cached": optimized.hash_chains(chains, Counters()),
        "serialized": optimized.hash_chains_serialized(chains, Counters()),
    }


def _same(keys: list[int]) -> bool:
    return keys[0] == keys[1]


# ---- equivalence on generated workloads -------------------------------------------------


@pytest.mark.parametrize(("n", "seed"), [(50, 1), (50, 7), (200, 3)])
def test_all_strategies_partition_generated_chains_alike(n: int, seed: int) -> None:
    inputs = HOTPATH.make_inputs(generate(WorkloadSpec(n, seed)))
    expected = HOTPATH.baseline.func(_fresh(inputs), Counters())
    assert expected.main.n == len(inputs.main.chains) > 0
    for impl in HOTPATH.implementations:
        actual = impl.func(_fresh(inputs), Counters())
        assert HOTPATH.compare(expected, actual) is None, impl.name


def test_prepare_hands_each_call_freshly_decoded_chains_and_the_cached_pass_starts_empty() -> None:
    inputs = hotpath.make_inputs(generate(WorkloadSpec(50, 2)))
    first, second = hotpath.prepare(inputs), hotpath.prepare(inputs)
    assert first.chains[0] is not second.chains[0]
    assert first.chains[0] == second.chains[0]
    counters = Counters()
    optimized.hash_pass(first, counters)
    assert counters.get("cache_hits") == 0
    assert counters.get("chains_hashed") == len(first.chains)
    assert counters.get("messages_hashed") > len(first.chains)


def test_counters_show_the_work_each_strategy_does() -> None:
    inputs = HOTPATH.make_inputs(generate(WorkloadSpec(50, 4)))
    counts: dict[str, Counters] = {}
    for impl in HOTPATH.implementations:
        c = Counters()
        impl.func(_fresh(inputs), c)
        counts[impl.name] = c
    n = len(inputs.main.chains)
    # TextFormat expands every Any of a known type, as the deterministic hash unpacks it.
    assert counts["baseline"].get("any_unpacks") == counts["deterministic"].get("any_unpacks")
    assert counts["baseline"].get("any_unpacks") >= 2 * n
    assert counts["cached"].get("any_unpacks") == 0
    # The rendered text is longer than the binary encoding of the same chains.
    assert counts["baseline"].get("bytes_rendered") > counts["serialized"].get("bytes_serialized")
    # The cached hash stops at Any values; the deterministic one walks into them.
    assert counts["cached"].get("messages_hashed") < counts["deterministic"].get("messages_hashed")


def test_a_warm_cache_answers_every_chain_without_hashing() -> None:
    chains = _decoded(_chain("a.example.com"), _chain("b.example.com"))
    cache = optimized.HashCache()
    first = optimized.hash_chains(chains, Counters(), cache)
    counters = Counters()
    assert optimized.hash_chains(chains, counters, cache) == first
    assert counters.get("cache_hits") == 2
    assert counters.get("chains_hashed") == 0
    assert counters.get("messages_hashed") == 0


# ---- labelled semantic differences -------------------------------------------------------


def test_semantic_difference_any_with_non_canonical_bytes() -> None:
    """Same HttpConnectionManager, its fields encoded in another order inside the Any: the
    strategies that unpack (TextFormat, deterministic) see equal chains; those that read
    the bytes (cached, serialized) see different ones. Envoy's equality also says equal."""
    a = _chain("a.example.com")
    b = listener_components_pb2.FilterChain()
    b.CopyFrom(a)
    hcm_any = b.filters[0].typed_config
    cls = message_class_for(hcm_any.type_url)
    assert cls is not None
    unpacked = cls.FromString(hcm_any.value)
    hcm_any.CopyFrom(any_pb2.Any(type_url=hcm_any.type_url, value=_reversed_encoding(unpacked)))
    chains = _decoded(a, b)
    assert chains[0].filters[0].typed_config.value != chains[1].filters[0].typed_config.value
    keys = _keys(chains)
    assert _same(keys["textformat"])
    assert _same(keys["deterministic"])
    assert not _same(keys["cached"])
    assert not _same(keys["serialized"])
    assert chains[0] != chains[1]  # upb's == compares Any bytes
    assert equivalent(chains[0], chains[1])  # MessageDifferencer::Equivalent unpacks


def test_semantic_difference_set_but_empty_versus_unset_sub_message() -> None:
    """``metadata`` set to an empty message versus not set: only the deterministic hash
    (values only, no field numbers) cannot tell them apart; Equivalent calls them equal."""
    a = _chain("a.example.com")
    a.ClearField("metadata")
    b = listener_components_pb2.FilterChain()
    b.CopyFrom(a)
    b.metadata.SetInParent()
    chains = _decoded(a, b)
    assert chains[1].HasField("metadata") and not chains[0].HasField("metadata")
    keys = _keys(chains)
    assert not _same(keys["textformat"])
    assert _same(keys["deterministic"])
    assert not _same(keys["cached"])
    assert not _same(keys["serialized"])
    assert equivalent(chains[0], chains[1])


def test_semantic_difference_any_of_an_unknown_type() -> None:
    """An Any whose type is not linked in: the deterministic hash ignores it entirely
    (type URL and content); TextFormat prints it as raw fields, so the content counts."""
    chains = []
    for payload in (b"\x08\x01", b"\x08\x02"):
        c = _chain("a.example.com")
        c.transport_socket.typed_config.CopyFrom(
            any_pb2.Any(type_url="type.googleapis.com/example.NotLinkedIn", value=payload)
        )
        chains.append(c)
    chains = _decoded(*chains)
    assert message_class_for(chains[0].transport_socket.typed_config.type_url) is None
    keys = _keys(chains)
    assert not _same(keys["textformat"])
    assert _same(keys["deterministic"])
    assert not _same(keys["cached"])
    assert not _same(keys["serialized"])


def test_semantic_difference_deterministic_hash_mixes_values_not_field_numbers() -> None:
    """The same values in different fields: equal deterministic hashes (the deep compare
    that follows every hash hit in Envoy tells them apart); the others differ."""
    a = _chain("a.example.com")
    b = listener_components_pb2.FilterChain()
    b.CopyFrom(a)
    a.filter_chain_match.server_names[:] = ["x.example.com"]
    b.filter_chain_match.ClearField("server_names")
    b.filter_chain_match.transport_protocol = "x.example.com"
    chains = _decoded(a, b)
    keys = _keys(chains)
    assert _same(keys["deterministic"])
    assert not _same(keys["textformat"])
    assert not _same(keys["cached"])
    assert not equivalent(chains[0], chains[1])


# ---- the broken variant the equivalence check must catch --------------------------------


def test_stale_cached_hash_after_mutation_is_caught_by_the_equivalence_check() -> None:
    """GIVEN chains hashed into a cache WHEN one chain is changed in place (to equal another)
    and the cache is reused THEN the cached partition misses the new equal pair, and the
    hot path's compare reports it; a fresh cache agrees with the baseline again."""
    chains = _decoded(_chain("a.example.com"), _chain("b.example.com"), _chain("c.example.com"))
    cache = optimized.HashCache()
    optimized.hash_chains(chains, Counters(), cache)
    chains[1].CopyFrom(chains[0])

    expected = partition_of(baseline.hash_chains(chains, Counters()))
    assert expected.classes == ((0, 1),)
    stale = partition_of(optimized.hash_chains(chains, Counters(), cache))
    difference = compare_partitions(expected, stale)
    assert difference is not None and "[0, 1]" in difference
    fresh = partition_of(optimized.hash_chains(chains, Counters()))
    assert compare_partitions(expected, fresh) is None


def test_compare_reports_a_different_chain_count() -> None:
    assert compare_partitions(partition_of([1, 2]), partition_of([1, 2, 3])) is not None
    assert partition_of([5, 6, 5, 7, 6]).classes == ((0, 2), (1, 4))
    assert partition_of([5, 6, 5, 7, 6]).distinct == 3


# ---- the chain set built to collide ------------------------------------------------------


def test_every_strategy_finds_the_designed_classes_of_the_colliding_chain_set() -> None:
    """GIVEN chains equal by design (copies held as other messages) and chains equal to
    another except inside one Any WHEN each strategy hashes them THEN every strategy gives
    exactly the designed classes: equal content shares a class, any difference splits."""
    data, classes = designed_chain_set(hotpath.listener_bytes(generate(WorkloadSpec(12, 5))))
    assert classes and all(len(c) >= 2 for c in classes)
    for name, keys in _keys(ChainsInput.decode(data).chains).items():
        assert partition_of(keys).classes == classes, name


def test_the_side_scenario_catches_a_hash_blind_to_any_payloads() -> None:
    """GIVEN a cached hash that ignores every Any's value bytes WHEN the registered check
    runs THEN the colliding chain set's scenario names the wrongly merged chains."""
    inputs = HOTPATH.make_inputs(generate(WorkloadSpec(30, 5)))
    expected = HOTPATH.baseline.func(_fresh(inputs), Counters())

    def blind(chains: list[Any]) -> list[int]:
        stripped = []
        for chain in chains:
            copy = type(chain)()
            copy.CopyFrom(chain)
            copy.transport_socket.typed_config.value = b""
            copy.filters[0].typed_config.value = b""
            stripped.append(copy)
        return optimized.hash_chains(stripped, Counters())

    actual = type(expected)(
        partition_of(blind(inputs.main.chains)),
        tuple((n, partition_of(blind(i.chains))) for n, i in inputs.side),
    )
    difference = HOTPATH.compare(expected, actual)
    assert difference is not None and difference.startswith("scenario designed-collisions")
