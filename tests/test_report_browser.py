"""The report in a real headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it).

- the report of a small real ``gwbench run`` loads without console errors or network
  requests, shows its tables, charts and flame graphs, and the flame graphs zoom and search;
- the report of the user's own manifests, with markup in an Ingress name, an annotation and
  the file's path, runs none of it;
- py-spy's own interactive SVG, embedded in a sandboxed iframe, still zooms and searches.

Screenshots go to ``test-artifacts/`` (git-ignored; CI keeps it as an artefact). The tests
skip when Chromium is missing, unless ``CI`` is set: then they fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gwbench.results import Profile, write_results
from tests import report_data
from tests.browser import Chromium, Page, Session, chromium_or_skip

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DATA = Path(__file__).parent / "data" / "report"
HOSTILE_DIR = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    with Chromium(chromium_or_skip()) as browser:
        yield browser


def _gwbench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "gwbench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"gwbench {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def _clean(page: Page) -> None:
    assert page.console_errors == []
    assert page.exceptions == []
    assert page.external_requests == []


def _click(session: Session, selector_js: str) -> None:
    """A real mouse click (move, press, release) at the centre of an element."""
    box = json.loads(
        session.evaluate(
            f"(() => {{ const e = {selector_js};"
            "e.scrollIntoView({block: 'center', behavior: 'instant'});"
            "const r = e.getBoundingClientRect();"
            "return JSON.stringify({x: r.x + r.width / 2, y: r.y + r.height / 2}); })()"
        )
    )
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        session.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1},
        )
    session.drain(0.2)


@pytest.mark.slow  # about 15-20 s on 2 cores: pyperf workers, py-spy and memray for real
def test_report_of_a_real_run_in_chromium(chromium: Chromium, tmp_path: Path) -> None:
    # GIVEN a small real run (one hot path, two sizes, profiles and memory) and its report
    out = tmp_path / "run"
    _gwbench(
        "run",
        "--ingresses",
        "200",
        "--quick",
        "--hotpath",
        "gateway_lookup",
        "--sizes",
        "50,200",
        "-o",
        str(out),
    )
    _gwbench("report", str(out))
    report = out / "report.html"
    # WHEN Chromium opens it from disk
    with chromium.session() as s:
        page = s.navigate(report.as_uri(), settle_s=0.5)
        # THEN it loads cleanly and asks nothing of the network
        _clean(page)
        assert s.evaluate("document.title").startswith("gwbench report: 200 Ingresses")
        # the tables: a timing row per implementation and size, counters, memory
        assert s.evaluate("document.querySelectorAll('table.timing tbody tr').length") == 4
        assert s.evaluate("document.querySelectorAll('table.counters tbody tr').length") >= 2
        assert s.evaluate("document.querySelectorAll('table.memory tbody tr').length") >= 2
        # the scaling chart: a line per implementation, exponents in the legend
        assert s.evaluate("document.querySelectorAll('svg.chart path.series').length") == 2
        legend = s.evaluate(
            "[...document.querySelectorAll('svg.chart text.legend')].map(t => t.textContent)"
        )
        assert [t.split()[0] for t in legend] == ["baseline", "optimized"]
        assert all("N^" in t for t in legend)
        # both flame graphs and the differential one, drawn at a visible size
        sizes = s.evaluate(
            "[...document.querySelectorAll('svg.flame, svg.flamediff')].map(e => "
            "[e.getAttribute('class'), e.querySelectorAll('g.f, g.frame').length,"
            " Math.round(e.getBoundingClientRect().width)])"
        )
        assert [k for k, _, _ in sizes] == ["flame", "flame", "flamediff"]
        assert all(frames >= 3 and width >= 300 for _, frames, width in sizes), sizes
        # zoom: click a frame two levels down, unrelated frames hide; reset brings them back
        graph = "document.querySelectorAll('svg.flame')[0]"
        _click(s, f"{graph}.querySelector('g.f[data-d=\"2\"] rect')")
        assert s.evaluate(f"{graph}.querySelectorAll('g.f.anc').length") >= 1
        assert s.evaluate(f"{graph}.closest('.flame-graph').classList.contains('zoomed')")
        _click(s, f"{graph}.closest('.flame-graph').querySelector('button.flame-reset')")
        assert s.evaluate(f"{graph}.querySelectorAll('g.f.hide, g.f.anc').length") == 0
        # search: typing highlights frames and reports the matched share
        s.evaluate(f"{graph}.closest('.flame-graph').querySelector('input.flame-search').focus()")
        s.send("Input.insertText", {"text": "gateway"})
        s.drain(0.2)
        assert s.evaluate(f"{graph}.querySelectorAll('g.f.match').length") >= 1
        matched = s.evaluate(
            f"{graph}.closest('.flame-graph').querySelector('.flame-matched').textContent"
        )
        assert matched.startswith("matched ") and matched.endswith("% of samples")
        _clean(page)
        s.evaluate("window.scrollTo(0, 0)")
        s.screenshot(ARTIFACTS / "report-real-run.png", width=1400, height=3000)
    assert (ARTIFACTS / "report-real-run.png").stat().st_size > 10_000


def test_manifest_markup_never_runs(chromium: Chromium, tmp_path: Path) -> None:
    # GIVEN the user's manifests: a <b>bold</b> path, a <script> annotation, a missing
    # Secret, in a folder whose name is an <img onerror> (names with markup are refused
    # as the API server refuses them)
    folder = tmp_path / HOSTILE_DIR
    folder.mkdir()
    manifests = folder / "ingresses.yaml"
    shutil.copy(DATA / "hostile-ingresses.yaml", manifests)
    out = tmp_path / "run"
    _gwbench(
        "run",
        "--from-file",
        str(manifests),
        "--ingresses",
        "4",
        "--sizes",
        "2,4",
        "--quick",
        "--hotpath",
        "gateway_lookup",
        "--no-memory",
        "-o",
        str(out),
    )
    _gwbench("report", str(out))
    text = (out / "report.html").read_text(encoding="utf-8")
    # THEN the report holds the markup only escaped
    for raw in ("<script>window.__pwned", "<b>bold</b>", "<img src=x"):
        assert raw not in text
    assert "&lt;img src=x onerror=window.__pwned=1&gt;" in text  # the path, as text
    # AND in the browser nothing of it runs, and it reads as text
    with chromium.session() as s:
        page = s.navigate((out / "report.html").as_uri())
        _clean(page)
        assert s.evaluate("typeof window.__pwned") == "undefined"
        assert s.evaluate("document.querySelectorAll('img, b img, script[src]').length") == 0
        assert HOSTILE_DIR in s.evaluate("document.body.innerText")
        s.screenshot(ARTIFACTS / "report-from-file.png", width=1400, height=1200)


def test_pyspy_svg_stays_interactive_and_inert(chromium: Chromium, tmp_path: Path) -> None:
    # GIVEN a baseline profiled as py-spy's own SVG and an optimized one as folded stacks,
    # both holding a frame whose function name is an <img onerror> payload
    shutil.copy(DATA / "pyspy-hostile.svg", tmp_path / "baseline.svg")
    shutil.copy(DATA / "pyspy-hostile.folded", tmp_path / "gwbench.optimized.folded")
    results = report_data.results()
    hp = results.hotpaths[0]
    base = replace(hp.implementations[0], profile=Profile(200, "baseline.svg", None, None, 165, 1))
    opt = replace(
        hp.implementations[1], profile=Profile(200, None, None, "gwbench.optimized.folded", 165, 1)
    )
    results = replace(results, hotpaths=(replace(hp, implementations=(base, opt)),))
    write_results(results, tmp_path / "results.json")
    _gwbench("report", str(tmp_path), timeout=60)
    with chromium.session() as s:
        s.dialog_answer = "lookup"
        page = s.navigate((tmp_path / "report.html").as_uri(), settle_s=0.8)
        _clean(page)
        # the py-spy graph lives in its own sandboxed (out-of-process) frame
        frames = [sid for sid, url in s.frames.items() if url == "about:srcdoc"]
        assert len(frames) == 1
        frame = frames[0]
        assert s.evaluate("document.getElementById('frames') !== null", session=frame)
        # its script ran: inferno's init() found its elements (offscreen frames run their
        # timers late, so wait for it once the frame is in view)
        s.evaluate("document.querySelector('iframe.flame').scrollIntoView()")
        for _ in range(50):
            if s.evaluate("typeof unzoombtn === 'object' && unzoombtn !== null", session=frame):
                break
            s.drain(0.1)
        assert s.evaluate("frames.getAttribute('width') > 0", session=frame)
        s.evaluate(
            "document.querySelector('#frames g:nth-child(3) rect').dispatchEvent("
            "new MouseEvent('click', {bubbles: true}))",
            session=frame,
        )
        s.drain(0.3)
        assert (
            s.evaluate("document.getElementById('unzoom').getAttribute('class')", session=frame)
            == ""
        )
        # and search (inferno asks with prompt(); the test answers "lookup")
        s.evaluate(
            "document.getElementById('unzoom').dispatchEvent("
            "new MouseEvent('click', {bubbles: true}))",
            session=frame,
        )
        s.evaluate(
            "document.getElementById('search').dispatchEvent("
            "new MouseEvent('click', {bubbles: true}))",
            session=frame,
        )
        s.drain(0.5)
        assert page.dialogs and page.dialogs[-1].startswith("Enter a search term")
        matched = s.evaluate("document.getElementById('matched').textContent", session=frame)
        assert matched.startswith("Matched: ")
        # the payload frame is text in both graphs, and ran nowhere
        for where in (None, frame):
            assert s.evaluate("typeof window.__pwned", session=where) == "undefined"
            assert s.evaluate("document.querySelectorAll('img').length", session=where) == 0
        titles = s.evaluate(
            "[...document.querySelectorAll('svg.flame title')].map(t => t.textContent).join('\\n')"
        )
        assert HOSTILE_DIR in titles
        assert HOSTILE_DIR in s.evaluate(
            "[...document.querySelectorAll('#frames title')].map(t => t.textContent).join()",
            session=frame,
        )
        _clean(page)
        s.evaluate("document.querySelector('.flames').scrollIntoView()")
        s.screenshot(ARTIFACTS / "report-pyspy-embed.png", width=1400, height=900)
