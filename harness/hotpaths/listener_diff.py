"""The first difference between two built listeners, for the hot paths' equivalence checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def listener_difference(
    expected: Any, actual: Any, part: Callable[[Any, Any], str] | None = None
) -> str | None:
    """``None`` when both listeners serialize alike; else the first filter chain that differs
    (with ``part(expected chain, actual chain)`` appended when given), or a count mismatch."""
    a, b = expected, actual
    if a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True):
        return None
    if len(a.filter_chains) != len(b.filter_chains):
        return f"{len(b.filter_chains)} filter chains, expected {len(a.filter_chains)}"
    for i, (fa, fb) in enumerate(zip(a.filter_chains, b.filter_chains, strict=True)):
        if fa.SerializeToString(deterministic=True) != fb.SerializeToString(deterministic=True):
            names = ",".join(fa.filter_chain_match.server_names)
            detail = f": {part(fa, fb)}" if part is not None else ""
            return f"filter chain {i} ({names}) differs{detail}"
    return "listener fields outside the filter chains differ"
