"""listener_update, optimized: the same LDS update with hashes computed once per message.

Models the same Envoy code as :mod:`baselines.listener_update`
(``ListenerManagerImpl::addOrUpdateListenerInternal`` in
``source/common/listener_manager/listener_manager_impl.cc``,
``FilterChainManagerImpl::addFilterChains`` / ``findExistingFilterChain`` in
``filter_chain_manager_impl.cc``, ``ListenerImpl::diffFilterChain`` and
``ListenerMessageUtil::filterChainOnlyChange`` in ``listener_impl.cc``), step for step and
with the same absl map emulation (:class:`workloads.flatmap.FlatMap`); only the map functors
change:

- ``cached`` (primary): Higress PR #3113 ``bazel/protobuf_hash_cache.patch`` with its
  ``HashCachedMessageUtil`` functors (and the Sealos ``CachedMessageUtil``). The listener
  hash computes, once, the cached hash of every message of the decoded update
  (:class:`optimized.filterchain_hash.HashCache`); each map key then carries its message's
  hash (:class:`workloads.protohash.HashedKey`), so a find, an insert or a growth re-hash
  reads a number instead of rendering a chain, and a chain of the previous update keeps the
  hash it was given then. Equality is equality of the cached hashes: no deep compare.
- ``deterministic``: upstream Envoy (1.30+) ``MessageUtil::hash`` =
  ``DeterministicProtoHash::hash`` (:class:`optimized.filterchain_hash.DeterministicHasher`),
  still recomputed on every map operation, and still ``MessageDifferencer::Equivalent``.

Cost per update with ``n`` chains: cached, one hash per new message (O(n) over the fields
outside Any payloads) plus O(1) per map operation; deterministic, the baseline's 6-7 full
hashes per chain with a cheaper hash function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from optimized.filterchain_hash import DeterministicHasher, HashCache
from workloads.counters import Counters
from workloads.flatmap import (
    ChainImpl,
    Decision,
    DuplicateMatch,
    FlatMap,
    ListenerState,
    MapStats,
    UpdateInputs,
    UpdateResult,
)
from workloads.protohash import (
    HashedKey,
    Message,
    decode_listener,
    equivalent,
    filter_chain_only_change,
)


class _Keys(Protocol):
    """How map keys are made, hashed and compared (the absl Hash and Eq functors)."""

    def key(self, message: Message) -> Any: ...
    def listener_hash(self, listener: Message) -> int: ...
    def hash(self, key: Any) -> int: ...
    def eq(self, a: Any, b: Any) -> bool: ...
    def report(self, counters: Counters) -> None: ...


class _CachedKeys:
    """Keys carry their message's cached hash; equal keys are keys with equal hashes."""

    def __init__(self) -> None:
        self.cache = HashCache()
        self.requests = 0
        self.compares = 0

    def key(self, message: Message) -> HashedKey:
        self.requests += 1
        return HashedKey(message, self.cache.hash(message))

    def listener_hash(self, listener: Message) -> int:
        self.requests += 1
        return self.cache.hash(listener)

    def hash(self, key: HashedKey) -> int:
        return key.hash

    def eq(self, a: HashedKey, b: HashedKey) -> bool:
        self.compares += 1
        return a.hash == b.hash

    def report(self, counters: Counters) -> None:
        counters.add("full_hashes", self.requests - self.cache.hits)
        counters.add("cache_hits", self.cache.hits)
        counters.add("messages_hashed", self.cache.computed)
        counters.add("hash_compares", self.compares)
        counters.add("deep_compares", 0)


class _DeterministicKeys:
    """Keys are the messages; ``DeterministicProtoHash`` every time, deep equality."""

    def __init__(self) -> None:
        self.hasher = DeterministicHasher()
        self.calls = 0
        self.compares = 0

    def key(self, message: Message) -> Message:
        return message

    def listener_hash(self, listener: Message) -> int:
        self.calls += 1
        return self.hasher(listener)

    def hash(self, key: Message) -> int:
        self.calls += 1
        return self.hasher(key)

    def eq(self, a: Message, b: Message) -> bool:
        self.compares += 1
        return equivalent(a, b)

    def report(self, counters: Counters) -> None:
        counters.add("full_hashes", self.calls)
        counters.add("messages_hashed", self.hasher.messages)
        counters.add("any_unpacks", self.hasher.any_unpacks)
        counters.add("deep_compares", self.compares)


