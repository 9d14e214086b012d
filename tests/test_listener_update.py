"""GIVEN an active port-443 listener WHEN Envoy receives an LDS update (one domain added,
nothing changed, a chain removed, a duplicate match, a listener-level change) THEN the
baseline (TextFormat keys, deep equality), cached and deterministic implementations take the
same decisions, reuse and drain the same chains, and their counters show the work each did;
the absl map emulation counts growths and re-hashes as absl does."""

from __future__ import annotations

from typing import Any

import pytest
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from google.protobuf import any_pb2

from gwbench.baselines import filterchain_hash as baseline_hash
from gwbench.baselines import listener_update as baseline
from gwbench.harness import registry
from gwbench.harness.hotpaths import listener_update as hp_module
from gwbench.harness.hotpaths.listener_update import inputs_for, update_bytes
from gwbench.optimized import filterchain_hash as optimized_hash
from gwbench.optimized import listener_update as optimized
from gwbench.workloads.counters import Counters
from gwbench.workloads.flatmap import (
    DuplicateMatch,
    FlatMap,
    ListenerState,
    MapStats,
    UpdateInputs,
    UpdateResult,
    compare_updates,
)
from gwbench.workloads.generate import generate
from gwbench.workloads.model import WorkloadSpec
from gwbench.workloads.protohash import HashedKey, equivalent, message_class_for

HOTPATH = registry.get("listener_update")


def _listener(data: bytes) -> Any:
    return listener_pb2.Listener.FromString(data)


def _run_all(inputs: UpdateInputs) -> dict[str, tuple[UpdateResult, Counters]]:
    out: dict[str, tuple[UpdateResult, Counters]] = {}
    for impl in HOTPATH.implementations:
        counters = Counters()
        func = impl.func.__wrapped__  # type: ignore[attr-defined]  # the main scenario's
        out[impl.name] = (func(hp_module.specialize(inputs, impl.name), counters), counters)
    return out


def _assert_all_agree(results: dict[str, tuple[UpdateResult, Counters]]) -> UpdateResult:
    expected = results["baseline"][0]
    for name, (result, _) in results.items():
        assert compare_updates(expected, result) is None, name
    return expected


@pytest.fixture(scope="module")
def small() -> tuple[bytes, bytes]:
    return update_bytes(generate(WorkloadSpec(50, 5)))


# ---- the lab scenario and its variants -------------------------------------------------


@pytest.mark.parametrize(("n", "seed"), [(50, 1), (200, 3)])
def test_one_new_domain_is_an_in_place_update_reusing_every_old_chain(n: int, seed: int) -> None:
    inputs = hp_module.make_inputs(generate(WorkloadSpec(n, seed)))
    old_chains = len(_listener(inputs.old_bytes).filter_chains)
    results = _run_all(inputs)
    result = _assert_all_agree(results)
    assert result.decision == "in-place"
    assert result.chains == old_chains + 1
    assert result.rebuilt == (old_chains,)
    assert result.reused == old_chains
    assert result.drained == ()
    assert result.duplicate is None

    # The states the updates produced live until the untimed prepare releases them.
    assert len(inputs.retained) == len(HOTPATH.implementations)
    assert hp_module.prepare(inputs) is inputs
    assert inputs.retained == []

    base, cached, intended, det = (
        results[k][1] for k in ("baseline", "cached", "cached-intended", "deterministic")
    )
    # Baseline: about 6-7 full TextFormat hashes per chain (the listener render, then the
    # find, emplace, assignment, growth re-hashes and drain find of each chain), and 3 deep
    # compares per reused chain.
    per_chain = (base.get("fc_hash_calls") + result.chains) / result.chains
    assert 5.9 <= per_chain <= 7.1, per_chain
    assert base.get("chain_hashes") == base.get("fc_hash_calls")
    assert base.get("match_hashes") == base.get("match_hash_calls")
    assert base.get("deep_compares") == 3 * result.reused
    assert base.get("messages_compared") > 10 * base.get("deep_compares")
    assert base.get("fc_keys_rehashed") > 0
    # Cached as intended: each chain hashed once (inside the listener hash, which caches
    # every message), no deep compare; the same map operations, answered by cached hashes.
    assert intended.get("chain_hashes") == result.chains
    assert intended.get("match_hashes") == result.chains
    assert intended.get("deep_compares") == 0
    assert intended.get("hash_compares") == 3 * result.reused
    # Cached as shipped: a copy starts with an empty cache (decoded update, config_, the
    # stored key), and the bool hash functor puts every match on one probe sequence.
    assert cached.get("chain_hashes") == 3 * result.chains
    assert cached.get("match_eq_calls") == result.chains * (result.chains - 1)
    for name in ("fc_finds", "fc_inserts", "fc_hash_calls", "fc_growths", "match_hash_calls"):
        assert cached.get(name) == base.get(name) == det.get(name), name
    # Deterministic: as many hashes as the baseline, no text rendered.
    assert det.get("chain_hashes") == base.get("chain_hashes")
    assert det.get("bytes_rendered") == 0 and base.get("bytes_rendered") > 0


