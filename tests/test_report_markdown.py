"""The markdown summary for pull requests and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gwbench.harness.cli import main
from gwbench.reports.markdown import md_escape, render_markdown
from gwbench.reports.view import fmt_seconds, fmt_speedup
from gwbench.results import ImplementationResult, write_results
from tests import report_data


def _table_rows(text: str, header_start: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


def _median(impl: ImplementationResult) -> float | None:
    point = impl.point(200)
    return point.timing.median if point is not None and point.timing is not None else None


def test_summary_has_workload_end_to_end_and_one_row_per_speedup() -> None:
    results = report_data.results()
    text = render_markdown(results)
    assert text.startswith("### gwbench: 200 Ingresses\n")
    assert "seed 42" in text and "Test CPU 3000" in text and "protobuf upb" in text
    e2e = results.hotpath("ingress_update")
    assert e2e is not None
    sp = e2e.speedup("optimized", 200)
    assert sp is not None
    base, opt = (e2e.implementation(n) for n in ("baseline", "optimized"))
    assert base is not None and opt is not None
    change = " → ".join(fmt_seconds(_median(i)) for i in (base, opt))
    assert (
        f"**End to end (ingress_update, optimized vs baseline at N=200): {change}, "
        f"{fmt_speedup(sp.ratio)}, 🟢 faster** (95% CI " in text
    )
    rows = _table_rows(text, "| hot path |")
    assert [r[0] for r in rows] == ["gateway_lookup", "ingress_update"]
    gl = results.hotpath("gateway_lookup")
    assert gl is not None
    gsp = gl.speedup("optimized", 200)
    assert gsp is not None
    assert rows[0][3] == " → ".join(fmt_seconds(_median(i)) for i in gl.implementations)
    assert rows[0][4] == f"**{fmt_speedup(gsp.ratio)}**"
    assert rows[0][5] == f"95% CI {fmt_speedup(gsp.ci_low)}–{fmt_speedup(gsp.ci_high)}"
    assert rows[0][6] == "🟢 faster"
    assert rows[0][7].startswith("2.0") and rows[0][7].endswith("→ 1.00")
    # the stage breakdown of the end-to-end push, both sides
    assert "Stages of ingress_update at N=200 (share of one call, baseline → optimized): " in text
    assert "listener update 53.0% → 30.0%" in text


def test_partial_run_says_so() -> None:
    text = render_markdown(report_data.results(status="partial", reason="interrupted (Ctrl-C)"))
    assert "(partial run)" in text.splitlines()[0]
    assert "> **Partial run**: interrupted (Ctrl-C)." in text


def test_comparison_lists_regression_first() -> None:
    text = render_markdown(report_data.results(slowdown=1.3), report_data.results())
    rows = _table_rows(text, "| verdict |")
    assert rows[0][0] == "🔴 regression" and rows[0][1:3] == ["gateway_lookup", "optimized"]
    assert "3 regression" in text


def test_values_are_escaped_for_github() -> None:
    r = report_data.results(source="file:/tmp/<script>x|y</script>.yaml")
    r = replace(r, environment=replace(r.environment, cpu_model="<img src=x onerror=1>"))
    text = render_markdown(r)
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;x\\|y&lt;/script&gt;" in text
    assert md_escape("a\nb") == "a b"


def test_cli_markdown_prints_and_appends_to_step_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(report_data.results(), tmp_path / "run" / "results.json")
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    main(["report", str(tmp_path / "run"), "--markdown"])
    out = capsys.readouterr().out
    assert out.startswith("### gwbench: 200 Ingresses")
    assert summary.read_text() == "earlier step\n" + out + "\n"
    assert (tmp_path / "run" / "report.html").exists()
