"""Interactive flame graphs drawn from folded stacks: inline SVG plus one small script.

The layout is an icicle (root on top, as py-spy draws it), width proportional to samples,
frames coloured with flamegraph.pl's "hot" palette seeded by the frame name. What the
interaction does follows inferno's ``flamegraph.js`` (jonhoo/inferno), which py-spy embeds:
click a frame to zoom (it fills the width, its ancestors stay as a greyed path, unrelated
frames hide), "Reset zoom" to go back, and a search box that highlights matching frames and
says which share of the samples they cover. Unlike inferno's script, :data:`SCRIPT` serves
every graph of the page at once (state lives on each ``<svg>``), uses a text box instead
of ``prompt()``, and never touches the URL.

The one flame graph renderer of gwbench: :func:`render_flamegraph` draws the graph for
the HTML report (which carries the script and the search box once for every graph), and
:func:`flamegraph_document` the same graph as a standalone SVG file with the script, the
styles and the search box inside, which is what ``gwbench run`` writes beside the results.
Both are pure: folded stacks (:mod:`gwbench.folded`) in, text out.

Without script (a mail client, a print) the graph is still there, static, with hover
titles. Frames narrower than ``min_width_px`` at full width are not drawn; their samples
stay in their parent's width.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from markupsafe import Markup, escape

from gwbench.folded import is_code_frame

N = TypeVar("N")

WIDTH = 640
"""Width in SVG units: two graphs side by side keep 11px text readable."""
PAD = 6
FRAME_H = 17
CHAR_W = 6.6
"""Approximate advance of one 11px monospace character, in SVG units."""
DOCUMENT_WIDTH = 1200
"""Width of a standalone graph (a file of its own fills a browser window)."""
TOOLS_H = 30
"""Height of the search box and reset button above a standalone graph."""
FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"


@dataclass
class _Node:
    name: str
    value: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


@dataclass(frozen=True)
class FlameGraph:
    svg: Markup
    graph_id: str
    total_samples: int
    frames: int
    hidden: int
    depth: int


def _tree(stacks: Mapping[tuple[str, ...], int]) -> _Node:
    root = _Node("all")
    for stack, count in stacks.items():
        root.value += count
        node = root
        for frame in stack:
            child = node.children.get(frame)
            if child is None:
                child = node.children[frame] = _Node(frame)
            child.value += count
            node = child
    return root


def hot_colour(name: str) -> str:
    """flamegraph.pl's "hot" palette, stable per frame name."""
    h = zlib.crc32(name.encode("utf-8"))
    r = 205 + (h & 0xFF) % 50
    g = (h >> 8 & 0xFF) % 200 + 20
    b = (h >> 16 & 0xFF) % 55
    return f"rgb({r},{g},{b})"


def truncate(name: str, width: float) -> str:
    chars = int((width - 6) / CHAR_W)
    if chars < 3:
        return ""
    return name if len(name) <= chars else name[: chars - 1] + "…"


@dataclass(frozen=True)
class Placed(Generic[N]):
    """A frame's place in an icicle layout."""

    node: N
    offset: float
    """From the left edge of the root, in the units of the layout's ``size``."""
    depth: int
    width: float
    """In SVG units."""


class Frame(Protocol):
    """A node of a call tree: its frame's name and its children by name."""

    @property
    def name(self) -> str: ...

    @property
    def children(self) -> Mapping[str, Any]: ...


def by_name(node: Frame) -> list[Any]:
    """``node``'s children in name order: the order both flame graphs draw them in."""
    return sorted(node.children.values(), key=lambda c: c.name)


def icicle(
    root: N,
    size: Callable[[N], float],
    children: Callable[[N], Iterable[N]],
    px_per_unit: float,
    *,
    min_width_px: float,
    max_depth: int,
) -> tuple[list[Placed[N]], int]:
    """Every frame of the tree under ``root`` placed as an icicle (children side by side
    under their parent, left to right in the order ``children`` gives), parents before
    their children, and
    how many frames were left out: narrower than ``min_width_px`` or deeper than
    ``max_depth`` (with everything under them). Iterative: py-spy stacks can be deeper
    than Python's recursion limit."""
    placed: list[Placed[N]] = []
    hidden = 0
    todo: list[tuple[N, float, int]] = [(root, 0, 0)]
    while todo:
        node, offset, depth = todo.pop()
        width = size(node) * px_per_unit
        if width < min_width_px or depth > max_depth:
            hidden += 1
            continue
        placed.append(Placed(node, offset, depth, width))
        child_offset = offset
        for child in children(node):
            todo.append((child, child_offset, depth + 1))
            child_offset += size(child)
    return placed, hidden


