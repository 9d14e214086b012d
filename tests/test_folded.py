"""The folded-stack model and what is drawn from it: flame graph files, speedscope."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from gwbench.folded import (
    PREPARE_LABEL,
    FoldedStackError,
    Frame,
    hot_stacks,
    merge,
    parse_folded,
    split_frame,
    to_folded,
    total,
)
from gwbench.harness.commands.run import write_flame_artefacts
from gwbench.reports.flamegraph import SCRIPT, flamegraph_document, icicle, render_flamegraph
from gwbench.reports.speedscope import render_speedscope
from gwbench.results import Profile
from tests import report_data

CALL = "_profiled_call"
PREPARE = "_profiled_prepare"
RAW = [
    "<module> (worker.py:1);load_workload (worker.py:9);loads (pickle.py:1) 40\n",
    f"<module> (worker.py:1);{CALL} (worker.py:5);scan (f.py:3) 7\n",
    f"<module> (worker.py:1);{CALL} (worker.py:5);scan (f.py:3);eq (f.py:9) 3\n",
    f"<module> (worker.py:1);{PREPARE} (worker.py:4);copy (c.py:1) 2\n",
]


def test_parse_adds_repeated_stacks_skips_idle_and_names_a_bad_line() -> None:
    assert parse_folded("a;b 3\na;b 2\n\n 4\n") == {("a", "b"): 5}
    with pytest.raises(FoldedStackError, match="line 2"):
        parse_folded("a;b 3\nnot a count\n")
    # py-spy's raw output is read leniently: a bad line is dropped, not fatal
    assert parse_folded(["a;b 3\n", "garbage\n"], strict=False) == {("a", "b"): 3}


def test_folded_text_round_trips_and_profiles_merge() -> None:
    stacks = parse_folded("x;y 2\nx 1\n")
    assert parse_folded(to_folded(stacks)) == stacks
    merged = merge(stacks, {("x", "y"): 3, ("z",): 1})
    assert merged == {("x", "y"): 5, ("x",): 1, ("z",): 1}
    assert total(merged) == 7 and total({}) == 0


def test_only_the_hot_path_samples_are_kept_under_one_root() -> None:
    # GIVEN a worker's whole profile: loading the workload, calls, and fresh inputs
    stacks = hot_stacks(parse_folded(RAW), CALL, PREPARE, "hp/impl N=5")
    # THEN start-up is gone, calls hang from the root, preparation under its label
    assert total(stacks) == 12
    assert stacks[("hp/impl N=5", "scan (f.py:3)")] == 7
    assert stacks[("hp/impl N=5", PREPARE_LABEL, "copy (c.py:1)")] == 2


def test_frames_split_into_function_file_and_line() -> None:
    assert split_frame("build (optimized/gateway_lookup.py:30)") == Frame(
        "build", "optimized/gateway_lookup.py", 30
    )
    assert split_frame("f (x.py)") == Frame("f", "x.py", None)
    assert split_frame("hp/impl N=5") == Frame("hp/impl N=5")


def test_speedscope_weights_are_seconds() -> None:
    # GIVEN 12 samples taken at 100 Hz
    stacks = hot_stacks(parse_folded(RAW), CALL, PREPARE, "hp/impl N=5")
    doc = json.loads(render_speedscope(stacks, name="hp/impl N=5", seconds_per_sample=0.01))
    profile = doc["profiles"][0]
    # THEN each sample weighs 10 ms and the profile spans 0.12 s
    assert profile["unit"] == "seconds"
    assert sum(profile["weights"]) == pytest.approx(0.12)
    assert profile["endValue"] == pytest.approx(0.12)
    assert {"name": "scan", "file": "f.py", "line": 3} in doc["shared"]["frames"]
    assert {"name": "hp/impl N=5"} in doc["shared"]["frames"]


def test_the_flame_graph_file_is_the_report_graph_with_its_script() -> None:
    # GIVEN the same stacks drawn for the report and as a file of its own
    stacks = hot_stacks(parse_folded(RAW), CALL, PREPARE, "title <&>")
    inline = render_flamegraph(stacks, graph_id="g", title="title <&>")
    document = flamegraph_document(stacks, title="title <&>")
    # THEN the file is well-formed SVG carrying the zoom and search script, the search box
    # and the same frames, with every name escaped
    root = ET.fromstring(document.encode("utf-8"))
    ns = {"svg": "http://www.w3.org/2000/svg", "x": "http://www.w3.org/1999/xhtml"}
    assert root.get("class") == "flame" and root.get("data-total") == "12"
    script = root.find("svg:script", ns)
    assert script is not None and (script.text or "").strip() == SCRIPT
    assert root.find(".//x:input[@class='flame-search']", ns) is not None
    assert root.find(".//x:button[@class='flame-reset']", ns) is not None
    frames = root.findall(".//svg:g[@class='f']", ns)
    assert len(frames) == inline.frames == 5
    assert "title &lt;&amp;&gt;" in document and "<&>" not in document


def test_icicle_places_children_side_by_side_and_leaves_out_narrow_subtrees() -> None:
    # GIVEN a tree as (name, size, children): a root of 100 with children of 60, 39 and 1
    a = ("a", 60.0, (("a1", 30.0, ()),))
    c = ("c", 1.0, (("deep", 1.0, ()),))
    root = ("root", 100.0, (a, ("b", 39.0, ()), c))
    # WHEN laid out at 1 px per unit, frames under 2 px hidden
    placed, hidden = icicle(
        root, lambda n: n[1], lambda n: n[2], 1.0, min_width_px=2.0, max_depth=10
    )
    spots = {p.node[0]: (p.offset, p.depth, p.width) for p in placed}
    # THEN siblings follow each other left to right, children start under their parent,
    # and the 1 px frame is left out together with what hangs under it
    assert spots == {
        "root": (0, 0, 100.0),
        "a": (0, 1, 60.0),
        "a1": (0, 2, 30.0),
        "b": (60.0, 1, 39.0),
    }
    assert hidden == 1
    assert icicle(root, lambda n: n[1], lambda n: n[2], 1.0, min_width_px=0, max_depth=0)[1] == 3


def test_run_draws_flame_graph_and_speedscope_files_from_the_folded_stacks(
    tmp_path: Path,
) -> None:
    # GIVEN results whose profile left only its folded stacks on disk
    results = report_data.results()
    hp = results.hotpaths[0]
    folded = tmp_path / "profiles" / "base.folded"
    folded.parent.mkdir(parents=True)
    folded.write_text(to_folded(hot_stacks(parse_folded(RAW), CALL, PREPARE, "root")))
    prof = Profile(200, "profiles/base.svg", "profiles/base.json", "profiles/base.folded", 12, 0.12)
    impl = replace(hp.implementations[0], profile=prof)
    results = replace(
        results, hotpaths=(replace(hp, implementations=(impl, *hp.implementations[1:])),)
    )
    # WHEN the run writes its artefacts
    problems = write_flame_artefacts(results, tmp_path)
    # THEN the interactive SVG and the speedscope file (in seconds) stand beside them
    assert problems == []
    svg = (tmp_path / "profiles" / "base.svg").read_text()
    assert "<script>" in svg and 'class="flame-search"' in svg
    doc = json.loads((tmp_path / "profiles" / "base.json").read_text())
    assert sum(doc["profiles"][0]["weights"]) == pytest.approx(0.12)