def test_an_unchanged_listener_is_a_no_op_update(small: tuple[bytes, bytes]) -> None:
    old_bytes, _ = small
    inputs = inputs_for(old_bytes, old_bytes)
    results = _run_all(inputs)
    result = _assert_all_agree(results)
    assert result.decision == "no-op"
    assert result.rebuilt == () and result.drained == ()
    for name, (_, counters) in results.items():
        assert counters.get("listener_hashes") == 1, name
        assert counters.get("fc_finds") == 0, name


def test_a_removed_chain_is_drained_and_nothing_is_rebuilt(small: tuple[bytes, bytes]) -> None:
    old_bytes, _ = small
    new = _listener(old_bytes)
    del new.filter_chains[5]
    result = _assert_all_agree(_run_all(inputs_for(old_bytes, new.SerializeToString())))
    assert result.decision == "in-place"
    assert result.drained == (5,)
    assert result.rebuilt == ()


def test_a_listener_level_change_is_a_full_update(small: tuple[bytes, bytes]) -> None:
    old_bytes, new_bytes = small
    new = _listener(new_bytes)
    new.continue_on_listener_filters_timeout = False
    result = _assert_all_agree(_run_all(inputs_for(old_bytes, new.SerializeToString())))
    old_chains = len(_listener(old_bytes).filter_chains)
    assert result.decision == "full"
    assert result.rebuilt == tuple(range(old_chains + 1))
    assert result.drained == tuple(range(old_chains))


def test_duplicate_server_names_give_the_same_error_everywhere(
    small: tuple[bytes, bytes],
) -> None:
    old_bytes, new_bytes = small
    new = _listener(new_bytes)
    added = new.filter_chains[len(new.filter_chains) - 1]
    added.filter_chain_match.CopyFrom(new.filter_chains[3].filter_chain_match)
    result = _assert_all_agree(_run_all(inputs_for(old_bytes, new.SerializeToString())))
    assert result.duplicate == DuplicateMatch(index=len(new.filter_chains) - 1, first=3)
    assert result.drained == ()


def test_a_first_add_with_duplicate_matches_is_rejected(small: tuple[bytes, bytes]) -> None:
    old_bytes, _ = small
    bad = _listener(old_bytes)
    bad.filter_chains[1].filter_chain_match.CopyFrom(bad.filter_chains[0].filter_chain_match)
    for initial_state in (
        baseline.initial_state,
        optimized.initial_state,
        optimized.initial_state_deterministic,
    ):
        with pytest.raises(ValueError, match="index=1, first=0"):
            initial_state(bad.SerializeToString(), Counters())


def _layout(state: ListenerState[Any]) -> tuple[object, ...]:
    """Everything a baseline state holds, messages as their wire bytes."""
    fc = state.fc_contexts
    buckets = [
        (h, [(key.SerializeToString(deterministic=True), impl.serial) for key, impl in bucket])
        for h, bucket in fc._buckets.items()
    ]
    return (
        state.name,
        state.hash,
        state.built,
        state.config.SerializeToString(deterministic=True),
        sorted((impl.serial, i) for impl, i in state.positions.items()),
        len(fc),
        fc.capacity,
        fc.stats.as_counts(""),
        buckets,
    )


