"""An absl ``flat_hash_map`` emulation that counts its work, and the listener state kept in it.

Envoy keys ``FilterChainManagerImpl::fc_contexts_`` (an ``absl::flat_hash_map``) by the
FilterChain message, and its duplicate-matcher map (an ``absl::node_hash_map``) by the
FilterChainMatch message, both with ``MessageUtil`` as the hash and the equality functor
(``source/common/listener_manager/filter_chain_manager_impl.h``). Python dicts store each
key's hash and never re-hash on growth; absl's raw_hash_set (``absl/container/internal/
raw_hash_set.h``) stores none, so to be faithful this map

- calls the supplied hash function on every ``find``, ``try_emplace`` and ``assign``;
- starts at capacity 0 and grows through 1, 3, 7, 15, ... (``NextCapacity``: 2 * c + 1), with
  room for ``c - c // 8`` elements (``CapacityToGrowth``: maximum load 7/8); a growth
  re-hashes every stored key (``resize``);
- calls the supplied equality on a stored key only when its full 64-bit hash equals the
  probe's. (absl also calls it on 7-bit H2 tag matches that turn out to be different keys;
  those rare extra compares are not modelled, which can only flatter the baseline.)

Every operation is counted in a :class:`MapStats` (plain integer increments, deterministic).
Operations are amortised O(1) map steps plus one hash call; a growth is O(size) hash calls.

The second half holds the data both listener_update twins share: what one listener's
filter-chain manager owns after an update (:class:`ListenerState`) and the comparable
outcome of an update (:class:`UpdateResult`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class MapStats:
    """Operation counts of one or more maps (shared by the maps of one update)."""

    __slots__ = ("eq_calls", "finds", "growths", "hash_calls", "inserts", "keys_rehashed")

    def __init__(self) -> None:
        self.finds = 0
        self.inserts = 0
        self.hash_calls = 0
        self.eq_calls = 0
        self.growths = 0
        self.keys_rehashed = 0

    def as_counts(self, prefix: str = "map_") -> dict[str, int]:
        return {
            f"{prefix}finds": self.finds,
            f"{prefix}inserts": self.inserts,
            f"{prefix}hash_calls": self.hash_calls,
            f"{prefix}eq_calls": self.eq_calls,
            f"{prefix}growths": self.growths,
            f"{prefix}keys_rehashed": self.keys_rehashed,
        }


def growth_for(capacity: int) -> int:
    """How many elements a table of ``capacity`` slots holds (absl ``CapacityToGrowth``)."""
    return capacity - capacity // 8


class FlatMap(Generic[K, V]):
    """absl ``flat_hash_map<K, V, Hash, Eq>`` semantics, with every hash and compare counted.

    Entries live in a dict keyed by the full hash value (a bucket per value, usually of one
    entry); the dict is only storage: the cost model is absl's, through ``hash_fn`` and
    ``eq_fn`` and the growth schedule.
    """

    __slots__ = ("_buckets", "_capacity", "_eq", "_hash", "_size", "stats")

    def __init__(
        self,
        hash_fn: Callable[[K], int],
        eq_fn: Callable[[K, K], bool],
        stats: MapStats | None = None,
    ) -> None:
        self._hash = hash_fn
        self._eq = eq_fn
        self._buckets: dict[int, list[list[Any]]] = {}
        self._size = 0
        self._capacity = 0
        self.stats = stats if stats is not None else MapStats()

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return self._capacity

    def view(
        self, stats: MapStats, hash_fn: Callable[[K], int], eq_fn: Callable[[K, K], bool]
    ) -> FlatMap[K, V]:
        """The same entries seen through other functors and counted into ``stats``.

        For reading a map built by an earlier update (Envoy's origin manager) without
        touching that map's own counts; the view must not be written to.
        """
        other: FlatMap[K, V] = FlatMap(hash_fn, eq_fn, stats)
        other._buckets = self._buckets
        other._size = self._size
        other._capacity = self._capacity
        return other

    def _lookup(self, key: K, h: int) -> list[Any] | None:
        bucket = self._buckets.get(h)
        if bucket is not None:
            for entry in bucket:
                self.stats.eq_calls += 1
                if self._eq(entry[0], key):
                    return entry
        return None

    def find(self, key: K) -> V | None:
        """``map.find(key)``: the mapped value, or None at ``end()``."""
        stats = self.stats
        stats.finds += 1
        stats.hash_calls += 1
        entry = self._lookup(key, self._hash(key))
        return None if entry is None else entry[1]

    def try_emplace(self, key: K, value: V) -> bool:
        """``emplace`` / ``insert``: add when absent; False (and no change) when present."""
        stats = self.stats
        stats.inserts += 1
        stats.hash_calls += 1
        h = self._hash(key)
        if self._lookup(key, h) is not None:
            return False
        self._add(key, value, h)
        return True

    def assign(self, key: K, value: V) -> None:
        """``map[key] = value``: find or insert the slot, then assign its value."""
        stats = self.stats
        stats.inserts += 1
        stats.hash_calls += 1
        h = self._hash(key)
        entry = self._lookup(key, h)
        if entry is not None:
            entry[1] = value
        else:
            self._add(key, value, h)

    def _add(self, key: K, value: V, h: int) -> None:
        if self._size >= growth_for(self._capacity):
            self._grow()
        bucket = self._buckets.get(h)
        if bucket is None:
            self._buckets[h] = [[key, value]]
        else:
            bucket.append([key, value])
        self._size += 1

    def _grow(self) -> None:
        """absl ``resize(NextCapacity(capacity))``: every stored key is hashed again."""
        self._capacity = self._capacity * 2 + 1
        stats = self.stats
        stats.growths += 1
        stats.keys_rehashed += self._size
        stats.hash_calls += self._size
        hash_fn = self._hash
        rebuilt: dict[int, list[list[Any]]] = {}
        for bucket in self._buckets.values():
            for entry in bucket:
                h = hash_fn(entry[0])
                slot = rebuilt.get(h)
                if slot is None:
                    rebuilt[h] = [entry]
                else:
                    slot.append(entry)
        self._buckets = rebuilt

    def items(self) -> Iterator[tuple[K, V]]:
        """Entries in storage order (absl iteration order is unspecified; so is this)."""
        for bucket in self._buckets.values():
            for entry in bucket:
                yield entry[0], entry[1]


# ---- the listener manager state both listener_update twins share ----------------------

Decision = Literal["added", "no-op", "in-place", "full"]


class ChainImpl:
    """A built FilterChainImpl: what a reused chain carries over (compared by identity)."""

    __slots__ = ("serial",)

    def __init__(self, serial: int) -> None:
        self.serial = serial

    def __repr__(self) -> str:
        return f"ChainImpl({self.serial})"


@dataclass
class ListenerState(Generic[K]):
    """What Envoy keeps of the active listener between two LDS updates.

    ``hash`` is the listener hash stored at add time (``ListenerImpl::hash_``, compared by
    ``blockUpdate``); ``config`` the decoded Listener (for ``filterChainOnlyChange``);
    ``fc_contexts`` the filter-chain manager's map from chain key to built chain;
    ``positions`` each built chain's index in ``config.filter_chains``.
    """

    name: str
    hash: int
    config: Any
    fc_contexts: FlatMap[K, ChainImpl]
    positions: dict[ChainImpl, int]
    built: int
    """Chains built since the first add (serial numbers of new ChainImpls)."""
    hashes: object = None
    """The strategy's per-snapshot hash state (the cached strategy's memo), kept as long as
    the listener's messages, as hashes stored inside the messages would be."""


