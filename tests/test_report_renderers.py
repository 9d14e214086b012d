"""One fabricated results fixture through every renderer (HTML, markdown, console): each
states the verdicts, the absolute times, the CI level the results carry and the
thresholds, and marks the slower implementation; none reads the artefacts itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gwbench.reports.console import render_console
from gwbench.reports.html import render_html
from gwbench.reports.markdown import render_markdown
from gwbench.reports.view import fmt_ci, fmt_seconds, fmt_speedup
from gwbench.results import Results
from tests import report_data

Renderer = Callable[[Results], str]

RENDERERS: dict[str, Renderer] = {
    "html": lambda r: render_html(r),
    "markdown": lambda r: render_markdown(r),
    "console": lambda r: "\n".join(render_console(r)),
}
SLOWER_MARK = {"html": "verdict-slower", "markdown": "🔴 **slower**", "console": "SLOWER !"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """gateway_lookup's fix made 20x slower (a slowdown), with an ablation; ingress_update
    faster, with its stages; profiles written to disk beside the results."""
    base: Path = tmp_path_factory.mktemp("run")
    return report_data.results(base_dir=base, slowdown=20.0, ablation=True)


def _median(results: Results, hotpath: str, impl: str) -> float:
    hp = results.hotpath(hotpath)
    assert hp is not None
    i = hp.implementation(impl)
    assert i is not None
    point = i.point(200)
    assert point is not None and point.timing is not None
    return point.timing.median


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_renderer_states_verdicts_times_and_the_ci_level(name: str, results: Results) -> None:
    # WHEN each renderer renders the same results (profiles on disk, none handed over)
    text = RENDERERS[name](results)
    # THEN the renderer read none of the profiles itself
    if name == "html":
        assert "No flame graph: results directory not given" in text
    # every output names every output names every hot path and implementation at N
    for hp in results.hotpaths:
        assert hp.name in text.replace("\\_", "_")
    # the absolute times of both sides
    for hotpath, impl in (("gateway_lookup", "baseline"), ("gateway_lookup", "optimized")):
        assert fmt_seconds(_median(results, hotpath, impl)) in text
    # the CI at the level the results carry, worded the same way
    gl = results.hotpath("gateway_lookup")
    assert gl is not None
    sp = gl.speedup("optimized", 200)
    assert sp is not None and sp.confidence == pytest.approx(0.95)
    if name == "console":  # the level heads the column, the interval sits below it
        assert "95% CI" in text and f"{fmt_speedup(sp.ci_low)}–{fmt_speedup(sp.ci_high)}" in text
    else:
        assert fmt_ci(sp.confidence, sp.ci_low, sp.ci_high) in text
    assert "99%" not in text
    # the slower fix is marked, the faster end-to-end push is not
    assert SLOWER_MARK[name] in text
    assert "faster" in text
    # the thresholds behind the verdicts are stated
    assert "±5%" in text


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_ablation_comes_after_the_fixes(name: str, results: Results) -> None:
    # WHEN the results hold an ablation of gateway_lookup
    text = RENDERERS[name](results)
    ablation = text.index("serialized")
    # THEN it comes after its own hot path's fix, and in the HTML cards and the markdown
    # table after every fix (ingress_update's included)
    assert text.index("optimized") < ablation
    if name != "console":  # the console table goes hot path by hot path
        assert text.index("ingress_update") < ablation