def test_the_memoized_set_up_builds_the_baseline_state_the_real_way_builds() -> None:
    """GIVEN a listener with custom-domain certificates and mixed ALPN WHEN the baseline's
    initial state is built with each distinct chain rendered once THEN it is the state of
    the real add (every map operation rendering its key), for far fewer renders, and an
    update over either state gives the same result and the same counters."""
    old_bytes, new_bytes = update_bytes(generate(WorkloadSpec(200, 3)))
    plain_counts, memo_counts = Counters(), Counters()
    plain = baseline.initial_state(old_bytes, plain_counts, memoized=False)
    memo = baseline.initial_state(old_bytes, memo_counts)
    assert _layout(memo) == _layout(plain)

    def renders(c: Counters) -> int:
        return c.get("chain_hashes") + c.get("match_hashes")

    assert renders(memo_counts) * 2 < renders(plain_counts)
    updates = []
    for state in (plain, memo):
        counters = Counters()
        result, _ = baseline.apply_update(state, new_bytes, counters)
        updates.append((result, counters.as_dict()))
    assert updates[0] == updates[1]
    assert updates[0][1]["chain_hashes"] > 4 * len(_listener(new_bytes).filter_chains)


def test_states_chain_across_updates_and_cached_hashes_carry_over(
    small: tuple[bytes, bytes],
) -> None:
    """GIVEN the state after one update WHEN a second domain is added THEN only the new
    listener's messages are hashed: the previous update's chains keep their hashes."""
    old_bytes, new_bytes = small
    second = _listener(new_bytes)
    extra = listener_components_pb2.FilterChain()
    extra.CopyFrom(second.filter_chains[0])
    extra.filter_chain_match.server_names[:] = ["second-new-domain.example.com"]
    second.filter_chains.append(extra)
    outcomes = []
    for apply_update, initial_state in (
        (baseline.apply_update, baseline.initial_state),
        (optimized.apply_update_intended, optimized.initial_state_intended),
    ):
        _, state = apply_update(initial_state(old_bytes, Counters()), new_bytes, Counters())
        counters = Counters()
        result, _ = apply_update(state, second.SerializeToString(), counters)
        outcomes.append((result, counters))
    (base, base_counts), (cached, cached_counts) = outcomes
    assert compare_updates(base, cached) is None
    assert cached.rebuilt == (len(second.filter_chains) - 1,)
    # each chain of the decoded update hashed once; the old state's keys keep theirs
    assert cached_counts.get("chain_hashes") == len(second.filter_chains)
    assert base_counts.get("chain_hashes") > 4 * len(second.filter_chains)


# ---- labelled semantic differences and forced collisions -------------------------------


def test_semantic_difference_re_encoded_any_is_reused_by_baseline_rebuilt_by_cached(
    small: tuple[bytes, bytes],
) -> None:
    """A chain whose HCM Any is re-encoded in another field order: TextFormat hashes and
    Equivalent see the same chain (reused); the cached hash reads bytes (rebuilt, drained).
    The cached strategy can only rebuild more, never reuse a chain that changed."""
    old_bytes, _ = small
    new = _listener(old_bytes)
    hcm_any = new.filter_chains[2].filters[0].typed_config
    cls = message_class_for(hcm_any.type_url)
    assert cls is not None
    hcm = cls.FromString(hcm_any.value)
    parts = []
    for field, _ in hcm.ListFields():
        single = cls()
        single.CopyFrom(hcm)
        for other, _ in single.ListFields():
            if other is not field:
                single.ClearField(other.name)
        parts.append(single.SerializeToString(deterministic=True))
    hcm_any.CopyFrom(any_pb2.Any(type_url=hcm_any.type_url, value=b"".join(reversed(parts))))
    results = _run_all(inputs_for(old_bytes, new.SerializeToString()))
    assert results["baseline"][0].rebuilt == ()
    assert results["deterministic"][0].rebuilt == ()
    assert results["cached"][0].rebuilt == (2,)
    assert results["cached"][0].drained == (2,)
    assert equivalent(new.filter_chains[2], _listener(old_bytes).filter_chains[2])