@dataclass(frozen=True)
class DuplicateMatch:
    """``verifyNoDuplicateMatchers`` failed: chain ``index`` repeats chain ``first``'s match."""

    index: int
    first: int


@dataclass(frozen=True)
class UpdateResult:
    """The comparable outcome of one LDS update of one listener."""

    decision: Decision
    chains: int
    rebuilt: tuple[int, ...]
    """Indices (in the new listener) of chains built anew; all others were reused."""
    drained: tuple[int, ...]
    """Indices (in the old listener) of chains drained by the update."""
    duplicate: DuplicateMatch | None = None

    @property
    def reused(self) -> int:
        return self.chains - len(self.rebuilt) if self.decision != "no-op" else 0


def compare_updates(expected: UpdateResult, actual: UpdateResult) -> str | None:
    """None when both updates had the same outcome, else the first difference in words."""
    if expected.decision != actual.decision:
        return f"decision {actual.decision!r}, expected {expected.decision!r}"
    if expected.duplicate != actual.duplicate:
        return f"duplicate-match error {actual.duplicate}, expected {expected.duplicate}"
    if expected.chains != actual.chains:
        return f"{actual.chains} chains, expected {expected.chains}"
    if expected.rebuilt != actual.rebuilt:
        extra = sorted(set(actual.rebuilt) - set(expected.rebuilt))
        missing = sorted(set(expected.rebuilt) - set(actual.rebuilt))
        return f"rebuilt chains differ: extra {extra[:5]}, missing {missing[:5]}"
    if expected.drained != actual.drained:
        extra = sorted(set(actual.drained) - set(expected.drained))
        missing = sorted(set(expected.drained) - set(actual.drained))
        return f"drained chains differ: extra {extra[:5]}, missing {missing[:5]}"
    return None


@dataclass(frozen=True)
class UpdateInputs:
    """One LDS update to apply: old and new listener bytes, and the state before it.

    ``states`` holds, per implementation name, the state its own strategy built from
    ``old_bytes`` (each strategy keys its maps its own way). States are only read by an
    update, so the same inputs serve every timed call.
    """

    old_bytes: bytes
    new_bytes: bytes
    states: Mapping[str, ListenerState[Any]]
    retained: list[object] = field(default_factory=list)
    """The states updates produced, released by :meth:`release` (the hot path's untimed
    ``prepare``), so that tearing a listener down is not timed as part of updating it."""

    def state(self, implementation: str) -> ListenerState[Any]:
        try:
            return self.states[implementation]
        except KeyError:
            known = ", ".join(self.states)
            raise KeyError(f"no listener state for {implementation!r} (have: {known})") from None

    def retain(self, state: object) -> None:
        self.retained.append(state)

    def release(self) -> UpdateInputs:
        """Drop the states earlier updates produced; returns ``self`` (a ``prepare`` hook)."""
        self.retained.clear()
        return self
