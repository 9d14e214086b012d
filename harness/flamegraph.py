"""Folded stacks (py-spy ``--format raw``) to flame graph SVG and speedscope JSON.

py-spy samples the whole worker process, from interpreter start-up to exit. Only the
samples under the worker's profiling frames belong to the hot path; :func:`hot_stacks`
keeps those, drops start-up and input building, and roots them at one label. The same
filtered stacks then feed all three artefacts, so the flame graph, the speedscope
profile and the folded text (for differential flame graphs) agree sample for sample.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

Stacks = dict[tuple[str, ...], int]

PREPARE_LABEL = "[prepare: fresh inputs, not timed]"
_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>.*):(?P<line>\d+)\)$")


def parse_folded(lines: Iterable[str]) -> Stacks:
    """``frame;frame;frame count`` lines to a stack -> samples mapping."""
    stacks: Stacks = {}
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack_text, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        stack = tuple(f for f in stack_text.split(";") if f)
        if stack:
            stacks[stack] = stacks.get(stack, 0) + count
    return stacks


def hot_stacks(
    stacks: Mapping[tuple[str, ...], int], call_frame: str, prepare_frame: str | None, root: str
) -> Stacks:
    """Stacks under ``call_frame`` (re-rooted at ``root``) and under ``prepare_frame``
    (under ``root`` / :data:`PREPARE_LABEL`); everything else is dropped."""
    out: Stacks = {}
    call_prefix = call_frame + " ("
    prepare_prefix = None if prepare_frame is None else prepare_frame + " ("
    for stack, count in stacks.items():
        new: tuple[str, ...] | None = None
        for i, frame in enumerate(stack):
            if frame.startswith(call_prefix):
                new = (root, *stack[i + 1 :])
                break
            if prepare_prefix is not None and frame.startswith(prepare_prefix):
                new = (root, PREPARE_LABEL, *stack[i + 1 :])
                break
        if new is not None:
            out[new] = out.get(new, 0) + count
    return out


def to_folded(stacks: Mapping[tuple[str, ...], int]) -> str:
    return "".join(f"{';'.join(s)} {n}\n" for s, n in sorted(stacks.items()))


def to_speedscope(stacks: Mapping[tuple[str, ...], int], name: str) -> str:
    """A speedscope "sampled" profile (https://www.speedscope.app/file-format-schema.json)."""
    frames: list[dict[str, object]] = []
    index: dict[str, int] = {}
    samples: list[list[int]] = []
    weights: list[int] = []
    for stack, count in sorted(stacks.items()):
        ids = []
        for frame in stack:
            if frame not in index:
                index[frame] = len(frames)
                m = _FRAME.match(frame)
                if m:
                    frames.append({"name": m["name"], "file": m["file"], "line": int(m["line"])})
                else:
                    frames.append({"name": frame})
            ids.append(index[frame])
        samples.append(ids)
        weights.append(count)
    total = sum(weights)
    doc = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": total,
                "samples": samples,
                "weights": weights,
            }
        ],
        "name": name,
        "activeProfileIndex": 0,
        "exporter": "gwbench",
    }
    return json.dumps(doc, separators=(",", ":"))


@dataclass
class _Node:
    name: str
    value: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(stacks: Mapping[tuple[str, ...], int]) -> _Node:
    top = _Node("all")
    for stack, count in stacks.items():
        top.value += count
        node = top
        for frame in stack:
            node = node.children.setdefault(frame, _Node(frame))
            node.value += count
    return top


def _color(name: str) -> str:
    # flamegraph.pl's "hot" palette, seeded by the frame name so colours are stable.
    h = zlib.crc32(name.encode("utf-8"))
    r = 205 + (h & 0xFF) % 50
    g = (h >> 8 & 0xFF) % 230
    b = (h >> 16 & 0xFF) % 55
    return f"rgb({r},{g},{b})"


def to_svg(stacks: Mapping[tuple[str, ...], int], title: str, width: int = 1200) -> str:
    """A static flame graph (root at the bottom, width proportional to samples, hover
    titles with sample counts)."""
    top = _tree(stacks)
    if len(top.children) == 1:  # one root already (the hot path's label)
        top = next(iter(top.children.values()))
    total = max(top.value, 1)
    frame_h, pad_top, pad_bottom, margin = 16, 36, 10, 10
    usable = width - 2 * margin

    def depth(node: _Node) -> int:
        return 1 + max((depth(c) for c in node.children.values()), default=0)

    levels = depth(top)
    height = pad_top + levels * frame_h + pad_bottom
    rects: list[str] = []

    def draw(node: _Node, x: float, level: int) -> None:
        w = node.value / total * usable
        if w < 0.3:
            return
        y = height - pad_bottom - (level + 1) * frame_h
        pct = 100.0 * node.value / total
        label = node.name
        tip = escape(f"{label} ({node.value} samples, {pct:.2f}%)")
        chars = int(w / 7)
        text = label if len(label) <= chars else (label[: chars - 2] + ".." if chars > 3 else "")
        rects.append(
            f'<g><title>{tip}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" '
            f'height="{frame_h - 1}" fill="{_color(label)}" rx="2"/>'
            + (f'<text x="{x + 3:.1f}" y="{y + 11}">{escape(text)}</text>' if text else "")
            + "</g>"
        )
        child_x = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, child_x, level + 1)
            child_x += child.value / total * usable

    draw(top, float(margin), 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Verdana, sans-serif" font-size="11">'
        f'<rect width="100%" height="100%" fill="#f8f8f0"/>'
        f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="15">'
        f"{escape(title)}</text>"
        f'<text x="{margin}" y="{pad_top - 4}" font-size="10" fill="#555">'
        f"{top.value} samples</text>" + "".join(rects) + "</svg>\n"
    )
