"""filterchain_hash, baseline: xxHash64 of the TextFormat rendering, recomputed every call.

Models Envoy ``source/common/protobuf/utility.cc`` ``MessageUtil::hash`` as shipped up to
Envoy 1.29 by default and in the Higress Envoy 1.27 fork: a ``Protobuf::TextFormat::Printer``
with ``SetExpandAny(true)``, ``SetUseFieldNumber(true)``, ``SetSingleLineMode(true)`` and
``SetHideUnknownFields(true)`` prints the whole message, then ``HashUtil::xxHash64`` hashes the
text. Nothing is cached: every hash of a FilterChain renders it again, including every Any,
each unpacked and printed field by field.

Python's ``text_format.MessageToString(as_one_line=True, use_field_number=True)`` does the
same kind of work: it expands an Any whose type is in the descriptor pool
(``[type.googleapis.com/...] { ... }``) and hides unknown fields by default.

Cost: O(size of the message, Any payloads expanded) per call, ``n`` calls for ``n`` chains.
Counters (per call, in aggregate): ``chains_hashed``, ``bytes_rendered``, ``any_unpacks``
(the Any values the printer expanded, counted in the rendered text).
"""

from __future__ import annotations

from collections.abc import Sequence

import xxhash
from google.protobuf import descriptor_pool, text_format

from gwbench.workloads.counters import Counters
from gwbench.workloads.protohash import ChainsInput, Message, Partition, partition_of

_EXPANDED_ANY = "[type.googleapis.com/"


class TextHasher:
    """``MessageUtil::hash``: render with the TextFormat printer, xxHash64 the text.

    Keeps running totals (rendered bytes, expanded Any values) that the caller adds to its
    counters once, so that counting does not sit in the timed inner loop.
    """

    __slots__ = ("any_unpacks", "bytes_rendered", "calls")

    def __init__(self) -> None:
        self.calls = 0
        self.bytes_rendered = 0
        self.any_unpacks = 0

    def __call__(self, message: Message) -> int:
        text = text_format.MessageToString(
            message,
            as_one_line=True,
            use_field_number=True,
            descriptor_pool=descriptor_pool.Default(),
            print_unknown_fields=False,
        )
        self.calls += 1
        self.bytes_rendered += len(text)
        self.any_unpacks += text.count(_EXPANDED_ANY)
        return xxhash.xxh64_intdigest(text.encode("utf-8"))

    def report(self, counters: Counters) -> None:
        counters.add("chains_hashed", self.calls)
        counters.add("bytes_rendered", self.bytes_rendered)
        counters.add("any_unpacks", self.any_unpacks)


def message_hash(message: Message) -> int:
    """One ``MessageUtil::hash`` of ``message``."""
    return TextHasher()(message)


def hash_chains(chains: Sequence[Message], counters: Counters) -> list[int]:
    """One pass: the hash of every chain, each rendered from scratch."""
    hasher = TextHasher()
    keys = [hasher(chain) for chain in chains]
    hasher.report(counters)
    return keys


def hash_pass(inputs: ChainsInput, counters: Counters) -> Partition:
    """The registered implementation: hash every chain once, return the equal-key classes."""
    return partition_of(hash_chains(inputs.chains, counters))
