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

from typing import Any

from gwbench.optimized.filterchain_hash import DeterministicHasher, HashCache
from gwbench.workloads import lds
from gwbench.workloads.counters import Counters
from gwbench.workloads.flatmap import (
    ListenerState,
    UpdateInputs,
    UpdateResult,
)
from gwbench.workloads.protohash import (
    HashedKey,
    Message,
    equivalent,
)


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


def apply_update(
    old: ListenerState[Any] | None, data: bytes, counters: Counters
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    """One LDS update of one listener with cached hashes: ``data`` is the new Listener's
    wire bytes.

    ``old`` is the active listener's state (None before the first add), built by this same
    strategy. Returns the outcome and the listener's state afterwards (``old`` itself after
    a no-op or a rejected update). ``old`` is only read, never changed.
    """
    return lds.update(old, data, counters, _CachedKeys())


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
    return lds.update(old, data, counters, _DeterministicKeys())


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
