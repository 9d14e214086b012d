"""The report in a real headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it).

- the report of a small real ``gwbench run`` loads without console errors or network
  requests, leads with the verdict and the absolute times on its first screen, keeps the
  long tables behind disclosures (the page is shorter than with everything open), shows
  its tables, charts and flame graphs, and the flame graphs zoom and search;
- the report of the user's own manifests, with markup in an Ingress name, an annotation and
  the file's path, runs none of it;
- the flame graph SVG written beside the results zooms and searches on its own.

Screenshots go to ``test-artifacts/`` (git-ignored; CI keeps it as an artefact). The tests
skip when Chromium is missing, unless ``CI`` is set: then they fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gwbench.folded import parse_folded
from gwbench.reports.flamegraph import flamegraph_document
from gwbench.reports.view import fmt_seconds
from gwbench.results import ImplementationResult, load_results
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


def _median(impl: ImplementationResult, size: int) -> float | None:
    point = impl.point(size)
    return point.timing.median if point is not None and point.timing is not None else None


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
        # the first screen (1400 x 900): the fix's card, its verdict and both absolute times
        results = load_results(out / "results.json")
        hp = results.hotpath("gateway_lookup")
        assert hp is not None
        medians = [_median(i, 200) for i in hp.implementations]
        s.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        s.drain(0.3)
        card = json.loads(
            s.evaluate(
                "(() => { const c = document.querySelector('a.card-fix');"
                "const r = c.getBoundingClientRect();"
                "return JSON.stringify({bottom: r.bottom, text: c.innerText,"
                " verdict: c.querySelector('.verdict').textContent,"
                " cls: c.className}); })()"
            )
        )
        assert card["bottom"] <= 900, card
        assert card["verdict"] in ("faster", "no change", "slower", "inconclusive")
        assert f"verdict-{card['verdict'].replace(' ', '-')}" in card["cls"]
        assert f"{fmt_seconds(medians[0])} → {fmt_seconds(medians[1])}" in card["text"]
        s.screenshot(ARTIFACTS / "report-first-screen.png", width=1400, height=900)
        # the long tables are disclosed: the page is shorter than with every one open
        closed = s.evaluate("document.documentElement.scrollHeight")
        s.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        opened = s.evaluate("document.documentElement.scrollHeight")
        s.evaluate("document.querySelectorAll('details').forEach(d => d.open = false)")
        assert closed < opened, (closed, opened)
        # the exponent tables fit their column: nothing to scroll sideways, open or closed
        overflow = s.evaluate(
            "[...document.querySelectorAll('table.fits')].filter(t => t.offsetParent !== null"
            " && t.scrollWidth > t.parentElement.clientWidth + 1).length"
        )
        assert overflow == 0
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


def test_flame_graph_file_zooms_and_searches_on_its_own(
    chromium: Chromium, tmp_path: Path
) -> None:
    # GIVEN the flame graph file gwbench run writes beside the results, drawn from a real
    # py-spy profile whose hottest function is named like an <img onerror> payload
    stacks = parse_folded((DATA / "pyspy-hostile.folded").read_text(encoding="utf-8"))
    svg = tmp_path / "optimized-N200.svg"
    svg.write_text(flamegraph_document(stacks, title="hostile/optimized N=200"), "utf-8")
    # WHEN Chromium opens the SVG itself (no report around it)
    with chromium.session() as s:
        page = s.navigate(svg.as_uri(), settle_s=0.5)
        _clean(page)
        graph = "document.querySelector('svg.flame')"
        # THEN a click on a frame zooms: its ancestors grey, unrelated frames hide
        _click(s, f"{graph}.querySelector('g.f[data-d=\"2\"] rect')")
        assert s.evaluate(f"{graph}.querySelectorAll('g.f.anc').length") >= 1
        assert s.evaluate(f"{graph}.dataset.zoomed") == "1"
        _click(s, "document.querySelector('button.flame-reset')")
        assert s.evaluate(f"{graph}.querySelectorAll('g.f.hide, g.f.anc').length") == 0
        # AND the search box inside the file highlights frames and says the share
        s.evaluate("document.querySelector('input.flame-search').focus()")
        s.send("Input.insertText", {"text": "lookup"})
        s.drain(0.2)
        assert s.evaluate(f"{graph}.querySelectorAll('g.f.match').length") >= 1
        matched = s.evaluate("document.querySelector('.flame-matched').textContent")
        assert matched.startswith("matched ") and matched.endswith("% of samples")
        # AND the payload frame is text that ran nowhere
        assert s.evaluate("typeof window.__pwned") == "undefined"
        assert s.evaluate("document.querySelectorAll('img').length") == 0
        titles = s.evaluate(
            f"[...{graph}.querySelectorAll('title')].map(t => t.textContent).join('\\n')"
        )
        assert HOSTILE_DIR in titles
        _clean(page)
        s.screenshot(ARTIFACTS / "flamegraph-file.png", width=1400, height=900)
