"""Differential flame graph of two folded-stack profiles, as static inline SVG.

Input: two profiles of the folded-stack model (:mod:`gwbench.folded`; py-spy's ``record
--format raw`` output), compared as ``difffolded.pl`` and ``flamegraph.pl --negate`` in
brendangregg/FlameGraph compare them. Line numbers are dropped from frame
names, and directories from file names (``f (baselines/x.py:12)`` -> ``f (x.py)``), so that
samples on different lines of one function meet in one frame, and so do a baseline and its
optimized twin, which sit at the same relative path with the same function names. A root
label that every stack of a profile shares (the harness's ``hotpath/impl N=..``) is dropped,
and so are the samples spent preparing fresh inputs (not part of a call, never timed).

Normalization: a baseline that ran 10 calls and an optimized twin that ran 1,000 cannot be
compared sample for sample. Each side's counts are divided by the number of calls its
profile ran (samples per call; with the profile's duration, seconds per call). When a side
does not say how many calls it ran, both sides fall back to shares of their own total.

Layout: an icicle (root on top) over the union of both call trees. A frame's width is the
larger of its two normalized values, and never less than its children's widths together,
so the tree nests. Its colour says how its inclusive time changed: red got slower, blue got
faster, white-grey unchanged, the intensity by the size of the change relative to the
larger total. Every frame carries a ``<title>`` with both values and the change, which the
browser shows on hover. No script: the graph is static and safe to inline.

Cost: O(total stack depth) to build the tree, O(frames drawn) to render; frames narrower
than ``min_width_px`` are left out (their time stays in their parent's width).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from markupsafe import Markup, escape

from gwbench.folded import PREPARE_LABEL, Stacks, is_code_frame, split_frame
from gwbench.reports.flamegraph import FONT, by_name, icicle, truncate
from gwbench.units import format_seconds

Unit = Literal["seconds", "samples", "share"]

_NEUTRAL = (236, 238, 241)
_RED = (214, 39, 40)
_BLUE = (31, 101, 196)
NO_CHANGE = 0.005
"""A change below this share of the larger total is drawn neutral."""


def frame_key(frame: str) -> str:
    """The name two profiles are matched on: function and file name, without line number
    or directory, so that ``build (baselines/gateway_lookup.py:12)`` and ``build
    (optimized/gateway_lookup.py:30)`` (twins at the same relative path) meet."""
    parts = split_frame(frame)
    if parts.file is None:
        return frame
    return f"{parts.name} ({parts.file.replace(chr(92), '/').rsplit('/', 1)[-1]})"


def match_frames(stacks: Mapping[tuple[str, ...], int]) -> Stacks:
    """Stacks keyed by :func:`frame_key`, without a root label shared by every stack
    (the harness roots each profile at its own ``hotpath/implementation N=..`` label)."""
    firsts = {s[0] for s in stacks}
    strip = len(firsts) == 1 and not is_code_frame(next(iter(firsts)))
    out: Stacks = {}
    for stack, count in stacks.items():
        frames = stack[1:] if strip else stack
        if frames and frames[0] == PREPARE_LABEL:
            continue  # building fresh inputs: not part of a call, not timed
        key = tuple(frame_key(f) for f in frames) or ("(self)",)
        out[key] = out.get(key, 0) + count
    return out


@dataclass(frozen=True)
class ProfileSide:
    """One profile: its stacks, and what is known about the calls it covered."""

    label: str
    stacks: Mapping[tuple[str, ...], int]
    calls: int | None = None
    """Calls of the implementation while the profile ran."""
    seconds: float | None = None
    """Duration of the profile (with ``calls``: time per sample)."""
    time_per_call: float | None = None
    """Median time per call measured by the timing pass at the profile's N."""

    @property
    def total(self) -> int:
        return sum(self.stacks.values())


BASIS_TEXT: dict[str, str] = {
    "calls": "per call: samples divided by the calls each profile ran",
    "timing": "per call: each frame's share of the samples times the timed median per call",
    "share": "share of each profile's samples (calls not recorded)",
}


@dataclass(frozen=True)
class Normalized:
    """Both sides' stacks in one unit."""

    before: dict[tuple[str, ...], float]
    after: dict[tuple[str, ...], float]
    unit: Unit
    basis: str
    """Key of :data:`BASIS_TEXT`: how the unit was obtained."""


def normalize(before: ProfileSide, after: ProfileSide) -> Normalized:
    """Per call when both sides know their calls (seconds per call when both also know
    their duration); else per call from the timed median (share of samples times median
    seconds per call); else shares of each side's total samples."""

    def scaled(side: ProfileSide, factor: float) -> dict[tuple[str, ...], float]:
        return {k: v * factor for k, v in side.stacks.items()}

    if not before.total or not after.total:
        return Normalized(scaled(before, 0.0), scaled(after, 0.0), "share", "share")
    if before.calls and after.calls:
        if before.seconds and after.seconds:
            return Normalized(
                scaled(before, before.seconds / before.total / before.calls),
                scaled(after, after.seconds / after.total / after.calls),
                "seconds",
                "calls",
            )
        return Normalized(
            scaled(before, 1.0 / before.calls),
            scaled(after, 1.0 / after.calls),
            "samples",
            "calls",
        )
    if before.time_per_call and after.time_per_call:
        return Normalized(
            scaled(before, before.time_per_call / before.total),
            scaled(after, after.time_per_call / after.total),
            "seconds",
            "timing",
        )
    return Normalized(
        scaled(before, 1.0 / before.total), scaled(after, 1.0 / after.total), "share", "share"
    )


