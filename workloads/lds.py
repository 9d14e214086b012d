"""The LDS update algorithm both listener_update twins run: Envoy's in-place filter-chain
update over absl maps, with the map-key strategy (how a FilterChain is hashed and compared)
left to the caller.

Models ``ListenerManagerImpl::addOrUpdateListenerInternal``,
``FilterChainManagerImpl::addFilterChains`` (``verifyNoDuplicateMatchers``,
``findExistingFilterChain``) and ``ListenerImpl::diffFilterChain``; see
``baselines/listener_update.py`` for the details. The baseline passes ``MessageUtil`` keys
(TextFormat hash, deep compare), the optimized twin cached hashes: the algorithm is one
piece of code, so the two differ only in their keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from gwbench.workloads.counters import Counters
from gwbench.workloads.flatmap import (
    ChainImpl,
    Decision,
    DuplicateMatch,
    FlatMap,
    ListenerState,
    MapStats,
    UpdateResult,
)
from gwbench.workloads.protohash import Message, decode_listener, filter_chain_only_change


class KeyStrategy(Protocol):
    """How map keys are made, hashed and compared (the absl Hash and Eq functors)."""

    def key(self, message: Message) -> Any: ...
    def listener_hash(self, listener: Message) -> int: ...
    def hash(self, key: Any) -> int: ...
    def eq(self, a: Any, b: Any) -> bool: ...
    def report(self, counters: Counters) -> None: ...


MatchMap = Callable[[Callable[[Any], int], Callable[[Any, Any], bool], MapStats], Any]
"""Builds the duplicate-matcher map from (hash, eq, stats); default :class:`FlatMap`."""


def update(
    old: ListenerState[Any] | None,
    data: bytes,
    counters: Counters,
    keys: KeyStrategy,
    match_map: MatchMap = FlatMap,
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
    matches = match_map(hash_fn, eq_fn, match_stats)
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
