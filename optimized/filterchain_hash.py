"""filterchain_hash, optimized: a recursive hash cached per message; upstream's deterministic
hash; and the serialized-bytes ablation.

``cached`` (primary) models Higress PR #3113 ``bazel/protobuf_hash_cache.patch``
(higress-group/higress, applied to the protobuf of the Higress Envoy fork; also the Sealos
``CachedMessageUtil``): ``ComputeHashValue`` is a recursive xxHash64 per message, seeded with
0x9e3779b97f4a7c15, folding the message type's full name, then for each present field in
field-number order its number and type, for a repeated field its size, and each value: fixed
width bytes for scalars, length and bytes for strings, the sub-message's *own cached hash*
for messages; map entries are hashed pairwise and the pair hashes sorted; an Any is its type
URL plus its raw value bytes (never unpacked). ``GetCachedHashValue`` computes a message's
hash once and returns it ever after; nothing invalidates it, which is valid only because
decoded xDS config is immutable. upb messages take no attributes, so the cache is an
identity memo (``id`` -> message, hash) that holds a strong reference to every message it
knows, scoped to one immutable config snapshot (one decoded update).

``deterministic`` is a port of upstream Envoy ``source/common/protobuf/deterministic_hash.cc``
``DeterministicProtoHash::hash`` (the default from Envoy 1.30): one running xxHash64 seed,
starting at 0, threaded through the present fields in field-number order; values only (a
map adds its key field's number); scalars as fixed-width native bytes (4 for 32-bit ints,
floats and enums, 8 for 64-bit ints and doubles, 1 for bool); strings and bytes raw;
repeated elements in order without a count; maps sorted by key, key then value; an Any of a
known type adds its type URL and is unpacked and recursed into, an Any of an unknown type
adds nothing; unknown fields are ignored. Nothing is cached.

``serialized`` (ablation) is xxHash64 of the deterministic binary serialization, what Envoy
does without full protos. In Python it is the fastest single pass because serialization runs
in C: it shows that the cached strategy's win comes from not recomputing, not from the hash.

Costs: cached, O(fields outside Any payloads) on first compute and O(1) after; deterministic,
O(size with Any payloads unpacked) per call; serialized, O(encoded size) per call.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import xxhash
from google.protobuf.descriptor import FieldDescriptor

from gwbench.workloads.counters import Counters
from gwbench.workloads.protohash import (
    ANY_FULL_NAME,
    ChainsInput,
    Message,
    Partition,
    is_map_field,
    message_class_for,
    partition_of,
)

CACHED_SEED = 0x9E3779B97F4A7C15

_xxh64 = xxhash.xxh64_intdigest
_u64 = struct.Struct("<Q").pack
_header = struct.Struct("<ii").pack

_FIXED: dict[int, Callable[[Any], bytes]] = {
    FieldDescriptor.CPPTYPE_INT32: struct.Struct("<i").pack,
    FieldDescriptor.CPPTYPE_UINT32: struct.Struct("<I").pack,
    FieldDescriptor.CPPTYPE_INT64: struct.Struct("<q").pack,
    FieldDescriptor.CPPTYPE_UINT64: struct.Struct("<Q").pack,
    FieldDescriptor.CPPTYPE_DOUBLE: struct.Struct("<d").pack,
    FieldDescriptor.CPPTYPE_FLOAT: struct.Struct("<f").pack,
    FieldDescriptor.CPPTYPE_BOOL: struct.Struct("<?").pack,
    FieldDescriptor.CPPTYPE_ENUM: struct.Struct("<i").pack,
}

# Field kinds of a hashing plan (one plan per field descriptor, built once per process).
_SCALAR, _STRING, _BYTES, _MESSAGE, _MAP = range(5)


def _kind(field: Any) -> int:
    if is_map_field(field):
        return _MAP
    if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
        return _MESSAGE
    if field.cpp_type == FieldDescriptor.CPPTYPE_STRING:
        return _BYTES if field.type == FieldDescriptor.TYPE_BYTES else _STRING
    return _SCALAR


def _scalar_encoder(field: Any) -> Callable[[Any], bytes]:
    """How the cached hash folds a map key or a scalar map value: fixed width, or length
    and bytes (so that a map entry's key and value cannot trade characters)."""
    kind = _kind(field)
    if kind == _STRING:

        def encode_string(value: Any) -> bytes:
            b = value.encode("utf-8")
            return bytes(_u64(len(b)) + b)

        return encode_string
    if kind == _BYTES:
        return lambda value: bytes(_u64(len(value)) + value)
    return _FIXED[field.cpp_type]


# ---- cached (Higress / Sealos) ---------------------------------------------------------

# Built once per process: per field descriptor (kind, repeated, header bytes of number and
# type, packer); per message descriptor (full name as bytes, is Any).
_CACHED_PLANS: dict[Any, tuple[int, bool, bytes, Callable[[Any], bytes] | None]] = {}
_CACHED_TYPES: dict[Any, tuple[bytes, bool]] = {}
# Per map field: (key encoder, value encoder or None for message values).
_CACHED_MAPS: dict[Any, tuple[Callable[[Any], bytes], Callable[[Any], bytes] | None]] = {}
_DETERMINISTIC_KINDS: dict[Any, tuple[int, bool]] = {}
_DETERMINISTIC_MAPS: dict[Any, tuple[Any, int, Any, int, bytes]] = {}


class HashCache:
    """Hash values cached per message, as ``GetCachedHashValue``; one config snapshot.

    ``hash(message)`` returns the cached value or computes it (recursively, each sub-message
    through the cache) and stores it. The memo maps ``id(message)`` to the hash, and the
    cache keeps a strong reference to every message it hashed, so that no id is reused
    while the memo lives (and each sub-message wrapper keeps its identity).
    Counts: ``hits`` (top-level lookups answered from the cache) and ``computed`` (messages
    whose hash was computed, sub-messages included).
    """

    __slots__ = ("_keep", "_memo", "hits")

    _plans = _CACHED_PLANS
    _types = _CACHED_TYPES

    def __init__(self) -> None:
        self._memo: dict[int, int] = {}
        self._keep: list[Message] = []
        self.hits = 0

    @property
    def computed(self) -> int:
        return len(self._memo)

    def computed_of(self, full_name: str) -> int:
        """How many messages of type ``full_name`` this cache computed a hash for."""
        return sum(1 for m in self._keep if m.DESCRIPTOR.full_name == full_name)

    def hash(self, message: Message) -> int:
        h = self._memo.get(id(message))
        if h is not None:
            self.hits += 1
            return h
        return self._compute(message)

    @classmethod
    def _plan(cls, field: Any) -> tuple[int, bool, bytes, Callable[[Any], bytes] | None]:
        kind = _kind(field)
        plan = (
            kind,
            bool(field.is_repeated) and kind != _MAP,
            _header(field.number, field.type),
            _FIXED.get(field.cpp_type),
        )
        cls._plans[field] = plan
        return plan

    def _compute(self, message: Message) -> int:
        memo = self._memo
        desc = message.DESCRIPTOR
        info = self._types.get(desc)
        if info is None:
            info = self._types[desc] = (
                desc.full_name.encode("utf-8"),
                desc.full_name == ANY_FULL_NAME,
            )
        name, is_any = info
        if is_any:
            url = message.type_url.encode("utf-8")
            h = _xxh64(b"".join((name, _u64(len(url)), url, message.value)), CACHED_SEED)
            memo[id(message)] = h
            self._keep.append(message)
            return h
        parts = [name]
        append = parts.append
        plans = self._plans
        for field, value in message.ListFields():
            plan = plans.get(field)
            if plan is None:
                plan = self._plan(field)
            kind, repeated, header, pack = plan
            append(header)
            if kind == _MESSAGE:
                if repeated:
                    append(_u64(len(value)))
                    for v in value:
                        sub = memo.get(id(v))
                        append(_u64(sub if sub is not None else self._compute(v)))
                else:
                    sub = memo.get(id(value))
                    append(_u64(sub if sub is not None else self._compute(value)))
            elif kind == _STRING:
                if repeated:
                    append(_u64(len(value)))
                    for s in value:
                        b = s.encode("utf-8")
                        append(_u64(len(b)))
                        append(b)
                else:
                    b = value.encode("utf-8")
                    append(_u64(len(b)))
                    append(b)
            elif kind == _MAP:
                append(_u64(len(value)))
                parts.extend([_u64(p) for p in sorted(self._map_pairs(field, value))])
            elif kind == _BYTES:
                if repeated:
                    append(_u64(len(value)))
                    for b in value:
                        append(_u64(len(b)))
                        append(b)
                else:
                    append(_u64(len(value)))
                    append(value)
            else:
                assert pack is not None
                if repeated:
                    append(_u64(len(value)))
                    parts.extend([pack(v) for v in value])
                else:
                    append(pack(value))
        h = _xxh64(b"".join(parts), CACHED_SEED)
        memo[id(message)] = h
        self._keep.append(message)
        return h

    def _sub(self, message: Message) -> bytes:
        h = self._memo.get(id(message))
        return _u64(h if h is not None else self._compute(message))

    def _map_pairs(self, field: Any, value: Any) -> list[int]:
        plan = _CACHED_MAPS.get(field)
        if plan is None:
            entry = field.message_type
            value_field = entry.fields_by_name["value"]
            plan = _CACHED_MAPS[field] = (
                _scalar_encoder(entry.fields_by_name["key"]),
                None if value_field.message_type is not None else _scalar_encoder(value_field),
            )
        encode_key, encode_value = plan
        if encode_value is None:
            return [_xxh64(encode_key(k) + self._sub(value[k])) for k in value]
        return [_xxh64(encode_key(k) + encode_value(value[k])) for k in value]


def message_hash(message: Message, cache: HashCache | None = None) -> int:
    """``GetCachedHashValue``: the cached hash of ``message`` (computed on first use)."""
    return (cache if cache is not None else HashCache()).hash(message)


def hash_chains(
    chains: Sequence[Message], counters: Counters, cache: HashCache | None = None
) -> list[int]:
    """One pass: the cached hash of every chain; a new cache unless one is handed in.

    Reusing a cache across passes is right only while the messages are unchanged: a chain
    mutated after it was hashed keeps its stale hash (the cache is never invalidated).
    """
    cache = cache if cache is not None else HashCache()
    hits_before, computed_before = cache.hits, cache.computed
    keys = [cache.hash(chain) for chain in chains]
    counters.add("chains_hashed", len(chains) - (cache.hits - hits_before))
    counters.add("cache_hits", cache.hits - hits_before)
    counters.add("messages_hashed", cache.computed - computed_before)
    counters.add("any_unpacks", 0)
    return keys


def hash_pass(inputs: ChainsInput, counters: Counters) -> Partition:
    """The registered ``cached`` implementation: an empty cache, freshly decoded chains.

    The cache belongs to the decoded snapshot (the real code stores each hash inside its
    message) and is released with it, not at the end of the pass.
    """
    cache = HashCache()
    inputs.retain(cache)
    return partition_of(hash_chains(inputs.chains, counters, cache))


# ---- deterministic (upstream Envoy DeterministicProtoHash) ----------------------------


class DeterministicHasher:
    """``DeterministicProtoHash::hash``; counts messages visited and Any values unpacked."""

    __slots__ = ("any_unpacks", "messages")

    _kinds = _DETERMINISTIC_KINDS

    def __init__(self) -> None:
        self.messages = 0
        self.any_unpacks = 0

    def __call__(self, message: Message) -> int:
        return self._message(message, 0)

    def _message(self, message: Message, seed: int) -> int:
        self.messages += 1
        if message.DESCRIPTOR.full_name == ANY_FULL_NAME:
            cls = message_class_for(message.type_url)
            if cls is None:
                return seed  # unknown type: contributes nothing
            self.any_unpacks += 1
            seed = _xxh64(message.type_url.encode("utf-8"), seed)
            inner = cls()
            inner.ParseFromString(message.value)
            return self._message(inner, seed)
        kinds = self._kinds
        for field, value in message.ListFields():
            entry = kinds.get(field)
            if entry is None:
                entry = kinds[field] = (_kind(field), bool(field.is_repeated))
            kind, repeated = entry
            if kind == _MAP:
                seed = self._map(field, value, seed)
            elif repeated:
                for v in value:
                    seed = self._value(field, kind, v, seed)
            else:
                seed = self._value(field, kind, value, seed)
        return seed

    def _value(self, field: Any, kind: int, value: Any, seed: int) -> int:
        if kind == _MESSAGE:
            return self._message(value, seed)
        if kind == _STRING:
            return _xxh64(value.encode("utf-8"), seed)
        if kind == _BYTES:
            return _xxh64(value, seed)
        return _xxh64(_FIXED[field.cpp_type](value), seed)

    def _map(self, field: Any, value: Any, seed: int) -> int:
        plan = _DETERMINISTIC_MAPS.get(field)
        if plan is None:
            entry = field.message_type
            key_field = entry.fields_by_name["key"]
            value_field = entry.fields_by_name["value"]
            plan = _DETERMINISTIC_MAPS[field] = (
                key_field,
                _kind(key_field),
                value_field,
                _kind(value_field),
                _FIXED[FieldDescriptor.CPPTYPE_INT32](key_field.number),
            )
        key_field, key_kind, value_field, value_kind, key_number = plan
        seed = _xxh64(key_number, seed)
        for k in sorted(value):
            seed = self._value(key_field, key_kind, k, seed)
            seed = self._value(value_field, value_kind, value[k], seed)
        return seed

    def report(self, counters: Counters, *, chains_hashed: int) -> None:
        counters.add("chains_hashed", chains_hashed)
        counters.add("messages_hashed", self.messages)
        counters.add("any_unpacks", self.any_unpacks)


def deterministic_hash(message: Message) -> int:
    """One ``DeterministicProtoHash::hash`` of ``message``."""
    return DeterministicHasher()(message)


def hash_chains_deterministic(chains: Sequence[Message], counters: Counters) -> list[int]:
    hasher = DeterministicHasher()
    keys = [hasher(chain) for chain in chains]
    hasher.report(counters, chains_hashed=len(chains))
    return keys


def hash_pass_deterministic(inputs: ChainsInput, counters: Counters) -> Partition:
    """The registered ``deterministic`` implementation."""
    return partition_of(hash_chains_deterministic(inputs.chains, counters))


# ---- serialized (ablation) -------------------------------------------------------------


def serialized_hash(message: Message) -> int:
    """xxHash64 of the deterministic binary serialization."""
    return _xxh64(message.SerializeToString(deterministic=True))


def hash_chains_serialized(chains: Sequence[Message], counters: Counters) -> list[int]:
    blobs = [chain.SerializeToString(deterministic=True) for chain in chains]
    counters.add("chains_hashed", len(chains))
    counters.add("bytes_serialized", sum(map(len, blobs)))
    return [_xxh64(b) for b in blobs]


def hash_pass_serialized(inputs: ChainsInput, counters: Counters) -> Partition:
    """The registered ``serialized`` ablation."""
    return partition_of(hash_chains_serialized(inputs.chains, counters))