@dataclass
class DiffNode:
    """A frame of the union tree with its inclusive normalized values on both sides."""

    name: str
    before: float = 0.0
    after: float = 0.0
    children: dict[str, DiffNode] = field(default_factory=dict)
    width: float = 0.0

    @property
    def delta(self) -> float:
        return self.after - self.before


def build_tree(normalized: Normalized) -> DiffNode:
    """The union call tree with inclusive values and nesting widths."""
    root = DiffNode("all")
    for side, stacks in (("before", normalized.before), ("after", normalized.after)):
        for stack, value in stacks.items():
            node = root
            _add(node, side, value)
            for frame in stack:
                child = node.children.get(frame)
                if child is None:
                    child = node.children[frame] = DiffNode(frame)
                _add(child, side, value)
                node = child
    _set_widths(root)
    return root


def _add(node: DiffNode, side: str, value: float) -> None:
    if side == "before":
        node.before += value
    else:
        node.after += value


def _set_widths(root: DiffNode) -> None:
    # Post-order without recursion: py-spy stacks can be deeper than Python's limit.
    order: list[DiffNode] = []
    todo = [root]
    while todo:
        node = todo.pop()
        order.append(node)
        todo.extend(node.children.values())
    for node in reversed(order):
        inner = sum(c.width for c in node.children.values())
        node.width = max(node.before, node.after, inner)


def colour(delta: float, scale: float) -> str:
    """Fill of a frame whose inclusive value changed by ``delta`` (``scale`` is the larger
    total): red when slower, blue when faster, near-white when about unchanged."""
    if scale <= 0 or abs(delta) < NO_CHANGE * scale:
        r, g, b = _NEUTRAL
    else:
        t = 0.25 + 0.75 * math.sqrt(min(1.0, abs(delta) / scale))
        target = _RED if delta > 0 else _BLUE
        r, g, b = (round(n + (c - n) * t) for n, c in zip(_NEUTRAL, target, strict=True))
    return f"rgb({r},{g},{b})"


def describe(value: float, unit: Unit) -> str:
    if unit == "seconds":
        return f"{format_seconds(value)}/call"
    if unit == "samples":
        return f"{value:.3g} samples/call"
    return f"{value * 100:.2f}%"


@dataclass(frozen=True)
class DiffSummary:
    """What the caption says: the unit, both totals, frames drawn and left out."""

    unit: Unit
    basis: str
    before_total: float
    after_total: float
    frames_drawn: int
    frames_hidden: int


def render_diff_svg(
    before: ProfileSide,
    after: ProfileSide,
    *,
    width: int = 1200,
    frame_height: int = 17,
    min_width_px: float = 0.6,
    max_depth: int = 80,
) -> tuple[Markup, DiffSummary]:
    """The differential flame graph (``before`` -> ``after``) and its summary."""
    normalized = normalize(
        replace(before, stacks=match_frames(before.stacks)),
        replace(after, stacks=match_frames(after.stacks)),
    )
    root = build_tree(normalized)
    scale = max(root.before, root.after)
    pad = 10
    inner = width - 2 * pad
    px_per_unit = inner / root.width if root.width > 0 else 0.0
    placed, hidden = icicle(
        root,
        lambda n: n.width,
        by_name,
        px_per_unit,
        min_width_px=min_width_px,
        max_depth=max_depth,
    )
    rects = [
        _frame(
            f.node,
            pad + f.offset * px_per_unit,
            f.depth * frame_height,
            f.width,
            frame_height,
            scale,
            normalized.unit,
            before.label,
            after.label,
        )
        for f in placed
    ]
    depth_seen = max((f.depth for f in placed), default=0)
    top = 4
    height = top + (depth_seen + 1) * frame_height + 4
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flamediff" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="{FONT}" font-size="11">'
        f'<g transform="translate(0,{top})">{"".join(rects)}</g></svg>'
    )
    summary = DiffSummary(
        unit=normalized.unit,
        basis=BASIS_TEXT[normalized.basis],
        before_total=root.before,
        after_total=root.after,
        frames_drawn=len(rects),
        frames_hidden=hidden,
    )
    return Markup(svg), summary


def _frame(
    node: DiffNode,
    x: float,
    y: float,
    w: float,
    h: int,
    scale: float,
    unit: Unit,
    before_label: str,
    after_label: str,
) -> str:
    change = node.delta
    if node.before > 0:
        rel = f" ({change / node.before * 100:+.1f}%)"
    else:
        rel = " (new)" if node.after > 0 else ""
    sign = "+" if change > 0 else ""
    title = (
        f"{node.name}\n{before_label}: {describe(node.before, unit)}\n"
        f"{after_label}: {describe(node.after, unit)}\n"
        f"change: {sign}{describe(change, unit)}{rel}"
    )
    label = truncate(node.name, w)
    fill = colour(change, scale)
    text = (
        f'<text x="{x + 3:.1f}" y="{y + h - 5}" fill="#111">{escape(label)}</text>' if label else ""
    )
    return (
        f'<g class="frame" data-delta="{change:.6g}"><title>{escape(title)}</title>'
        f'<rect x="{x:.1f}" y="{y}" width="{max(w - 0.4, 0.2):.1f}" height="{h - 1}" '
        f'fill="{fill}" rx="1.5"/>{text}</g>'
    )
