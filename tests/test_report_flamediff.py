"""Differential flame graphs: parsing, per-operation normalization, colours, layout."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from gwbench.folded import parse_folded
from gwbench.reports.flamediff import (
    ProfileSide,
    build_tree,
    colour,
    frame_key,
    match_frames,
    normalize,
    render_diff_svg,
)

SVG = "{http://www.w3.org/2000/svg}"

# The baseline ran 10 calls: per call, lookup takes 8 samples and encode 2.
BEFORE = """\
main (bench.py:1);handle (baselines/x.py:5);lookup (baselines/x.py:20) 80
main (bench.py:1);handle (baselines/x.py:5);encode (common.py:9) 20
"""
# The optimized twin ran 100 calls: per call, lookup 0.2 samples, encode 3 (slower!).
AFTER = """\
main (bench.py:1);handle (optimized/x.py:7);lookup (optimized/x.py:31) 20
main (bench.py:1);handle (optimized/x.py:7);encode (common.py:9) 300
"""


def _fills(svg: str) -> dict[str, tuple[int, int, int]]:
    """Frame name (first title line) -> fill colour, from the rendered SVG."""
    root = ET.fromstring(svg)
    out: dict[str, tuple[int, int, int]] = {}
    for g in root.iter(f"{SVG}g"):
        title, rect = g.find(f"{SVG}title"), g.find(f"{SVG}rect")
        if title is None or rect is None or title.text is None:
            continue
        m = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", rect.get("fill", ""))
        assert m, rect.get("fill")
        out[title.text.split("\n")[0]] = (int(m[1]), int(m[2]), int(m[3]))
    return out


def _sides(calls: bool = True) -> tuple[ProfileSide, ProfileSide]:
    return (
        ProfileSide("baseline", parse_folded(BEFORE), calls=10 if calls else None),
        ProfileSide("optimized", parse_folded(AFTER), calls=100 if calls else None),
    )


def test_slower_frame_is_red_and_faster_frame_is_blue() -> None:
    # GIVEN two profiles where lookup got faster per call and encode slower
    before, after = _sides()
    # WHEN the differential graph is drawn
    svg, summary = render_diff_svg(before, after)
    fills = _fills(str(svg))
    # THEN lookup is blue (faster), encode red (slower)
    r, _, b = fills["lookup (x.py)"]
    assert b > r + 60, fills["lookup (x.py)"]
    r, _, b = fills["encode (common.py)"]
    assert r > b + 60, fills["encode (common.py)"]
    assert summary.unit == "samples"
    assert summary.frames_drawn == 5  # all, main, handle, lookup, encode


def test_normalization_is_per_operation() -> None:
    # Raw samples say encode grew 15x; per call (10 vs 100 calls) it grew 1.5x.
    before, after = _sides()
    norm = normalize(
        ProfileSide("b", match_frames(before.stacks), calls=10),
        ProfileSide("a", match_frames(after.stacks), calls=100),
    )
    tree = build_tree(norm)
    handle = tree.children["main (bench.py)"].children["handle (x.py)"]
    assert handle.children["encode (common.py)"].before == pytest.approx(2.0)
    assert handle.children["encode (common.py)"].after == pytest.approx(3.0)
    assert handle.children["lookup (x.py)"].before == pytest.approx(8.0)
    assert handle.children["lookup (x.py)"].after == pytest.approx(0.2)
    assert tree.before == pytest.approx(10.0) and tree.after == pytest.approx(3.2)


def test_seconds_per_call_when_duration_known_and_timing_fallback() -> None:
    b = ProfileSide("b", {("f (a.py)",): 100}, calls=10, seconds=1.0)
    a = ProfileSide("a", {("f (a.py)",): 50}, calls=50, seconds=0.5)
    n = normalize(b, a)
    assert (n.unit, n.basis) == ("seconds", "calls")
    assert n.before[("f (a.py)",)] == pytest.approx(0.1)
    assert n.after[("f (a.py)",)] == pytest.approx(0.01)
    # without calls, the timed median per call scales each side's shares
    b2 = ProfileSide("b", {("f (a.py)",): 75, ("g (a.py)",): 25}, time_per_call=0.2)
    a2 = ProfileSide("a", {("f (a.py)",): 10, ("g (a.py)",): 90}, time_per_call=0.01)
    n2 = normalize(b2, a2)
    assert n2.basis == "timing"
    assert n2.before[("f (a.py)",)] == pytest.approx(0.15)
    assert n2.after[("g (a.py)",)] == pytest.approx(0.009)


def test_without_calls_falls_back_to_shares() -> None:
    before, after = _sides(calls=False)
    n = normalize(before, after)
    assert n.unit == "share"
    assert sum(n.before.values()) == pytest.approx(1.0)
    assert sum(n.after.values()) == pytest.approx(1.0)
    # as shares, encode went from 20% to 94%: red; lookup from 80% to 6%: blue
    fills = _fills(str(render_diff_svg(before, after)[0]))
    assert fills["encode (common.py)"][0] > fills["encode (common.py)"][2]
    assert fills["lookup (x.py)"][2] > fills["lookup (x.py)"][0]


def test_widths_nest() -> None:
    before, after = _sides()
    tree = build_tree(
        normalize(
            ProfileSide("b", match_frames(before.stacks), calls=10),
            ProfileSide("a", match_frames(after.stacks), calls=100),
        )
    )
    todo = [tree]
    while todo:
        node = todo.pop()
        assert node.width >= sum(c.width for c in node.children.values()) - 1e-9
        assert node.width >= max(node.before, node.after) - 1e-9
        todo.extend(node.children.values())


def test_frames_match_across_twins_and_root_labels_drop() -> None:
    assert frame_key("build (baselines/gateway_lookup.py:12)") == "build (gateway_lookup.py)"
    assert frame_key("build (optimized/gateway_lookup.py:30)") == "build (gateway_lookup.py)"
    assert frame_key("<module> (<frozen site>:1)") == "<module> (<frozen site>)"
    assert frame_key("[prepare]") == "[prepare]"
    stacks = {("hp/baseline N=5", "f (a/b.py:1)"): 3, ("hp/baseline N=5",): 1}
    assert match_frames(stacks) == {("f (b.py)",): 3, ("(self)",): 1}


def test_unchanged_is_neutral() -> None:
    assert colour(0.0, 10.0) == colour(0.001, 10.0)
    red, blue = colour(5.0, 10.0), colour(-5.0, 10.0)
    assert red != blue != colour(0.0, 10.0)


def test_titles_are_escaped_and_parse() -> None:
    b = ProfileSide("b", {("<img src=x onerror=alert(1)> (x.py:1)",): 5}, calls=1)
    a = ProfileSide("a", {("<img src=x onerror=alert(1)> (x.py:1)",): 1}, calls=1)
    svg = str(render_diff_svg(b, a)[0])
    assert "<img" not in svg
    ET.fromstring(svg)