def _frames(
    stacks: Mapping[tuple[str, ...], int],
    title: str,
    width: int,
    min_width_px: float,
    max_depth: int,
) -> tuple[list[str], int, int, int]:
    """The ``<g class="f">`` elements of the graph (icicle, root at y = 0), the total
    samples, the frames left out and the deepest level drawn."""
    root = _tree(stacks)
    while len(root.children) == 1 and not is_code_frame(next(iter(root.children))):
        root = next(iter(root.children.values()))  # a label every stack shares: the root
    total = root.value
    inner = width - 2 * PAD
    per_sample = inner / total if total else 0.0
    placed, hidden = icicle(
        root, lambda n: n.value, by_name, per_sample, min_width_px=min_width_px, max_depth=max_depth
    )
    parts: list[str] = []
    for frame in placed:
        node, x, depth, w = frame.node, frame.offset, frame.depth, frame.width
        px = PAD + x * per_sample
        y = depth * FRAME_H
        pct = 100.0 * node.value / total if total else 0.0
        name = node.name if depth or node.name != "all" else title
        tip = f"{name}\n{node.value:,} samples, {pct:.2f}%"
        fill = "rgb(200,203,208)" if depth == 0 else hot_colour(node.name)
        parts.append(
            f'<g class="f" data-x="{x:.0f}" data-w="{node.value}" data-d="{depth}">'
            f"<title>{escape(tip)}</title>"
            f'<rect x="{px:.1f}" y="{y}" width="{max(w - 0.4, 0.2):.1f}" '
            f'height="{FRAME_H - 1}" fill="{fill}" rx="1.5"/>'
            f'<text x="{px + 3:.1f}" y="{y + FRAME_H - 5}">{escape(truncate(name, w))}</text></g>'
        )
    depth_seen = max((f.depth for f in placed), default=0)
    return parts, total, hidden, depth_seen


def render_flamegraph(
    stacks: Mapping[tuple[str, ...], int],
    *,
    graph_id: str,
    title: str,
    min_width_px: float = 0.25,
    max_depth: int = 120,
) -> FlameGraph:
    """The graph as an ``<svg class="flame">`` element for an HTML page, with the ids and
    data attributes :data:`SCRIPT` reads (the page carries the script and the search box).
    ``graph_id`` must be unique in the page."""
    parts, total, hidden, depth = _frames(stacks, title, WIDTH, min_width_px, max_depth)
    height = (depth + 1) * FRAME_H + 2
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flame" id="{escape(graph_id)}" '
        f'data-total="{total}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'font-family="{FONT}" font-size="11">{"".join(parts)}</svg>'
    )
    return FlameGraph(
        svg=Markup(svg),
        graph_id=graph_id,
        total_samples=total,
        frames=len(parts),
        hidden=hidden,
        depth=depth,
    )


def flamegraph_document(
    stacks: Mapping[tuple[str, ...], int],
    *,
    title: str,
    width: int = DOCUMENT_WIDTH,
    min_width_px: float = 0.25,
    max_depth: int = 120,
) -> str:
    """The same graph as a standalone SVG file, interactive on its own: :data:`SCRIPT`,
    :data:`STYLE` and the search box and reset button travel inside it, so opening the
    file in a browser zooms and searches exactly as the report does."""
    graph_id = "flame"
    parts, total, _, depth = _frames(stacks, title, width, min_width_px, max_depth)
    height = TOOLS_H + (depth + 1) * FRAME_H + 2
    tools = (
        f'<foreignObject x="0" y="0" width="{width}" height="{TOOLS_H}">'
        f'<div xmlns="http://www.w3.org/1999/xhtml" class="flame-tools">'
        f"<b>{escape(title)}</b> <span>{total:,} samples</span> "
        f'<input type="search" class="flame-search" data-target="{graph_id}" '
        f'placeholder="Search frames (regex)" aria-label="Search frames"/> '
        f'<button type="button" class="flame-reset" data-target="{graph_id}">Reset zoom'
        f'</button> <span class="flame-matched" id="{graph_id}-matched"></span></div>'
        f"</foreignObject>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flame" id="{graph_id}" '
        f'data-total="{total}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">'
        f"<title>{escape(title)}</title><style>{STYLE}</style>{tools}"
        f'<g transform="translate(0,{TOOLS_H})">{"".join(parts)}</g>'
        f"<script><![CDATA[\n{SCRIPT}\n]]></script></svg>\n"
    )


