"""The HTML report, read as text and parsed (the browser test opens it in Chromium)."""

from __future__ import annotations

import html as htmllib
import re
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from gwbench.reports.embed import FlamegraphError, csp_hash, embed_pyspy_svg
from gwbench.harness.reporting import render_report
from gwbench.reports.view import fmt_speedup

from gwbench.results import Profile, Results
from tests import report_data

DATA = Path(__file__).parent / "data" / "report"
PAYLOAD = "<script>window.__pwned=1</script>"
NAME = "<b>bold</b>-ingress"


class Collector(HTMLParser):
    """Tags with their attributes, and the text of inline scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(attrs[k] in (a.get(k) or "").split() for k in attrs)
        ]


def _render(tmp_path: Path, results: Results | None = None, **kw: object) -> tuple[str, Collector]:
    r = results if results is not None else report_data.results(base_dir=tmp_path)
    text = render_report(r, base_dir=tmp_path, **kw)  # type: ignore[arg-type]
    parsed = Collector()
    parsed.feed(text)
    return text, parsed


def test_report_has_every_section(tmp_path: Path) -> None:
    results = report_data.results(base_dir=tmp_path, envoy=report_data.ENVOY_RECORDS)
    text, doc = _render(tmp_path, results)
    # headline: end-to-end speedup of ingress_update with its interval
    e2e = results.hotpath("ingress_update")
    assert e2e is not None
    sp = e2e.speedup("optimized", 200)
    assert sp is not None
    assert f'<span class="headline-figure verdict-faster">{fmt_speedup(sp.ratio)}</span>' in text
    assert f"95% CI {fmt_speedup(sp.ci_low)}–{fmt_speedup(sp.ci_high)}" in text
    # one section per hot path, each with its timing table (a row per impl and N),
    # counters, chart (a line per implementation), flame graphs and a differential graph
    for hp in results.hotpaths:
        section = text[text.index(f'id="hp-{hp.name}"') :]
        section = section[: section.index("</section>")]
        # N in the open table, the smaller sizes of the sweep behind a disclosure
        assert section.count('<tr class="kind-') == 2 * len(report_data.SIZES)
        assert "timing at the other sizes of the sweep (N = 100, 50)" in section
        assert section.count('class="series"') == 2
        for impl in hp.implementations:
            fit = impl.fit()
            assert fit is not None and fit.exponent is not None
            assert f"{impl.name}  N^{fit.exponent:.2f}" in section
        assert section.count('<svg xmlns="http://www.w3.org/2000/svg" class="flame"') == 2
        assert section.count('class="flamediff"') == 1
        assert "name_comparisons" in section and "fewer" in section
        assert "1.43 MiB" in section  # peak memory of the baseline (1,500,000 bytes)
    assert 'id="envoy"' in text and text.count('data-series="per-host"') == 1
    assert 'id="environment"' in text and 'id="reproduce"' in text
    assert (
        "git checkout 0123456789abcdef0123456789abcdef01234567\ngwbench run --ingresses 200 --quick"
        in text
    )
    assert len(doc.find("nav")) == 1


def test_self_contained_and_scripts_allowed_by_hash(tmp_path: Path) -> None:
    text, doc = _render(tmp_path)
    csp = doc.find("meta", **{"http-equiv": "Content-Security-Policy"})
    assert len(csp) == 1
    policy = csp[0]["content"] or ""
    assert "default-src 'none'" in policy
    for script in doc.scripts:
        assert csp_hash(script) in policy
    assert not doc.find("link") and not doc.find("img")
    for tag, attrs in doc.tags:
        for name in ("src", "href", "action", "data", "poster"):
            value = attrs.get(name)
            # in-page anchors, and links (never loads) to the artefacts beside the report
            local = value is None or value.startswith("#")
            artefact = tag == "a" and name == "href" and (value or "").startswith("profiles/")
            assert local or artefact, (name, value)
    assert not re.search(r"url\((?!#)", text)
    assert "@import" not in text


def test_partial_run_shows_a_banner(tmp_path: Path) -> None:
    text, _ = _render(tmp_path, report_data.results(status="partial", reason="interrupted"))
    assert 'id="partial-banner"' in text and "interrupted." in text
    text, _ = _render(tmp_path, report_data.results())
    assert "partial-banner" not in text


def test_run_warnings_are_shown_escaped(tmp_path: Path) -> None:
    results = report_data.results()
    text, _ = _render(tmp_path, results)
    assert "warning(s) about this run" not in text
    warning = "the time budget of 3 min 30 s cannot be kept: <b>x</b> alone about 4 min"
    text, _ = _render(tmp_path, replace(results, run=replace(results.run, warnings=(warning,))))
    assert "1 warning(s) about this run" in text
    assert htmllib.escape(warning, quote=False) in text and "<b>x</b>" not in text


def test_missing_profiles_say_why(tmp_path: Path) -> None:
    results = report_data.results()  # no base_dir: no profiles
    hp = results.hotpaths[0]
    impl = replace(
        hp.implementations[0],
        profile=Profile(200, None, None, None, 0, 0.0, missing_reason="py-spy not found"),
    )
    results = replace(
        results, hotpaths=(replace(hp, implementations=(impl, hp.implementations[1])),)
    )
    text, _ = _render(tmp_path, results)
    assert "No flame graph: py-spy not found" in text
    assert "No flame graph: not profiled in this run" in text


def test_artefacts_outside_the_results_directory_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.folded"
    secret.write_text("stolen (x.py:1) 5\n")
    base = tmp_path / "run"
    base.mkdir()
    results = report_data.results()
    hp = results.hotpaths[0]
    impl = replace(
        hp.implementations[0], profile=Profile(200, None, None, "../secret.folded", 5, 1.0)
    )
    results = replace(
        results, hotpaths=(replace(hp, implementations=(impl, hp.implementations[1])),)
    )
    text = render_report(results, base_dir=base)
    assert "stolen" not in text and "outside the results directory" in text


def _hostile_results(tmp_path: Path) -> Results:
    """Markup in every free-text value a report shows (as from the user's manifests, file
    paths and command line)."""
    r = report_data.results(
        base_dir=tmp_path,
        source=f"file:/tmp/{PAYLOAD}/{NAME}.yaml",
        status="partial",
        reason=f"Ingress {NAME}: {PAYLOAD}",
        command_line=("gwbench", "run", "--from-file", f"/tmp/{PAYLOAD}/{NAME}.yaml"),
        envoy=({**report_data.ENVOY_RECORDS[0], "shape": PAYLOAD, "format": NAME},),
    )
    hp = r.hotpaths[0]
    impl = hp.implementations[1]
    bad_point = replace(impl.points[0], error=f"worker failed on {NAME} {PAYLOAD}")
    impl = replace(impl, points=(bad_point, *impl.points[1:]))
    hp = replace(
        hp, title=f"{NAME} {PAYLOAD}", models=PAYLOAD, implementations=(hp.implementations[0], impl)
    )
    env = replace(r.environment, cpu_model=PAYLOAD, packages={NAME: PAYLOAD})
    return replace(r, hotpaths=(hp, *r.hotpaths[1:]), environment=env)


def test_user_values_are_escaped(tmp_path: Path) -> None:
    text, doc = _render(tmp_path, _hostile_results(tmp_path))
    assert PAYLOAD not in text and NAME not in text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;-ingress" in text
    # the only scripts are the report's own, allowed by hash
    assert all("__pwned" not in s for s in doc.scripts)


def test_pyspy_svg_embeds_in_a_sandboxed_iframe_escaped(tmp_path: Path) -> None:
    shutil.copy(DATA / "pyspy-hostile.svg", tmp_path / "flame.svg")
    results = report_data.results()
    hp = results.hotpaths[0]
    impl = replace(hp.implementations[0], profile=Profile(200, "flame.svg", None, None, 165, 0.66))
    results = replace(
        results, hotpaths=(replace(hp, implementations=(impl, hp.implementations[1])),)
    )
    text, doc = _render(tmp_path, results)
    frames = doc.find("iframe")
    assert len(frames) == 1
    assert frames[0]["sandbox"] == "allow-scripts allow-modals"
    srcdoc = frames[0]["srcdoc"] or ""  # the parser has unescaped the attribute once
    assert "<svg" in srcdoc and "function init(evt)" in srcdoc
    assert "&lt;img src=x onerror=window.__pwned=1&gt;" in srcdoc  # still escaped inside
    assert "<img" not in srcdoc and "<img" not in text
    assert "onload=" not in srcdoc  # replaced by the hashed init() call
    policy = doc.find("meta", **{"http-equiv": "Content-Security-Policy"})[0]["content"] or ""
    for script in re.findall(r"<script[^>]*>(.*?)</script>", srcdoc, re.S):
        assert csp_hash(htmllib.unescape(script)) in policy


def test_a_profile_of_one_whole_call_says_so(tmp_path: Path) -> None:
    # GIVEN a baseline profiled from the check (one whole call) and a twin from a loop
    shutil.copy(DATA / "pyspy-hostile.svg", tmp_path / "flame.svg")
    results = report_data.results()
    hp = results.hotpaths[0]
    whole = Profile(200, "flame.svg", None, None, 3210, 32.1, source="check", calls=1)
    looped = Profile(200, "flame.svg", None, None, 400, 4.0, source="loop")
    impls = (
        replace(hp.implementations[0], profile=whole),
        replace(hp.implementations[1], profile=looped),
    )
    results = replace(results, hotpaths=(replace(hp, implementations=impls),))
    # WHEN the report renders THEN the first says it covers one whole call, the second not
    text, _ = _render(tmp_path, results)
    assert text.count("one whole call") == 1
    assert "3,210 samples over 32.1 s, one whole call" in text and "400 samples over" in text


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (
            lambda s: s.replace('fill="url(#background)"', 'fill="url(https://x.test/a#b)"'),
            "external reference",
        ),
        (lambda s: s.replace("<rect ", '<rect onclick="alert(1)" ', 1), "event handler"),
        (
            lambda s: s.replace("<g>", '<g><a href="https://x.test">', 1).replace(
                "</g>", "</a></g>", 1
            ),
            "unexpected element",
        ),
        (lambda s: s.replace("<g>", "<g><script>alert(1)</script>", 1), "script below"),
        (
            lambda s: s.replace("text { font-family", "@import 'https://x.test/a.css'; text {"),
            "@import",
        ),
        (
            lambda s: s.replace("<svg version", '<!DOCTYPE x [<!ENTITY a "b">]><svg version', 1),
            "entities",
        ),
        (lambda s: s[: len(s) // 2], "well-formed"),
    ],
)
def test_embed_refuses_what_py_spy_never_writes(mutation: object, message: str) -> None:
    svg = (DATA / "pyspy-hostile.svg").read_text()
    embed_pyspy_svg(svg)
    with pytest.raises(FlamegraphError, match=message):
        embed_pyspy_svg(mutation(svg))  # type: ignore[operator]


def test_embed_prunes_narrow_frames() -> None:
    svg = (DATA / "pyspy-hostile.svg").read_text()
    everything = embed_pyspy_svg(svg, min_width=0.0)
    trimmed = embed_pyspy_svg(svg, min_width=0.05)
    assert everything.pruned == 0 and trimmed.pruned > 0
    assert trimmed.frames + trimmed.pruned == everything.frames
    assert len(trimmed.srcdoc) < len(everything.srcdoc)


def test_report_stays_under_its_size_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN deep profiles with many distinct narrow stacks
    results = report_data.results(base_dir=tmp_path)
    for impl in ("baseline", "optimized"):
        lines = [
            f"gateway_lookup/{impl} N=200;"
            + ";".join(f"f{d}_{i % 7} (m.py:{d})" for d in range(30))
            + f";leaf{i} (m.py:1) {1 + i % 3}"
            for i in range(400)
        ]
        path = tmp_path / "profiles" / "gateway_lookup" / f"{impl}-N200.folded"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines))
    full = render_report(results, base_dir=tmp_path)
    assert "detail-note" not in full
    # WHEN the budget is smaller than the full report
    monkeypatch.setattr("gwbench.reports.html.MAX_REPORT_BYTES", len(full.encode()) * 2 // 3)
    small = render_report(results, base_dir=tmp_path)
    # THEN the flame graphs are drawn coarser, the report fits, and says so
    assert len(small.encode()) <= len(full.encode()) * 2 // 3
    assert small.count('<g class="f"') < full.count('<g class="f"')
    assert "Detail reduced to keep this report under 10 MB" in small
