"""The HTML report, read as text and parsed (the browser test opens it in Chromium)."""

from __future__ import annotations

import html as htmllib
import re
import shutil
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gwbench.harness.reporting import render_report
from gwbench.reports.flamegraph import csp_hash
from gwbench.reports.view import fmt_seconds, fmt_speedup, speedup_verdict
from gwbench.results import Profile, Results, Speedup
from tests import report_data

DATA = Path(__file__).parent / "data" / "report"
PAYLOAD = "<script>window.__pwned=1</script>"
NAME = "<b>bold</b>-ingress"


def _baseline_profiled(profile: Profile) -> Results:
    """The sample results with ``profile`` as the baseline's."""
    results = report_data.results()
    hp = results.hotpaths[0]
    impl = replace(hp.implementations[0], profile=profile)
    impls = (impl, *hp.implementations[1:])
    return replace(results, hotpaths=(replace(hp, implementations=impls),))


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
    # no base_dir: no profiles
    results = _baseline_profiled(
        Profile(200, None, None, None, 0, 0.0, missing_reason="py-spy not found")
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


def test_hostile_frame_names_stay_text_in_the_report(tmp_path: Path) -> None:
    # GIVEN a real py-spy profile whose hottest function is named like an <img> payload
    shutil.copy(DATA / "pyspy-hostile.folded", tmp_path / "flame.folded")
    results = _baseline_profiled(Profile(200, None, None, "flame.folded", 165, 0.66))
    # WHEN the report renders THEN the frame is drawn, escaped, and no <img> exists
    text, doc = _render(tmp_path, results)
    assert "&lt;img src=x onerror=window.__pwned=1&gt;" in text
    assert "<img" not in text and not doc.find("iframe")
    assert len([t for t, a in doc.tags if t == "svg" and a.get("class") == "flame"]) == 1


def test_a_profile_of_one_whole_call_says_so(tmp_path: Path) -> None:
    # GIVEN a baseline profiled from the check (one whole call) and a twin from a loop
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


def _section(text: str, anchor: str) -> str:
    section = text[text.index(f'id="{anchor}"') :]
    return section[: section.index("</section>")]


def test_cards_lead_with_times_and_verdict_and_slower_is_red(tmp_path: Path) -> None:
    # GIVEN gateway_lookup's fix 20x slower than its baseline, with an ablation
    results = report_data.results(base_dir=tmp_path, slowdown=20.0, ablation=True)
    text, doc = _render(tmp_path, results)
    summary = _section(text, "summary")
    # THEN its card is a slower card, red, with both absolute times
    gl = results.hotpath("gateway_lookup")
    assert gl is not None
    medians = []
    for impl in gl.implementations[:2]:
        point = impl.point(200)
        assert point is not None and point.timing is not None
        medians.append(point.timing.median)
    slower = [
        a for a in doc.find("a", **{"class": "card"}) if "verdict-slower" in (a["class"] or "")
    ]
    assert len(slower) == 1 and "card-fix" in (slower[0]["class"] or "")
    assert f"{fmt_seconds(medians[0])} → {fmt_seconds(medians[1])}" in summary
    assert '<span class="verdict verdict-slower">slower</span>' in summary
    # the end-to-end card and headline stay faster
    assert '<span class="verdict verdict-faster">faster</span>' in summary
    # in the timing table the row is marked slower; the stylesheet makes all of it red
    assert '<tr class="kind-optimized verdict-slower">' in _section(text, "hp-gateway_lookup")
    for rule in (".card.verdict-slower", "tr.verdict-slower td", ".verdict.verdict-slower"):
        css = text[text.index(rule) :]
        assert "var(--bad)" in css[: css.index("}")] or "#fff5f5" in css[: css.index("}")]
    # the ablation card comes after every fix card, under its own heading
    assert summary.rindex("card card-fix") < summary.index("card card-ablation")
    assert summary.index("Variants and ablations") < summary.index("card card-ablation")


def test_stage_breakdown_shows_each_side_in_shares(tmp_path: Path) -> None:
    text, _ = _render(tmp_path)
    summary = _section(text, "summary")
    assert "Where the end-to-end time goes" in summary
    # one bar per side, each stage's share as its width, both sides in the table
    for side, shares in report_data.STAGE_SHARES.items():
        assert f'aria-label="{side}: translate {shares["translate"] * 100:.1f}%' in summary
        for share in shares.values():
            assert f'style="width: {share * 100:.2f}%"' in summary
    assert "listener update" in summary and "lookup" in summary


def test_counters_are_cut_to_the_few_that_explain(tmp_path: Path) -> None:
    # GIVEN a hot path with eight counters, three of which the fix changes
    counters_base = {f"same_{i}": (1.0, 1.0) for i in range(5)}
    changed = {"compares": (1.0, 2.0), "hashes": (3.0, 1.0), "decodes": (2.0, 1.0)}
    base = report_data.implementation(
        "baseline",
        "baseline",
        coefficient=2e-7,
        exponent=2.0,
        seed=1,
        counters={**counters_base, **changed},
    )
    opt = report_data.implementation(
        "optimized",
        "optimized",
        coefficient=4e-6,
        exponent=1.0,
        seed=2,
        counters={
            **counters_base,
            "compares": (1.0, 1.0),
            "hashes": (1.0, 1.0),
            "decodes": (1.0, 1.0),
        },
    )
    results = report_data.results()
    hp = replace(
        results.hotpaths[0],
        implementations=(base, opt),
        counters=tuple(opt.points[0].counters),
        speedups=report_data.speedups((base, opt)),
    )
    results = replace(results, hotpaths=(hp,))
    text, _ = _render(tmp_path, results)
    section = _section(text, "hp-gateway_lookup")
    key = section[section.index('class="data counters key-counters"') :]
    key = key[: key.index("</table>")]
    # THEN the three changed counters are open, largest change first; the rest disclosed
    assert key.count("<tr>") == 1 + 3  # the header row and three counters
    assert key.index("compares") < key.index("hashes") < key.index("decodes")
    assert "same_0" not in key
    assert "all 8 counters at every N (24 rows)" in section
    # AND the exponent table opens with time and those counters only
    fits = section[section.index('class="data compact fits"') :]
    fits = fits[: fits.index("</table>")]
    assert fits.count("<tr><td") == 4 and "same_0" not in fits
    assert "exponents of all 9 metrics" in section


def test_a_card_without_a_fit_says_so_instead_of_empty_exponents(tmp_path: Path) -> None:
    # GIVEN a run at one size (gwbench run --sizes N): nothing to fit
    text, _ = _render(tmp_path, report_data.results(ingresses=40))
    summary = _section(text, "summary")
    # THEN each card says the scaling is not fitted and why (the fit's own reason), and
    # shows no empty exponent
    assert "scaling not fitted (fewer than 2 distinct sizes)" in summary
    assert "N<sup>" not in summary


def test_fits_on_too_few_sizes_or_a_poor_r_squared_carry_a_caveat(tmp_path: Path) -> None:
    # GIVEN a run on two sizes only
    text, _ = _render(tmp_path, report_data.results(ingresses=100))
    assert "only 2 sizes" in _section(text, "summary")
    assert "only 2 sizes" in _section(text, "hp-gateway_lookup")
    # GIVEN three sizes but a time fit with R² 0.5
    results = report_data.results()
    hp = results.hotpaths[0]
    impl = hp.implementations[1]
    poor = tuple(replace(f, r_squared=0.5) if f.metric == "time" else f for f in impl.scaling)
    hp = replace(hp, implementations=(hp.implementations[0], replace(impl, scaling=poor)))
    text, _ = _render(tmp_path, replace(results, hotpaths=(hp, *results.hotpaths[1:])))
    assert "R² 0.50 &lt; 0.9" in _section(text, "summary")
    # AND the well-fitted end-to-end card has none
    e2e_card = _section(text, "summary").split('href="#hp-ingress_update"')[1].split("</a>")[0]
    assert "⚠" not in e2e_card


def test_profile_paths_are_links_from_where_the_report_is(tmp_path: Path) -> None:
    results = report_data.results(base_dir=tmp_path / "run")
    beside = render_report(results, base_dir=tmp_path / "run")
    assert '<a href="profiles/gateway_lookup/baseline-N200.folded">' in beside
    elsewhere = render_report(results, base_dir=tmp_path / "run", report_dir=tmp_path / "out")
    assert '<a href="../run/profiles/gateway_lookup/baseline-N200.folded">' in elsewhere


def test_verdict_comes_from_the_interval_or_from_the_results() -> None:
    # GIVEN a speedup whose interval lies within ±5%, one above 1, one straddling 1
    def sp(ratio: float, low: float, high: float) -> Speedup:
        return Speedup("optimized", "baseline", 200, ratio, low, high, 0.95, 300, 1)

    assert speedup_verdict(sp(1.01, 0.98, 1.03)) == "no change"
    assert speedup_verdict(sp(2.0, 1.8, 2.2)) == "faster"
    assert speedup_verdict(sp(0.5, 0.45, 0.55)) == "slower"
    assert speedup_verdict(sp(1.2, 0.9, 1.6)) == "inconclusive"

    # AND a verdict the results carry wins over the interval
    @dataclass(frozen=True)
    class WithVerdict(Speedup):
        verdict: str = "inconclusive"

    assert speedup_verdict(WithVerdict("o", "b", 200, 2.0, 1.8, 2.2, 0.95, 300, 1)) == (
        "inconclusive"
    )


def test_envoy_section_shows_transport_and_bytes_per_activation(tmp_path: Path) -> None:
    # GIVEN an Envoy record from the gRPC control plane (delta) with its bytes per activation
    record = {**report_data.ENVOY_RECORDS[0], "transport": "delta", "activation_bytes": 503}
    results = report_data.results(base_dir=tmp_path, envoy=(record,))
    # WHEN rendered
    text = render_report(results, base_dir=tmp_path)
    # THEN the Envoy table names the transport and the bytes sent for one activation
    section = text[text.index('id="envoy"') :] if 'id="envoy"' in text else text
    assert "<td>delta</td>" in section
    assert "503 B" in section