def _update(
    old: ListenerState[Any] | None,
    data: bytes,
    counters: Counters,
    keys: _Keys,
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    config = decode_listener(data)  # each LDS update is decoded into fresh messages
    chains = config.filter_chains
    listener_hash = keys.listener_hash(config)
    counters.add("listener_hashes", 1)
    if old is not None and old.hash == listener_hash:  # blockUpdate: a no-op update
        keys.report(counters)
        return UpdateResult("no-op", len(chains), (), ()), old

    in_place = False
    if old is not None and len(chains) > 0:
        counters.add("listener_compares", 1)
        in_place = filter_chain_only_change(old.config, config)
    decision: Decision = "added" if old is None else "in-place" if in_place else "full"

    fc_stats, match_stats = MapStats(), MapStats()
    hash_fn: Callable[[Any], int] = keys.hash
    eq_fn: Callable[[Any, Any], bool] = keys.eq
    origin = (
        old.fc_contexts.view(fc_stats, hash_fn, eq_fn) if old is not None and in_place else None
    )
    fc_contexts: FlatMap[Any, ChainImpl] = FlatMap(hash_fn, eq_fn, fc_stats)
    matches: FlatMap[Any, int] = FlatMap(hash_fn, eq_fn, match_stats)
    positions: dict[ChainImpl, int] = {}
    rebuilt: list[int] = []
    built = old.built if old is not None else 0
    duplicate: DuplicateMatch | None = None

    for i, chain in enumerate(chains):
        # verifyNoDuplicateMatchers: find, then insert, keyed by the FilterChainMatch.
        match_key = keys.key(chain.filter_chain_match)
        first = matches.find(match_key)
        if first is not None:
            duplicate = DuplicateMatch(i, first)
            break
        matches.try_emplace(match_key, i)
        chain_key = keys.key(chain)
        # findExistingFilterChain: find in the origin's fc_contexts_, emplace a copy on a hit.
        impl = origin.find(chain_key) if origin is not None else None
        if impl is not None:
            fc_contexts.try_emplace(chain_key, impl)
        else:
            impl = ChainImpl(built)
            built += 1
            rebuilt.append(i)
        fc_contexts.assign(chain_key, impl)  # fc_contexts_[*filter_chain] = impl
        positions[impl] = i

    drained: tuple[int, ...] = ()
    if duplicate is None and old is not None:
        if origin is not None:
            # diffFilterChain: each old chain not found in the new map is drained.
            drained = _diff_filter_chains(old, origin, fc_contexts)
        else:  # a full update drains the whole old listener
            drained = tuple(sorted(old.positions.values()))

    keys.report(counters)
    _report(counters, fc_stats, match_stats, len(chains), len(rebuilt), len(drained))
    result = UpdateResult(decision, len(chains), tuple(rebuilt), drained, duplicate)
    if duplicate is not None:  # the update is rejected; the old listener stays
        return result, old
    return result, ListenerState(
        config.name, listener_hash, config, fc_contexts, positions, built, keys
    )


def _diff_filter_chains(
    old: ListenerState[Any], origin: FlatMap[Any, ChainImpl], fc_contexts: FlatMap[Any, ChainImpl]
) -> tuple[int, ...]:
    """``diffFilterChain``: the old chains the new map does not find, by old position."""
    return tuple(
        sorted(old.positions[impl] for key, impl in origin.items() if fc_contexts.find(key) is None)
    )


def _report(
    counters: Counters,
    fc_stats: MapStats,
    match_stats: MapStats,
    chains: int,
    rebuilt: int,
    drained: int,
) -> None:
    for name, n in fc_stats.as_counts("fc_").items():
        counters.add(name, n)
    for name, n in match_stats.as_counts("match_").items():
        counters.add(name, n)
    counters.add("chains_built", rebuilt)
    counters.add("chains_reused", chains - rebuilt)
    counters.add("chains_drained", drained)


def apply_update(
    old: ListenerState[Any] | None, data: bytes, counters: Counters
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    """One LDS update of one listener with cached hashes: ``data`` is the new Listener's
    wire bytes.

    ``old`` is the active listener's state (None before the first add), built by this same
    strategy. Returns the outcome and the listener's state afterwards (``old`` itself after
    a no-op or a rejected update). ``old`` is only read, never changed.
    """
    return _update(old, data, counters, _CachedKeys())


def initial_state(data: bytes, counters: Counters) -> ListenerState[Any]:
    """The state after the first add of the listener in ``data`` (every chain built)."""
    result, state = apply_update(None, data, counters)
    if state is None:
        raise ValueError(f"the listener was rejected: {result.duplicate}")
    return state


def update_listener(inputs: UpdateInputs, counters: Counters) -> UpdateResult:
    """The registered ``cached`` implementation: apply ``inputs.new_bytes``."""
    result, state = apply_update(inputs.state("cached"), inputs.new_bytes, counters)
    inputs.retain(state)
    return result


def apply_update_deterministic(
    old: ListenerState[Any] | None, data: bytes, counters: Counters
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    """:func:`apply_update` with upstream's deterministic hash and deep equality."""
    return _update(old, data, counters, _DeterministicKeys())


def initial_state_deterministic(data: bytes, counters: Counters) -> ListenerState[Any]:
    result, state = apply_update_deterministic(None, data, counters)
    if state is None:
        raise ValueError(f"the listener was rejected: {result.duplicate}")
    return state


def update_listener_deterministic(inputs: UpdateInputs, counters: Counters) -> UpdateResult:
    """The registered ``deterministic`` implementation."""
    old = inputs.state("deterministic")
    result, state = apply_update_deterministic(old, inputs.new_bytes, counters)
    inputs.retain(state)
    return result
