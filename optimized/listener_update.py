"""listener_update, optimized: the same LDS update with cached message hashes, as shipped and
as intended, and upstream's deterministic hash.

Models the same Envoy code as :mod:`baselines.listener_update`
(``ListenerManagerImpl::addOrUpdateListenerInternal`` in
``source/common/listener_manager/listener_manager_impl.cc``,
``FilterChainManagerImpl::addFilterChains`` / ``findExistingFilterChain`` in
``filter_chain_manager_impl.cc``, ``ListenerImpl::diffFilterChain`` and
``ListenerMessageUtil::filterChainOnlyChange`` in ``listener_impl.cc``), step for step and
with the same absl map emulation (:class:`workloads.flatmap.FlatMap`); only the map functors
change:

- ``cached`` (the default: Higress PR #3113 as shipped; ``bazel/protobuf_hash_cache.patch``
  and ``HashCachedMessageUtil`` in ``source/common/protobuf/utility.h`` of the Higress Envoy
  fork). Two facts read in the source decide its cost:

  * the cache is two members of ``Message`` with default initialisers
    (``mutable uint64_t cached_hash_value_ = 0; mutable bool hash_cached_ = false;``) and
    the patch adds nothing to the copy constructors, so a copied message starts with an
    empty cache. Envoy copies the decoded update into ``ListenerImpl::config_`` and the
    maps copy their keys, so each chain is hashed about three times per update: in the
    decoded update (the listener hash), in ``config_`` (the finds), and as a stored key;
  * ``HashCachedMessageUtil``'s hash functor is declared ``bool operator()(const
    Protobuf::Message&)`` and returns ``GetCachedHashValue()``: the 64-bit hash converted
    to ``bool``, 1 for every key. The duplicate-matcher map of ``addFilterChains``
    (``absl::node_hash_map<FilterChainMatch, std::string, HashCachedMessageUtil,
    HashCachedMessageUtil>``) therefore puts every key on one probe sequence with the same
    H2 tag, and each find or insert calls the equality (two cached hashes compared) on
    every stored key: O(N^2) equality calls per update. :class:`OneBucketMap` models that
    map; its scan runs at C speed (a list search over the cached hash values), as the
    equality of two cached hashes is a few machine instructions in Envoy. The declaration
    of ``fc_contexts_`` in the fork was not available to read; it is modelled with the
    cached hash as a proper hash.
- ``cached-intended``: what the fix intends (and the Sealos ``CachedMessageUtil``, which
  keeps the cache across copies): each message hashed once per update, a chain of the
  previous update keeping its hash, and a hash functor that returns the hash. Equality is
  equality of the cached hashes: no deep compare.
- ``deterministic``: upstream Envoy (1.30+) ``MessageUtil::hash`` =
  ``DeterministicProtoHash::hash`` (:class:`optimized.filterchain_hash.DeterministicHasher`),
  still recomputed on every map operation, and still ``MessageDifferencer::Equivalent``.

Counters: ``chain_hashes`` (FilterChain hashes computed, not read from a cache),
``match_hashes`` (FilterChainMatch hashes computed), ``cache_hits``, ``messages_hashed``,
``hash_compares`` or ``deep_compares`` and ``messages_compared``.

Cost per update with ``n`` chains: cached as shipped, about 3 hashes per chain plus
O(n^2) cheap equality calls in the matcher map; cached as intended, one hash per new
message plus O(1) per map operation; deterministic, the baseline's 6-7 full hashes per
chain with a cheaper hash function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gwbench.optimized.filterchain_hash import DeterministicHasher, HashCache
from gwbench.workloads import lds
from gwbench.workloads.counters import Counters
from gwbench.workloads.flatmap import (
    ListenerState,
    MapStats,
    UpdateInputs,
    UpdateResult,
    growth_for,
)
from gwbench.workloads.protohash import (
    MATCH_FULL_NAME,
    Differencer,
    HashedKey,
    Message,
    is_match,
)

CHAIN_FULL_NAME = "envoy.config.listener.v3.FilterChain"


class _CachedKeys:
    """Keys carry their message's cached hash; equal keys are keys with equal hashes.

    One cache for the whole update (the intended fix: a hash survives copies)."""

    def __init__(self) -> None:
        self.cache = HashCache()
        self.compares = 0

    def key(self, message: Message) -> HashedKey:
        return HashedKey(message, self.cache.hash(message))

    def listener_hash(self, listener: Message) -> int:
        return self.cache.hash(listener)

    def hash(self, key: HashedKey) -> int:
        return key.hash

    def eq(self, a: HashedKey, b: HashedKey) -> bool:
        self.compares += 1
        return a.hash == b.hash

    def caches(self) -> tuple[HashCache, ...]:
        return (self.cache,)

    def report(self, counters: Counters) -> None:
        caches = self.caches()
        counters.add("chain_hashes", sum(c.computed_of(CHAIN_FULL_NAME) for c in caches))
        counters.add("match_hashes", sum(c.computed_of(MATCH_FULL_NAME) for c in caches))
        counters.add("cache_hits", sum(c.hits for c in caches))
        counters.add("messages_hashed", sum(c.computed for c in caches))
        counters.add("hash_compares", self.compares)
        counters.add("deep_compares", 0)


class _ShippedCachedKeys(_CachedKeys):
    """PR #3113 as shipped: a copied message has an empty cache.

    ``cache`` holds the decoded update's hashes (the listener hash), ``config`` those of
    ``ListenerImpl::config_`` (the copy whose chains are looked up), ``stored`` those of
    the key copies the maps store. A key's hash is its ``config_`` copy's; inserting it
    stores a copy, whose hash is computed again on first use."""

    def __init__(self) -> None:
        super().__init__()
        self.config = HashCache()
        self.stored = HashCache()

    def key(self, message: Message) -> HashedKey:
        h = self.config.hash(message)
        self.stored.hash(message)  # the stored copy's first GetCachedHashValue()
        return HashedKey(message, h)

    def caches(self) -> tuple[HashCache, ...]:
        return (self.cache, self.config, self.stored)


class OneBucketMap:
    """An absl map whose hash functor returns ``bool``: every key hashes to 1.

    Same interface and counts as :class:`workloads.flatmap.FlatMap`. Every key sits on
    the same probe sequence with the same H2 tag, so a find or an insert calls the
    equality on stored keys in order until one matches (all of them on a miss). The
    equality compares two cached hashes; the scan is a C-level list search over the stored
    keys' hash values, and ``eq_calls`` counts exactly the keys it compared.
    """

    __slots__ = ("_capacity", "_hashes", "_keys", "_values", "stats")

    def __init__(
        self,
        hash_fn: Callable[[Any], int],
        eq_fn: Callable[[Any, Any], bool],
        stats: MapStats | None = None,
    ) -> None:
        # hash_fn and eq_fn are the strategy's; this map reads the cached hash directly.
        del hash_fn, eq_fn
        self._keys: list[HashedKey] = []
        self._hashes: list[int] = []
        self._values: list[Any] = []
        self._capacity = 0
        self.stats = stats if stats is not None else MapStats()

    def __len__(self) -> int:
        return len(self._keys)

    def _lookup(self, key: HashedKey) -> int:
        stats = self.stats
        stats.hash_calls += 1  # bool(GetCachedHashValue()): 1
        try:
            i = self._hashes.index(key.hash)
        except ValueError:
            stats.eq_calls += len(self._hashes)
            return -1
        stats.eq_calls += i + 1
        return i

    def find(self, key: HashedKey) -> Any:
        self.stats.finds += 1
        i = self._lookup(key)
        return None if i < 0 else self._values[i]

    def try_emplace(self, key: HashedKey, value: Any) -> bool:
        self.stats.inserts += 1
        if self._lookup(key) >= 0:
            return False
        self._add(key, value)
        return True

    def assign(self, key: HashedKey, value: Any) -> None:
        self.stats.inserts += 1
        i = self._lookup(key)
        if i >= 0:
            self._values[i] = value
        else:
            self._add(key, value)

    def _add(self, key: HashedKey, value: Any) -> None:
        size = len(self._keys)
        if size >= growth_for(self._capacity):
            self._capacity = self._capacity * 2 + 1
            self.stats.growths += 1
            self.stats.keys_rehashed += size
            self.stats.hash_calls += size
        self._keys.append(key)
        self._hashes.append(key.hash)
        self._values.append(value)

    def items(self) -> Iterator[tuple[HashedKey, Any]]:
        return zip(self._keys, self._values, strict=True)


class _DeterministicKeys:
    """Keys are the messages; ``DeterministicProtoHash`` every time, deep equality."""

    def __init__(self) -> None:
        self.hasher = DeterministicHasher()
        self.differencer = Differencer()
        self.chain_calls = 0
        self.match_calls = 0

    def key(self, message: Message) -> Message:
        return message

    def listener_hash(self, listener: Message) -> int:
        return self.hasher(listener)

    def hash(self, key: Message) -> int:
        if is_match(key):
            self.match_calls += 1
        else:
            self.chain_calls += 1
        return self.hasher(key)

    def eq(self, a: Message, b: Message) -> bool:
        return self.differencer(a, b)

    def report(self, counters: Counters) -> None:
        counters.add("chain_hashes", self.chain_calls)
        counters.add("match_hashes", self.match_calls)
        counters.add("messages_hashed", self.hasher.messages)
        counters.add("any_unpacks", self.hasher.any_unpacks + self.differencer.any_unpacks)
        self.differencer.report(counters)


def _rejected(result: UpdateResult) -> ValueError:
    return ValueError(f"the listener was rejected: {result.duplicate}")


# ---- cached, as shipped (the default) ---------------------------------------------------


Apply = Callable[
    [ListenerState[Any] | None, bytes, Counters], tuple[UpdateResult, ListenerState[Any] | None]
]


def _first_state(apply: Apply, data: bytes, counters: Counters) -> ListenerState[Any]:
    result, state = apply(None, data, counters)
    if state is None:
        raise _rejected(result)
    return state


def _update(apply: Apply, name: str, inputs: UpdateInputs, counters: Counters) -> UpdateResult:
    """``apply`` ``inputs.new_bytes`` over the state implementation ``name`` keeps."""
    result, state = apply(inputs.state(name), inputs.new_bytes, counters)
    inputs.retain(state)
    return result


def apply_update(
    old: ListenerState[Any] | None, data: bytes, counters: Counters
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    """One LDS update of one listener, PR #3113 as shipped: ``data`` is the new Listener's
    wire bytes; ``old`` the active listener's state (None before the first add), built by
    this same strategy. Returns the outcome and the state afterwards (``old`` itself after
    a no-op or a rejected update). ``old`` is only read, never changed."""
    return lds.update(old, data, counters, _ShippedCachedKeys(), OneBucketMap)


def initial_state(data: bytes, counters: Counters) -> ListenerState[Any]:
    """The state after the first add of the listener in ``data`` (every chain built)."""
    return _first_state(apply_update, data, counters)


def update_listener(inputs: UpdateInputs, counters: Counters) -> UpdateResult:
    """The registered ``cached`` implementation: apply ``inputs.new_bytes``."""
    return _update(apply_update, "cached", inputs, counters)


# ---- cached, as intended ---------------------------------------------------------------


def apply_update_intended(
    old: ListenerState[Any] | None, data: bytes, counters: Counters
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    """:func:`apply_update` with one cache per update and a hash functor that hashes."""
    return lds.update(old, data, counters, _CachedKeys())


def initial_state_intended(data: bytes, counters: Counters) -> ListenerState[Any]:
    return _first_state(apply_update_intended, data, counters)


def update_listener_intended(inputs: UpdateInputs, counters: Counters) -> UpdateResult:
    """The registered ``cached-intended`` implementation."""
    return _update(apply_update_intended, "cached-intended", inputs, counters)


# ---- deterministic (upstream) ------------------------------------------------------------


def apply_update_deterministic(
    old: ListenerState[Any] | None, data: bytes, counters: Counters
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    """:func:`apply_update` with upstream's deterministic hash and deep equality."""
    return lds.update(old, data, counters, _DeterministicKeys())


def initial_state_deterministic(data: bytes, counters: Counters) -> ListenerState[Any]:
    return _first_state(apply_update_deterministic, data, counters)


def update_listener_deterministic(inputs: UpdateInputs, counters: Counters) -> UpdateResult:
    """The registered ``deterministic`` implementation."""
    return _update(apply_update_deterministic, "deterministic", inputs, counters)
