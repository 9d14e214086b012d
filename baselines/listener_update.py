"""listener_update, baseline: Envoy's LDS in-place filter-chain update with MessageUtil keys.

Models Envoy (upstream ``envoyproxy/envoy`` and the Higress 1.27 fork):

- ``source/common/listener_manager/listener_manager_impl.cc``
  ``ListenerManagerImpl::addOrUpdateListenerInternal``: ``MessageUtil::hash(config)`` of the
  whole listener; ``blockUpdate(hash)`` refuses an update whose hash equals the active
  listener's (a no-op); ``supportUpdateFilterChain`` -> in-place filter-chain update, else a
  full listener update;
- ``source/common/listener_manager/listener_impl.cc`` ``supportUpdateFilterChain`` ->
  ``ListenerMessageUtil::filterChainOnlyChange`` (MessageDifferencer, filter_chains ignored),
  and ``ListenerImpl::diffFilterChain``: for each chain of the old manager's ``fc_contexts_``,
  ``find`` in the new manager's map; the misses are drained;
- ``source/common/listener_manager/filter_chain_manager_impl.cc``
  ``FilterChainManagerImpl::addFilterChains``: per chain, ``verifyNoDuplicateMatchers``
  (``find`` then ``insert`` in a node_hash_map keyed by FilterChainMatch),
  ``findExistingFilterChain`` (``find`` in the origin manager's ``fc_contexts_``, and on a hit
  ``emplace`` a copy into the new one), a build when nothing was found, then
  ``fc_contexts_[*filter_chain] = filter_chain_impl``.

Both maps use ``MessageUtil`` as hash and equality: the hash is
:class:`baselines.filterchain_hash.TextHasher` (TextFormat + xxHash64, nothing cached) and
the equality ``MessageDifferencer::Equivalent`` (:class:`workloads.protohash.Differencer`:
a reflective walk of both messages that unpacks every Any on both sides, counted as
``deep_compares`` and ``messages_compared``). Hash calls are counted apart:
``chain_hashes`` (whole FilterChains) and ``match_hashes`` (FilterChainMatch keys of the
duplicate-matcher map).
The maps are :class:`workloads.flatmap.FlatMap` (absl: no stored hashes, a re-hash of every
key at each growth). Each update arrives as bytes and is decoded into fresh messages.

Not modelled, because they neither hash nor compare messages and are the same in every
implementation: the runtime-flag, worker-started, stream-socket, proxy-protocol and
TLS-inspector checks of ``supportUpdateFilterChain`` (all true here), warming, building the
chains themselves, and the string-keyed SNI lookup tables of ``setupFilterChainMatcher``.
Newer Envoy moved the drain diff into ``addFilterChains`` (the same find per old chain).

Cost per update with ``n`` mostly unchanged chains: about 6-7 full TextFormat renders per
chain (the listener hash, the find in the old map, the emplace, the assignment, the growth
re-hashes of the new map, the find of the drain diff) and about 3 deep compares per reused
chain: O(n * chain size), with a large constant.
"""

from __future__ import annotations

from typing import Any

from gwbench.baselines.filterchain_hash import TextHasher
from gwbench.workloads import lds
from gwbench.workloads.counters import Counters
from gwbench.workloads.flatmap import (
    ListenerState,
    UpdateInputs,
    UpdateResult,
)
from gwbench.workloads.protohash import Differencer, Message, is_match


class _MessageUtilKeys:
    """Map keys are the messages; ``MessageUtil`` hashes (TextFormat) and compares
    (``MessageDifferencer::Equivalent``, a reflective walk that unpacks every Any)."""

    def __init__(self) -> None:
        self.hasher = TextHasher()
        self.differencer = Differencer()
        self.match_hashes = 0
        self.listener_hashes = 0

    def key(self, message: Message) -> Message:
        return message

    def listener_hash(self, listener: Message) -> int:
        self.listener_hashes += 1
        return self.hasher(listener)

    def hash(self, key: Message) -> int:
        if is_match(key):
            self.match_hashes += 1
        return self.hasher(key)

    def eq(self, a: Message, b: Message) -> bool:
        return self.differencer(a, b)

    def report(self, counters: Counters) -> None:
        calls = self.hasher.calls
        counters.add("chain_hashes", calls - self.match_hashes - self.listener_hashes)
        counters.add("match_hashes", self.match_hashes)
        counters.add("bytes_rendered", self.hasher.bytes_rendered)
        counters.add("any_unpacks", self.hasher.any_unpacks + self.differencer.any_unpacks)
        self.differencer.report(counters)


def apply_update(
    old: ListenerState[Any] | None, data: bytes, counters: Counters
) -> tuple[UpdateResult, ListenerState[Any] | None]:
    """One LDS update of one listener: ``data`` is the new Listener's wire bytes.

    ``old`` is the active listener's state (None before the first add). Returns the outcome
    and the listener's state afterwards (``old`` itself after a no-op or a rejected update).
    ``old`` is only read, never changed, so the same update can be applied again.
    """
    return lds.update(old, data, counters, _MessageUtilKeys())


class _SetUpKeys(_MessageUtilKeys):
    """``MessageUtil`` keys for building the initial state (untimed set-up) only: the same
    hash of every key, but each distinct message is rendered once, remembered by its type
    and deterministic wire bytes (which decide its TextFormat text). Once the state is
    built, :meth:`forget` turns it back into :class:`_MessageUtilKeys` (every hash
    rendered), should anything still hash through it."""

    def __init__(self) -> None:
        super().__init__()
        self._memo: dict[tuple[str, bytes], int] | None = {}

    def hash(self, key: Message) -> int:
        if self._memo is None:
            return super().hash(key)
        wire = (key.DESCRIPTOR.full_name, key.SerializeToString(deterministic=True))
        h = self._memo.get(wire)
        if h is None:
            if is_match(key):
                self.match_hashes += 1
            h = self._memo[wire] = self.hasher(key)
        return h

    def forget(self) -> None:
        self._memo = None


def initial_state(data: bytes, counters: Counters, *, memoized: bool = True) -> ListenerState[Any]:
    """The state after the first add of the listener in ``data`` (every chain built).

    Untimed set-up: with ``memoized`` each distinct chain is rendered once
    (:class:`_SetUpKeys`) instead of at every map operation. The state is the same
    (``tests/test_listener_update.py`` checks it), only cheaper to build; every timed
    update hashes with its own :class:`_MessageUtilKeys`.
    """
    keys = _SetUpKeys() if memoized else _MessageUtilKeys()
    result, state = lds.update(None, data, counters, keys)
    if isinstance(keys, _SetUpKeys):
        keys.forget()
    if state is None:
        raise ValueError(f"the listener was rejected: {result.duplicate}")
    return state


def update_listener(inputs: UpdateInputs, counters: Counters) -> UpdateResult:
    """The registered implementation: apply ``inputs.new_bytes`` over the baseline state."""
    result, state = apply_update(inputs.state("baseline"), inputs.new_bytes, counters)
    inputs.retain(state)
    return result