def csp_hash(script: str) -> str:
    """The Content-Security-Policy source that allows the inline ``script``."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


STYLE = (
    "svg.flame g.f { cursor: pointer; }"
    " svg.flame g.f:hover rect { stroke: #111; stroke-width: 0.8; }"
    " svg.flame g.f text { pointer-events: none; fill: #111; }"
    " svg.flame g.hide { display: none; }"
    " svg.flame g.anc rect { opacity: 0.55; }"
    " svg.flame g.match rect { fill: rgb(230,0,230); }"
    " .flame-tools { display: flex; align-items: center; gap: 8px; padding: 4px 6px;"
    " font: 12px sans-serif; }"
    " .flame-search { width: 220px; font: inherit; }"
    " .flame-reset { font: inherit; visibility: hidden; }"
    " svg[data-zoomed='1'] .flame-reset { visibility: visible; }"
    " .flame-matched { color: #555; }"
)
"""What a standalone graph needs of the report's stylesheet."""


SCRIPT = """(function () {
  "use strict";
  var PAD = @PAD@, CW = @CHAR_W@;
  function nameOf(g) { return g.querySelector("title").textContent.split("\\n")[0]; }
  function cut(name, w) {
    var n = Math.floor((w - 6) / CW);
    if (n < 3) { return ""; }
    return name.length <= n ? name : name.slice(0, n - 1) + "\\u2026";
  }
  function zoom(svg, x0, w0, d0) {
    var W = svg.viewBox.baseVal.width, scale = (W - 2 * PAD) / w0;
    var gs = svg.querySelectorAll("g.f");
    for (var i = 0; i < gs.length; i++) {
      var g = gs[i], x = +g.dataset.x, w = +g.dataset.w, d = +g.dataset.d;
      var anc = d < d0 && x <= x0 && x + w >= x0 + w0;
      var inside = d >= d0 && x >= x0 && x + w <= x0 + w0;
      g.classList.toggle("hide", !(anc || inside));
      g.classList.toggle("anc", anc);
      if (!(anc || inside)) { continue; }
      var px = anc ? PAD : PAD + (x - x0) * scale, pw = anc ? W - 2 * PAD : w * scale;
      var r = g.querySelector("rect"), t = g.querySelector("text");
      r.setAttribute("x", px.toFixed(1));
      r.setAttribute("width", Math.max(pw - 0.4, 0.2).toFixed(1));
      t.setAttribute("x", (px + 3).toFixed(1));
      t.textContent = cut(nameOf(g), pw);
    }
    svg.dataset.zoomed = d0 > 0 ? "1" : "0";
    var box = svg.closest(".flame-graph");
    if (box) { box.classList.toggle("zoomed", d0 > 0); }
  }
  function reset(svg) { zoom(svg, 0, +svg.dataset.total, 0); }
  function search(svg, term, out) {
    var gs = svg.querySelectorAll("g.f"), re = null, spans = [];
    if (term) {
      try { re = new RegExp(term, "i"); }
      catch (e) { re = new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, "\\\\$&"), "i"); }
    }
    for (var i = 0; i < gs.length; i++) {
      var g = gs[i], hit = re !== null && +g.dataset.d > 0 && re.test(nameOf(g));
      g.classList.toggle("match", hit);
      if (hit) { spans.push([+g.dataset.x, +g.dataset.w]); }
    }
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var covered = 0, end = -1;
    for (var j = 0; j < spans.length; j++) {
      if (spans[j][0] >= end) { covered += spans[j][1]; end = spans[j][0] + spans[j][1]; }
    }
    if (out) {
      out.textContent = re === null ? "" :
        "matched " + (100 * covered / +svg.dataset.total).toFixed(1) + "% of samples";
    }
  }
  document.addEventListener("click", function (e) {
    var t = e.target;
    var g = t.closest ? t.closest("svg.flame g.f") : null;
    if (g) { zoom(g.ownerSVGElement, +g.dataset.x, +g.dataset.w, +g.dataset.d); return; }
    var b = t.closest ? t.closest("button.flame-reset") : null;
    if (b) { var s = document.getElementById(b.dataset.target); if (s) { reset(s); } }
  });
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (!t.classList || !t.classList.contains("flame-search")) { return; }
    var s = document.getElementById(t.dataset.target);
    if (s) { search(s, t.value, document.getElementById(t.dataset.target + "-matched")); }
  });
})();""".replace("@PAD@", str(PAD)).replace("@CHAR_W@", str(CHAR_W))
"""Zoom and search for every ``svg.flame`` in the page (allowed by the report's CSP hash)."""