def test_forced_collision_deep_compare_separates_keys_cached_equality_does_not() -> None:
    """Two different chains forced onto one 64-bit hash: a map with Envoy's deep equality
    keeps them apart; a map whose equality is the cached hash takes one for the other."""
    chains = listener_pb2.Listener.FromString(
        listener_pb2.Listener(
            filter_chains=[
                listener_components_pb2.FilterChain(
                    filter_chain_match=listener_components_pb2.FilterChainMatch(server_names=[name])
                )
                for name in ("a.example.com", "b.example.com")
            ]
        ).SerializeToString()
    ).filter_chains
    first, second = chains[0], chains[1]

    def fake_hash(_: Any) -> int:
        return 42

    deep: FlatMap[Any, str] = FlatMap(fake_hash, equivalent, MapStats())
    deep.assign(first, "a")
    assert deep.find(second) is None
    assert deep.stats.eq_calls == 1

    by_hash: FlatMap[HashedKey, str] = FlatMap(
        lambda k: k.hash, lambda x, y: x.hash == y.hash, MapStats()
    )
    by_hash.assign(HashedKey(first, fake_hash(first)), "a")
    assert by_hash.find(HashedKey(second, fake_hash(second))) == "a"


def test_forced_collision_in_a_listener_update(
    small: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new chain's hash forced equal to chain 0's: the baseline's deep compare still
    rebuilds it; the cached strategy takes it for chain 0 and rebuilds nothing, which the
    hot path's compare reports."""
    old_bytes, new_bytes = small
    new_host = list(_listener(new_bytes).filter_chains[-1].filter_chain_match.server_names)
    chain0 = _listener(old_bytes).filter_chains[0]

    def is_new_chain(message: Any) -> bool:
        return bool(
            message.DESCRIPTOR.name == "FilterChain"
            and list(message.filter_chain_match.server_names) == new_host
        )

    text_call = baseline_hash.TextHasher.__call__

    def colliding_text(self: baseline_hash.TextHasher, message: Any) -> int:
        return text_call(self, chain0 if is_new_chain(message) else message)

    compute = optimized_hash.HashCache._compute

    def colliding_compute(self: optimized_hash.HashCache, message: Any) -> int:
        if is_new_chain(message):
            h = compute(self, chain0)
            self._memo[id(message)] = h
            self._keep.append(message)
            return h
        return compute(self, message)

    monkeypatch.setattr(baseline_hash.TextHasher, "__call__", colliding_text)
    monkeypatch.setattr(optimized_hash.HashCache, "_compute", colliding_compute)
    inputs = inputs_for(old_bytes, new_bytes)
    results = _run_all(inputs)
    base, cached = results["baseline"][0], results["cached"][0]
    assert base.rebuilt == (base.chains - 1,)
    assert cached.rebuilt == ()
    assert compare_updates(base, cached) is not None


# ---- the absl map emulation ------------------------------------------------------------


def test_flat_map_grows_like_absl_and_rehashes_every_key_on_growth() -> None:
    calls: list[int] = []

    def counting_hash(key: int) -> int:
        calls.append(key)
        return key * 2654435761 % 2**64

    m: FlatMap[int, int] = FlatMap(counting_hash, lambda a, b: a == b, MapStats())
    for i in range(15):
        assert m.try_emplace(i, i)
    # Capacities 1, 3, 7, 15, 31 (room for 1, 3, 7, 14, 28): growths before inserts
    # 1, 2, 4, 8 and 15, each re-hashing the keys stored then: 0 + 1 + 3 + 7 + 14.
    assert m.capacity == 31
    assert m.stats.growths == 5
    assert m.stats.keys_rehashed == 25
    assert len(calls) == m.stats.hash_calls == 15 + 25
    assert not m.try_emplace(3, 99)
    assert m.find(3) == 3
    m.assign(3, 99)
    assert m.find(3) == 99
    assert len(m) == 15
    assert m.stats.finds == 2 and m.stats.inserts == 17
