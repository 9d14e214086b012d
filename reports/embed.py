"""py-spy flame graphs, embedded in the report and still interactive (zoom, search).

py-spy writes an inferno flame graph (jonhoo/inferno, ``flamegraph/svg.rs``): an SVG
document with its own ``<script>`` that assumes ``document`` is that SVG (it looks up
``details``, ``frames`` and ``svg[0]`` by id and tag, listens on ``window``, and writes the
zoom state into the URL with ``history.replaceState``). Several of them inlined in one HTML
page would collide, so each goes into its own ``<iframe srcdoc>``:

- the SVG is parsed as XML and checked against an allow-list (the elements and attributes
  inferno emits, ``url(#id)`` references only, no ``on*`` handler but the root's
  ``onload="init(evt)"``, scripts only at the top level), then re-serialized by
  ElementTree, so every text node (function names, file paths, the command line) reaches
  the browser as escaped text, whatever it holds;
- frames narrower than ``min_width`` of the total are dropped (what ``flamegraph.pl
  --minwidth`` does), which bounds the size of graphs with many tiny stacks;
- the iframe document adds two small scripts: ``history.replaceState`` made harmless (an
  ``about:srcdoc`` document may not rewrite its URL to the report's ``file:`` URL, and
  inferno's search stops half-way on that error) and the ``init()`` call the root's
  ``onload`` attribute made, deferred until the frame has a width (a sandboxed frame is
  laid out in its own process, and inferno sizes its frames from the SVG's width);
- the iframe is sandboxed (scripts and the search prompt only: an opaque origin that can
  neither reach the report nor the network), and the report's Content-Security-Policy
  allows exactly these scripts, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
INFERNO_NS = "http://github.com/jonhoo/inferno"

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)
ET.register_namespace("fg", INFERNO_NS)

ALLOWED_ELEMENTS = frozenset(
    f"{{{SVG_NS}}}{name}"
    for name in (
        "svg",
        "g",
        "title",
        "rect",
        "text",
        "style",
        "script",
        "defs",
        "linearGradient",
        "stop",
    )
)
_URL = re.compile(r"url\(\s*([^)]*)\)", re.I)
_ALLOWED_URL = re.compile(r"^['\"]?#[A-Za-z0-9_.:-]+['\"]?$")

SANDBOX = "allow-scripts allow-modals"

REPLACE_STATE_SHIM = (
    "(function(){var h=window.history,r=h.replaceState;"
    "h.replaceState=function(){try{return r.apply(h,arguments)}catch(e){return undefined}};})();"
)
INIT_CALL = (
    "(function go(){if(typeof init!=='function'){return;}"
    "if(document.documentElement.clientWidth>100){init(null);}else{setTimeout(go,50);}})();"
)

FRAME_STYLE = "html,body{margin:0;background:#fff}body>svg{display:block;width:100%}"


class FlamegraphError(ValueError):
    """The file is not a flame graph this report can embed safely."""


@dataclass(frozen=True)
class EmbeddedFlamegraph:
    """One py-spy flame graph, ready for ``<iframe sandbox srcdoc>``."""

    srcdoc: str
    """The iframe's whole HTML document (plain text: the template escapes it)."""
    height: int
    """Pixel height of the graph, for the iframe."""
    script_hashes: tuple[str, ...]
    """CSP sources (``'sha256-...'``) of every script the document runs."""
    frames: int
    pruned: int


def csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def embed_pyspy_svg(svg_text: str, *, min_width: float = 0.0005) -> EmbeddedFlamegraph:
    """Check, trim and wrap a py-spy SVG; raises :class:`FlamegraphError` when it does
    not look like one (then the report says so instead of embedding it)."""
    if "<!ENTITY" in svg_text:
        raise FlamegraphError("the SVG declares XML entities")
    try:
        root = ET.fromstring(svg_text)
    except ET.ParseError as exc:
        raise FlamegraphError(f"not well-formed XML: {exc}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise FlamegraphError(f"root element is {root.tag!r}, not svg")
    _check(root)
    frames_el = next((e for e in root if e.get("id") == "frames"), None)
    frames, pruned = _prune(frames_el, min_width) if frames_el is not None else (0, 0)
    if root.attrib.pop("onload", None) not in (None, "init(evt)"):
        raise FlamegraphError("unexpected onload handler")
    scripts = [e.text or "" for e in root if e.tag == f"{{{SVG_NS}}}script"]
    try:
        height = int(float(root.get("height", "600")))
    except ValueError:
        height = 600
    body = ET.tostring(root, encoding="unicode")
    srcdoc = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<style>{FRAME_STYLE}</style><script>{REPLACE_STATE_SHIM}</script></head>"
        f"<body>{body}<script>{INIT_CALL}</script></body></html>"
    )
    hashes = tuple(dict.fromkeys(csp_hash(s) for s in (REPLACE_STATE_SHIM, INIT_CALL, *scripts)))
    return EmbeddedFlamegraph(
        srcdoc=srcdoc,
        height=max(120, min(height, 4000)),
        script_hashes=hashes,
        frames=frames,
        pruned=pruned,
    )


def _check(root: ET.Element) -> None:
    for parent in root.iter():
        for el in parent:
            if el.tag == f"{{{SVG_NS}}}script" and parent is not root:
                raise FlamegraphError("script below the top level")
    for el in root.iter():
        if el.tag not in ALLOWED_ELEMENTS:
            raise FlamegraphError(f"unexpected element {el.tag!r}")
        for name, value in el.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on") and not (el is root and local == "onload"):
                raise FlamegraphError(f"event handler attribute {local!r}")
            if local == "href" or "javascript:" in value.lower():
                raise FlamegraphError(f"link attribute {local!r}")
            _check_urls(value, f"attribute {local!r}")
        if el.tag == f"{{{SVG_NS}}}style":
            text = el.text or ""
            if "@import" in text.lower():
                raise FlamegraphError("@import in a style sheet")
            _check_urls(text, "style sheet")


def _check_urls(text: str, where: str) -> None:
    for m in _URL.finditer(text):
        if not _ALLOWED_URL.match(m.group(1).strip()):
            raise FlamegraphError(f"external reference in {where}: url({m.group(1)})")


def _prune(frames_el: ET.Element, min_width: float) -> tuple[int, int]:
    """Drop frames narrower than ``min_width`` of all samples; (kept, dropped)."""
    try:
        total = int(frames_el.get("total_samples", "0"))
    except ValueError:
        total = 0
    kept = dropped = 0
    for g in list(frames_el):
        rect = g.find(f"{{{SVG_NS}}}rect")
        width_text = rect.get(f"{{{INFERNO_NS}}}w") if rect is not None else None
        narrow = (
            total > 0
            and width_text is not None
            and width_text.isdigit()
            and int(width_text) / total < min_width
        )
        if narrow:
            frames_el.remove(g)
            dropped += 1
            continue
        kept += 1
    return kept, dropped
