"""Shared pieces of the protobuf hashing hot paths (filterchain_hash, listener_update).

Each hashing *strategy* lives in its hot path's module (``baselines/filterchain_hash.py``:
TextFormat; ``optimized/filterchain_hash.py``: cached, deterministic, serialized). This module
holds only what they all need and what is not an optimization:

- decoding a listener from the wire (Envoy decodes each LDS update into fresh messages);
- :func:`message_class_for`: the type-URL lookup Envoy's ``unpackAnyForReflection`` and the
  TextFormat printer's Any expansion both do (``DescriptorPool::generated_pool()``);
- :class:`Differencer` / :func:`equivalent`: Envoy's ``MessageUtil`` equality functor, i.e.
  protobuf ``util::MessageDifferencer::Equivalent`` (``src/google/protobuf/util/
  message_differencer.cc``), a reflective walk of both messages: fields with default values
  count as set, Any values of the same known type are unpacked on both sides and compared as
  messages, map fields are compared by key; counted;
- :func:`filter_chain_only_change`: Envoy ``ListenerMessageUtil::filterChainOnlyChange``
  (``source/common/listener_manager/listener_impl.cc``): a MessageDifferencer in EQUIVALENT
  mode, repeated fields compared AS_SET, ``filter_chains`` ignored;
- :class:`HashedKey`: a message with its hash computed once, the analogue of the absl
  Hash/Eq functor pair Higress uses over messages whose hash is cached (upb messages take no
  attributes, cannot be weak-referenced and are unhashable, so the cache lives outside them);
- :class:`Partition`: the comparable result of a hashing pass (which chains got equal keys).

Costs: :func:`equivalent` is a Python walk of both messages with every Any unpacked on
both sides (O(size with Any payloads)); :func:`partition_of` is O(n).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from envoy.config.listener.v3 import listener_pb2
from google.protobuf import descriptor_pool, message_factory

from gwbench.workloads.counters import Counters

Message = Any
"""A protobuf message (upb); the stubs of xds-protos are untyped, so this stays ``Any``."""

ANY_FULL_NAME = "google.protobuf.Any"
_NOT_FOUND: Any = object()
_CLASS_BY_URL: dict[str, Any] = {}


def decode_listener(data: bytes) -> Message:
    """A Listener parsed from its wire bytes: fresh messages, nothing shared with the sender."""
    return listener_pb2.Listener.FromString(data)


def decode_chains(data: bytes) -> list[Message]:
    """The filter chains of a freshly decoded listener, held in a list.

    Holding the element wrappers keeps their identity stable (upb hands out the same wrapper
    for the same sub-message only while someone references it), which an identity-keyed
    cache relies on. The list also keeps the parent listener alive.
    """
    return list(decode_listener(data).filter_chains)


def message_class_for(type_url: str) -> Any | None:
    """The generated class for an Any's type URL, or None when the type is unknown.

    Like Envoy's ``typeUrlToDescriptorFullName`` + ``FindMessageTypeByName``: the name is what
    follows the last ``/``; only types linked into the process (imported) are known.
    """
    cls = _CLASS_BY_URL.get(type_url)
    if cls is None:
        name = type_url.rsplit("/", 1)[-1]
        try:
            desc = descriptor_pool.Default().FindMessageTypeByName(name)
        except KeyError:
            cls = _NOT_FOUND
        else:
            cls = message_factory.GetMessageClass(desc)
        _CLASS_BY_URL[type_url] = cls
    return None if cls is _NOT_FOUND else cls


def unpack_any(any_msg: Message) -> Message | None:
    """``Any::UnpackTo`` into a new message of the packed type; None when unknown."""
    cls = message_class_for(any_msg.type_url)
    if cls is None:
        return None
    out = cls()
    out.ParseFromString(any_msg.value)
    return out


MATCH_FULL_NAME = "envoy.config.listener.v3.FilterChainMatch"


def is_match(message: Message) -> bool:
    """True for a FilterChainMatch (the duplicate-matcher map's keys)."""
    return bool(message.DESCRIPTOR.full_name == MATCH_FULL_NAME)


def is_map_field(field: Any) -> bool:
    return bool(
        field.message_type is not None
        and field.is_repeated
        and field.message_type.GetOptions().map_entry
    )


# ---- MessageDifferencer::Equivalent ----------------------------------------------------


class Differencer:
    """``MessageDifferencer::Equivalent`` as a reflective walk of both messages, counted.

    Envoy's ``MessageUtil`` equality functor runs protobuf's
    ``util::MessageDifferencer::Equivalent`` (``src/google/protobuf/util/
    message_differencer.cc``): it walks both messages field by field through reflection
    (EQUIVALENT mode: a field left at its default counts as set to it), and an Any of the
    same known type on both sides is unpacked into two new messages and compared as
    messages. There is no byte-compare shortcut, so this walk has none either.

    Counts: ``calls`` (top-level comparisons, the ``deep_compares`` counter),
    ``messages`` (message pairs visited, ``messages_compared``) and ``any_unpacks``
    (Any values unpacked, two per Any pair).
    """

    __slots__ = ("any_unpacks", "calls", "messages")

    def __init__(self) -> None:
        self.calls = 0
        self.messages = 0
        self.any_unpacks = 0

    def __call__(self, a: Message, b: Message) -> bool:
        self.calls += 1
        return self.message(a, b)

    def message(self, a: Message, b: Message) -> bool:
        self.messages += 1
        desc = a.DESCRIPTOR
        if desc is not b.DESCRIPTOR:
            return False
        if desc.full_name == ANY_FULL_NAME and a.type_url == b.type_url:
            ua, ub = unpack_any(a), unpack_any(b)
            if ua is not None and ub is not None:
                self.any_unpacks += 2
                return self.message(ua, ub)
        fields = {f for f, _ in a.ListFields()} | {f for f, _ in b.ListFields()}
        for f in sorted(fields, key=lambda f: f.number):
            if not self.field(f, getattr(a, f.name), getattr(b, f.name)):
                return False
        return True

    def field(self, field: Any, va: Any, vb: Any) -> bool:
        is_message = field.message_type is not None
        if is_map_field(field):
            if set(va.keys()) != set(vb.keys()):
                return False
            if field.message_type.fields_by_name["value"].message_type is not None:
                return all(self.message(va[k], vb[k]) for k in va)
            return all(va[k] == vb[k] for k in va)
        if field.is_repeated:
            if len(va) != len(vb):
                return False
            if is_message:
                return all(self.message(x, y) for x, y in zip(va, vb, strict=True))
            return list(va) == list(vb)
        if is_message:
            return self.message(va, vb)
        return bool(va == vb)

    def report(self, counters: Counters) -> None:
        counters.add("deep_compares", self.calls)
        counters.add("messages_compared", self.messages)


def equivalent(a: Message, b: Message) -> bool:
    """``MessageDifferencer::Equivalent(a, b)``, what Envoy's ``MessageUtil`` eq functor runs
    (one uncounted :class:`Differencer` walk)."""
    return Differencer()(a, b)


def _equivalent(a: Message, b: Message) -> bool:
    return Differencer().message(a, b)


def _field_equivalent(field: Any, va: Any, vb: Any) -> bool:
    return Differencer().field(field, va, vb)


def filter_chain_only_change(old: Message, new: Message) -> bool:
    """``ListenerMessageUtil::filterChainOnlyChange``: equal apart from ``filter_chains``.

    EQUIVALENT field comparison; repeated fields AS_SET (each element of one side has an
    equivalent element on the other, and the sizes match).
    """
    fields = {f for f, _ in old.ListFields()} | {f for f, _ in new.ListFields()}
    for f in fields:
        if f.name == "filter_chains":
            continue
        va, vb = getattr(old, f.name), getattr(new, f.name)
        if f.is_repeated and not is_map_field(f):
            if len(va) != len(vb):
                return False
            if f.message_type is None:
                if sorted(va) != sorted(vb):
                    return False
            elif not all(any(x == y or _equivalent(x, y) for y in vb) for x in va):
                return False
        elif not _field_equivalent(f, va, vb):
            return False
    return True


# ---- keys and results ------------------------------------------------------------------


class HashedKey:
    """A message and its hash, computed once: the absl Hash/Eq functor over a cached hash.

    ``hash`` is read, never recomputed; two keys are equal when their hashes are, which is
    the cached strategy's equality (valid because decoded xDS config is immutable).
    """

    __slots__ = ("hash", "message")

    def __init__(self, message: Message, hash_value: int) -> None:
        self.message = message
        self.hash = hash_value

    def __repr__(self) -> str:
        return f"HashedKey({self.message.DESCRIPTOR.name}, {self.hash:#018x})"


@dataclass
class ChainsInput:
    """The filter chains of one listener, freshly decoded from ``listener_bytes``.

    The filterchain_hash hot path hashes ``chains`` once per call; its ``prepare`` hook
    decodes a fresh set before every call, so no call sees a message another call hashed.
    """

    listener_bytes: bytes
    chains: list[Message]
    retained: list[object] = field(default_factory=list)
    """State that lives and dies with these messages (a cache of their hashes)."""

    @classmethod
    def decode(cls, listener_bytes: bytes) -> ChainsInput:
        return cls(listener_bytes, decode_chains(listener_bytes))

    def retain(self, state: object) -> None:
        """Keep ``state`` (for example a hash cache over ``chains``) until the snapshot goes.

        A hash stored inside each message, as in the real code, is freed with the message;
        retaining the cache here frees it with the snapshot too, outside the hashing pass.
        """
        self.retained.append(state)

    def fresh(self) -> ChainsInput:
        return ChainsInput.decode(self.listener_bytes)


@dataclass(frozen=True)
class Partition:
    """Which of ``n`` items got equal keys: the classes with more than one member.

    Hash values differ between strategies by design; the partition must not. Items in no
    listed class are alone in theirs. Classes are sorted by their first index.
    """

    n: int
    classes: tuple[tuple[int, ...], ...]

    @property
    def distinct(self) -> int:
        return self.n - sum(len(c) - 1 for c in self.classes)


def partition_of(keys: Sequence[Hashable]) -> Partition:
    """The partition of ``range(len(keys))`` into classes of equal keys. O(n)."""
    groups: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    classes = tuple(sorted(tuple(g) for g in groups.values() if len(g) > 1))
    return Partition(len(keys), classes)


def compare_partitions(expected: Partition, actual: Partition) -> str | None:
    """None when the partitions are equal, else the first difference in words."""
    if expected.n != actual.n:
        return f"hashed {actual.n} chains, expected {expected.n}"
    if expected.classes == actual.classes:
        return None
    exp, act = set(expected.classes), set(actual.classes)
    for cls in expected.classes:
        if cls not in act:
            return f"chains {list(cls)} share a key in the expected partition but not here"
    for cls in actual.classes:
        if cls not in exp:
            return f"chains {list(cls)} share a key here but not in the expected partition"
    return "partitions differ"  # pragma: no cover - the loops above always find one
