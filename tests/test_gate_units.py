"""The gate's pieces without a repository: thresholds, rounds, checks, verdicts, summary,
and the side driver's isolation. Fabricated inputs, no benchmark runs."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gwbench import verdicts
from gwbench.errors import HarnessError, InputError
from gwbench.harness.gate import checks, engine, report, rounds, thresholds
from gwbench.harness.gate.protocol import CheckPoint, PointKey, SideCheck, SideDescription
from gwbench.harness.gate.sides import Side, SideRunner
from gwbench.reports import gate_html, gate_summary, gate_view

KEY = PointKey("gateway_lookup", "optimized", 300)


# --------------------------------------------------------------------------- thresholds


def test_defaults_are_gate_md_starting_values() -> None:
    t = thresholds.DEFAULTS
    assert (t.counts, t.bytes, t.slope, t.time_fail, t.time_warn) == (0.02, 0.05, 0.15, 0.10, 0.05)
    assert t.counter_limit("x", "name_comparisons") == 0.02
    assert t.counter_limit("x", "bytes_encoded") == 0.05


def test_repository_thresholds_file_is_valid() -> None:
    # GIVEN the thresholds committed in ci/
    path = Path(__file__).resolve().parent.parent / "ci" / "thresholds.toml"
    # WHEN loaded THEN it parses, and savings counters are ignored by pattern
    t = thresholds.load(path)
    assert t.counter_limit("ingress_update", "listener_update.cache_hits") is None
    assert t.counter_limit("listener_update", "fc_hash_calls") == t.counts


def test_per_hotpath_and_per_counter_overrides() -> None:
    t = thresholds.loads(
        """
        [gate]
        counts = 0.03
        [hotpaths.gateway_lookup]
        bytes = 0.10
        slope = 0.3
        ignore = ["cache_*"]
        [hotpaths.gateway_lookup.counters]
        dict_builds = 0.0
        """,
        source="t.toml",
    )
    assert t.counter_limit("gateway_lookup", "dict_builds") == 0.0
    assert t.counter_limit("gateway_lookup", "bytes_encoded") == 0.10
    assert t.counter_limit("gateway_lookup", "lookups") == 0.03
    assert t.counter_limit("gateway_lookup", "cache_hits") is None
    assert t.slope_limit("gateway_lookup") == 0.3
    assert t.slope_limit("other") == 0.15


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("[gate]\ncounts = -0.1", "gate.counts", "-0.1 must be at least 0"),
        ("[gate]\nslope = 11", "gate.slope", "11 must be at most 10"),
        ("[gate]\ncounts = true", "gate.counts", "expected a number, got a boolean"),
        ("[gate]\nsweep = [0.5, 1.0, 1.5]", "gate.sweep[2]", "at most 1"),
        ("[gate]\nrounds = 5.0", "gate.rounds", "expected an integer"),
        ("gate = 3", "gate", "expected a table"),
        ("[hotpath.x]\ncounts = 0.1", "hotpath", "unknown key (known: gate, hotpaths"),
        ("[hotpaths.x]\nignor = []", "hotpaths.x.ignor", "known: bytes, counters, counts"),
        ("[gate]\ncounts = 'two'", "gate.counts", "expected a number"),
        ("[gate]\nrounds = 2", "gate.rounds", "at least 3"),
        ("[gate]\nround = 5", "gate.round", "unknown key"),
        ("[gate]\ntime_warn = 0.2", "gate.time_warn", "above time_fail"),
        ("[gate]\ntime_metric = 'cycles'", "gate.time_metric", "not one of"),
        ("[gate]\nsweep = [0.5]", "gate.sweep", "1.0"),
        ("[gate]\ntime_kinds = ['fast']", "gate.time_kinds", "implementation kind"),
        ("schema_version = 9", "schema_version", "version 9"),
        ("[hotpaths.x]\nignore = 'a'", "hotpaths.x.ignore", "expected a list"),
        ("[hotpaths.x]\ncounters = {a = true}", "hotpaths.x.counters.a", "boolean"),
    ],
)
def test_bad_thresholds_name_file_and_field(text: str, field: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        thresholds.loads(text, source="ci/thresholds.toml")
    message = str(err.value)
    assert err.value.exit_code == 2
    assert "ci/thresholds.toml" in message and f"field {field}" in message
    assert words in message


def test_thresholds_that_are_not_toml_are_an_input_error() -> None:
    with pytest.raises(InputError, match="not valid TOML"):
        thresholds.loads("[gate\ncounts = 1", source="t.toml")


def test_sequential_round_settings_are_read_and_validated() -> None:
    # GIVEN the caps of the sequential rounds in a thresholds file (seconds as an integer)
    t = thresholds.loads(
        "[gate]\nrounds = 8\nstep_rounds = 4\nmax_rounds = 24\nmax_seconds = 300\n",
        source="t.toml",
    )
    assert (t.rounds, t.step_rounds, t.max_rounds, t.max_seconds) == (8, 4, 24, 300.0)
    # THEN a cap below the first look, no step, or no time are input errors naming the field
    for text, field in [
        ("rounds = 12\nmax_rounds = 10", "gate.max_rounds"),
        ("step_rounds = 0", "gate.step_rounds"),
        ("max_seconds = 0", "gate.max_seconds"),
        ('max_seconds = "ten minutes"', "gate.max_seconds"),
    ]:
        with pytest.raises(InputError) as err:
            thresholds.loads(f"[gate]\n{text}\n", source="t.toml")
        assert field in str(err.value) and "t.toml" in str(err.value)


def test_thresholds_for_an_unknown_hot_path_are_refused() -> None:
    t = thresholds.loads("[hotpaths.gatway_lookup]\ncounts = 0.1", source="t.toml")
    with pytest.raises(InputError, match="gatway_lookup"):
        thresholds.check_hotpaths(t, {"gateway_lookup"})


# --------------------------------------------------------------------------- rounds


def test_value_order_alternates_abba_and_baab() -> None:
    assert rounds.value_order(0, 3) == ("base", "head", "head", "base", "base", "head")
    assert rounds.value_order(1, 2) == ("head", "base", "base", "head")


def test_round_log_ratio_pairs_neighbouring_values_and_trims_bursts() -> None:
    # GIVEN a round whose head is 10% to 20% slower value by value, and one head value a
    # burst of load hit (3x)
    base = [(1.0, 1.0)] * 4
    head = [(1.2, 1.2), (1.1, 1.1), (1.1, 1.1), (3.0, 3.0)]
    # WHEN paired
    r = rounds.pair_round(0, {KEY: {"base": base, "head": head}})
    # THEN r is the mean of the pairs' log-ratios without the largest and the smallest
    assert r.log_ratios[KEY] == pytest.approx((math.log(1.1) + math.log(1.2)) / 2)
    # and the medians of the round's halves are kept for the report
    assert r.head_seconds[KEY] == (pytest.approx(1.15), pytest.approx(2.05))


def test_pairing_cancels_load_that_changes_within_a_round() -> None:
    # GIVEN identical code on a machine whose load doubles the second half of a round
    base = [(1.0, 1.0), (1.0, 1.0), (2.0, 2.0), (2.0, 2.0), (2.0, 2.0), (2.0, 2.0)]
    head = [(1.0, 1.0), (1.0, 1.0), (1.0, 1.0), (2.0, 2.0), (2.0, 2.0), (2.0, 2.0)]
    # (the head's third value came just before the load rose; its pair is an outlier)
    r = rounds.pair_round(0, {KEY: {"base": base, "head": head}})
    # THEN the neighbouring pairs agree and the trimmed mean is 0
    assert r.log_ratios[KEY] == pytest.approx(0.0)


def test_cpu_metric_uses_process_time() -> None:
    base = [(1.0, 1.0)] * 4
    head = [(3.0, 1.1)] * 4  # wall inflated by a busy machine, CPU 10% more
    wall = rounds.pair_round(0, {KEY: {"base": base, "head": head}}, "wall")
    cpu = rounds.pair_round(0, {KEY: {"base": base, "head": head}}, "cpu")
    assert wall.log_ratios[KEY] == pytest.approx(math.log(3.0))
    assert cpu.log_ratios[KEY] == pytest.approx(math.log(1.1))
    assert wall.cpu_log_ratios[KEY] == pytest.approx(math.log(1.1))


def test_run_batch_numbers_rounds_from_first_index() -> None:
    seen: list[int] = []

    def measure(index: int) -> rounds.RoundValues:
        seen.append(index)
        return {KEY: {"base": [(1.0, 1.0)] * 2, "head": [(1.0, 1.0)] * 2}}

    batch = rounds.run_batch(measure, 3, first_index=5)
    assert seen == [5, 6, 7]
    assert batch.ratios(KEY) == (0.0, 0.0, 0.0)
    # a stop condition (the time cap) ends a batch before its next round
    stopped = rounds.run_batch(measure, 3, first_index=8, stop=lambda: len(seen) >= 5)
    assert seen == [5, 6, 7, 8, 9] and stopped.rounds_of(KEY) == 2
    assert batch.then(stopped).rounds_of(KEY) == 5
    assert batch.then(stopped).first(KEY, 4).rounds_of(KEY) == 4


# --------------------------------------------------------------------------- checks


def test_counter_rise_above_threshold_fails() -> None:
    t = thresholds.DEFAULTS
    deltas = checks.counter_deltas(
        "h",
        {"lookups": 100, "bytes_encoded": 1000, "dict_builds": 0},
        {"lookups": 102, "bytes_encoded": 1060, "dict_builds": 1},
        t,
    )
    by = {d.name: d for d in deltas}
    assert not by["lookups"].failed  # +2% is allowed
    assert by["bytes_encoded"].failed  # +6% > +5%
    assert by["dict_builds"].failed and math.isinf(by["dict_builds"].change or 0)


def test_counter_only_on_one_side_is_not_a_failure() -> None:
    deltas = checks.counter_deltas("h", {"a": 1}, {"b": 5}, thresholds.DEFAULTS)
    assert [d.failed for d in deltas] == [False, False]
    assert all(d.change is None for d in deltas)


def test_slope_from_linear_to_quadratic_fails() -> None:
    sizes = [100, 200, 400]
    base = {n: {"inserts": n, "builds": 1} for n in sizes}
    head = {n: {"inserts": n * n, "builds": 1} for n in sizes}
    slopes = {
        s.counter: s for s in checks.slope_deltas("h", sizes, base, head, thresholds.DEFAULTS)
    }
    assert slopes["inserts"].delta == pytest.approx(1.0)
    assert slopes["inserts"].failed
    assert not slopes["builds"].failed


def test_zero_counter_is_not_fitted() -> None:
    sizes = [100, 200]
    base = {n: {"drained": 0} for n in sizes}
    slopes = checks.slope_deltas("h", sizes, base, base, thresholds.DEFAULTS)
    assert not slopes[0].checked and slopes[0].reason is not None


@pytest.mark.parametrize(
    ("estimate", "low", "high", "expected"),
    [
        (math.log(1.25), math.log(1.15), math.log(1.40), "slower"),
        (math.log(1.25), math.log(0.95), math.log(1.40), "inconclusive"),
        (math.log(1.08), math.log(1.02), math.log(1.12), "slower"),
        (0.0, math.log(0.97), math.log(1.03), "no change"),
        (math.log(0.93), math.log(0.90), math.log(0.97), "faster"),
        (math.log(0.80), math.log(0.70), math.log(0.88), "faster"),
        (math.log(1.02), math.log(1.001), math.log(1.049), "no change"),  # inside the band
    ],
)
def test_time_verdicts_are_the_one_ladder(
    estimate: float, low: float, high: float, expected: str
) -> None:
    assert checks.time_verdict(estimate, low, high, 0.10, 0.05) == expected
    # the gate's ladder is gwbench.verdicts', with the thresholds file's limits
    ladder = checks.ladder(thresholds.DEFAULTS, "gateway_lookup")
    assert (ladder.no_change, ladder.fail) == (0.05, 0.10)
    assert verdicts.classify(estimate, low, high, ladder) == expected


def test_ladder_reads_the_thresholds_file_not_constants() -> None:
    # GIVEN a thresholds file with its own band and regression for one hot path
    t = thresholds.loads(
        "[gate]\ntime_warn = 0.02\ntime_fail = 0.04\n"
        "[hotpaths.gateway_lookup]\ntime_warn = 0.01\ntime_fail = 0.03\n",
        source="t.toml",
    )
    # THEN the ladder of that hot path uses them, and a 3% interval is no longer no change
    assert checks.ladder(t, "gateway_lookup") == verdicts.Thresholds(0.01, 0.03)
    assert checks.ladder(t, "other") == verdicts.Thresholds(0.02, 0.04)
    assert checks.time_verdict(0.0, math.log(0.97), math.log(1.03), 0.04, 0.02) == "inconclusive"


def test_time_check_is_seeded_and_reproducible() -> None:
    ratios = [0.21, 0.25, 0.19, 0.30, 0.22, 0.24, 0.18, 0.26]
    a = checks.time_check(ratios, fail=0.10, warn=0.05, seed=7)
    b = checks.time_check(ratios, fail=0.10, warn=0.05, seed=7)
    assert a == b
    assert a.verdict == "slower" and a.regression and a.low > 0
    assert a.ratio == pytest.approx(math.exp(0.23))  # median of the eight


def _time(verdict_ratios: list[float]) -> checks.TimeCheck:
    return checks.time_check(verdict_ratios, fail=0.10, warn=0.05, seed=1)


SLOW = [0.22, 0.24, 0.20, 0.25, 0.23, 0.21]
SAME = [0.01, -0.01, 0.0, 0.02, -0.02, 0.0]


def _row(
    first: checks.TimeCheck | None,
    confirm: checks.TimeCheck | None,
    pooled: checks.TimeCheck | None = None,
    stopped: str | None = None,
) -> checks.Row:
    eq = checks.Equivalence(None, None)
    return checks.row(KEY, "optimized", eq, (), (), first, confirm, pooled, stopped)


def test_time_regression_needs_confirmation() -> None:
    # GIVEN a first look saying regression
    first = _time(SLOW)
    assert checks.needs_confirmation(checks.Equivalence(None, None), (), (), first)
    # THEN confirmed: regression; not confirmed: inconclusive, with the reason
    assert _row(first, _time(SLOW)).verdict == "regression"
    unconfirmed = _row(first, _time(SAME))
    assert unconfirmed.verdict == "inconclusive"
    assert "not confirmed" in unconfirmed.reasons[0]


WIDE = [0.06, -0.07, 0.01, -0.02, 0.08, -0.05, 0.0, 0.03, -0.04, 0.02]
TIGHT = [0.01, -0.01, 0.0, 0.005, -0.005, 0.002, -0.002, 0.01, -0.01, 0.0]


def test_an_inconclusive_row_takes_the_verdict_of_all_its_rounds() -> None:
    # GIVEN a first look too noisy to say (the interval reaches outside the band)
    first = _time(WIDE)
    assert first.verdict == "inconclusive" and checks.undecided(first)
    eq = checks.Equivalence(None, None)
    assert not checks.needs_confirmation(eq, (), (), first)  # nothing to confirm
    # WHEN quieter rounds followed
    pooled = _time(WIDE + TIGHT)
    row = _row(first, None, pooled)
    # THEN the verdict is that of all its rounds
    assert row.verdict == pooled.verdict == "no change"
    assert row.decisive_time is row.pooled
    assert "with 10 more rounds" in row.reasons[0]


def test_an_inconclusive_interval_is_never_a_regression() -> None:
    # GIVEN rounds above the threshold whose interval reaches 0, stopped at the cap
    noisy_slow = _time([0.3, -0.1, 0.25, 0.2, 0.28, -0.05])
    assert noisy_slow.verdict == "inconclusive" and noisy_slow.estimate > math.log(1.10)
    eq = checks.Equivalence(None, None)
    assert not checks.needs_confirmation(eq, (), (), noisy_slow)
    # THEN even a confirmation batch that says regression does not make one
    row = _row(noisy_slow, _time(SLOW), None, "40 rounds")
    assert row.verdict == "inconclusive"
    assert row.stopped == "40 rounds"
    assert "stopped at the cap (40 rounds)" in row.reasons[0]


def test_no_change_passes_even_under_strict() -> None:
    row = _row(_time(SAME), None)
    assert row.verdict == "no change"
    assert engine.exit_code(checks.overall([row]), strict=True) == 0


def test_exact_failure_needs_no_confirmation() -> None:
    eq = checks.Equivalence(None, "chain 3 differs")
    assert not checks.needs_confirmation(eq, (), (), _time(SLOW))
    row = checks.row(KEY, "optimized", eq, (), (), _time(SAME), None)
    assert row.verdict == "regression"
    assert "chain 3 differs" in row.reasons[0]


def test_base_only_mismatch_is_reported_not_failed() -> None:
    eq = checks.Equivalence("old bug", None)
    row = checks.row(KEY, "optimized", eq, (), (), None, None)
    assert row.verdict == "pass" and "old bug" in row.reasons[0]


def test_overall_verdict_and_exit_codes() -> None:
    same = _row(_time(SAME), None)
    slow = _row(_time(SLOW), _time(SLOW))
    assert same.verdict == "no change"
    assert checks.overall([same, slow]) == "regression"
    assert engine.exit_code("regression", strict=False) == 1
    assert engine.exit_code("inconclusive", strict=False) == 0
    assert engine.exit_code("inconclusive", strict=True) == 1
    assert engine.exit_code("slower", strict=True) == 0
    assert engine.exit_code("no change", strict=True) == 0


# --------------------------------------------------------------------------- plan


def test_sweep_sizes() -> None:
    assert engine.sweep_sizes([400], (0.25, 0.5, 1.0)) == (100, 200, 400)
    assert engine.sweep_sizes([300, 100], (0.25, 0.5, 1.0)) == (100, 300)


def test_time_plan_budget() -> None:
    t = thresholds.DEFAULTS
    fast, slow = PointKey("a", "o", 10), PointKey("b", "o", 10)
    plan = {e.key: e for e in engine.time_plan([fast, slow], {fast: 0.0005, slow: 2.0}, t)}
    assert plan[fast].loops == 4 and plan[fast].values == t.values
    assert plan[slow].loops == 1 and plan[slow].values == t.min_values


# --------------------------------------------------------------------------- summary


def _outcome(rows: tuple[checks.Row, ...], notes: tuple[str, ...] = ()) -> engine.GateOutcome:
    verdict = checks.overall(rows)
    side = engine.SideInfo("base", "origin/main", "a" * 40, "/tmp/b/harness/__init__.py", {})
    return engine.GateOutcome(
        verdict=verdict,
        exit_code=engine.exit_code(verdict, False),
        strict=False,
        base=side,
        head=engine.SideInfo("head", "HEAD", "b" * 40, "/tmp/h/harness/__init__.py", {}),
        base_ref_named="origin/main",
        settings=engine.Settings(
            sizes=(300,),
            sweep=(75, 150, 300),
            seed=42,
            custom_domain_share=None,
            rounds=6,
            confirm_rounds=6,
            time_metric="wall",
            step_rounds=6,
            max_rounds=24,
            max_seconds=900.0,
            thresholds_source="built-in defaults",
            hotpaths=("gateway_lookup",),
            plan=(),
        ),
        rows=rows,
        notes=notes,
        wall_seconds=1.0,
        descriptions={"base": SideDescription("", ()), "head": SideDescription("", ())},
        side_checks={"base": SideCheck((), {}), "head": SideCheck((), {})},
        samples={"base": (), "head": ()},
    )


def _view(rows: tuple[checks.Row, ...], notes: tuple[str, ...] = ()) -> gate_view.GateView:
    outcome = replace(_outcome(rows, notes), thresholds=thresholds.DEFAULTS)
    return gate_view.from_document(report.to_json_dict(outcome))


def test_summary_rows_and_escaping() -> None:
    # GIVEN a regressed row with a counter and a slope failure, and a note with markup
    t = thresholds.DEFAULTS
    counters = checks.counter_deltas("gateway_lookup", {"dict_builds": 1}, {"dict_builds": 300}, t)
    sizes = [75, 150, 300]
    slopes = checks.slope_deltas(
        "gateway_lookup",
        sizes,
        {n: {"dict_inserts": n} for n in sizes},
        {n: {"dict_inserts": n * n} for n in sizes},
        t,
    )
    row = checks.row(
        KEY, "optimized", checks.Equivalence(None, None), counters, slopes, _time(SLOW), None
    )
    text = gate_summary.render_markdown(_view((row,), notes=("hot path <x|y> is new",)))
    # THEN one table row with the counter, slope and time, and escaped notes
    assert text.startswith("### gwbench gate: 🔴 regression")
    table = [ln for ln in text.splitlines() if ln.startswith("| 🔴")]
    assert len(table) == 1
    assert "dict\\_builds" not in table[0]  # intraword underscores stay as they are
    assert "dict_builds from 0" not in table[0] and "dict_builds +29900.0%" in table[0]
    assert "+1.00 (dict_inserts)" in table[0]
    assert "×1.2" in table[0]
    assert "hot path &lt;x\\|y&gt; is new" in text
    assert "Exit code 1." in text


def test_summary_states_thresholds_and_why_for_every_row() -> None:
    # GIVEN a row with a counter and an exponent change and a timed row with no change
    t = thresholds.DEFAULTS
    sizes = [75, 150, 300]
    counters = checks.counter_deltas("gateway_lookup", {"lookups": 100}, {"lookups": 101}, t)
    slopes = checks.slope_deltas(
        "gateway_lookup",
        sizes,
        {n: {"lookups": n} for n in sizes},
        {n: {"lookups": n + 1} for n in sizes},
        t,
    )
    eq = checks.Equivalence(None, None)
    moved = checks.row(KEY, "optimized", eq, counters, slopes, _time(SAME), None)
    base_key = PointKey("gateway_lookup", "baseline", 300)
    base = checks.row(base_key, "baseline", eq, (), (), None, None)
    view = _view((moved, base))
    text = gate_summary.render_markdown(view)
    # THEN the thresholds are stated, as the thresholds file gives them
    assert "±5% no change band" in text and "regression at +10%" in text
    assert "+2% (counts)" in text and "+0.15" in text
    # AND each row says why: the counter's change, the exponent's move, the interval
    why = text[text.index("**Why**") :]
    assert "counter lookups 100 → 101 (+1.0%, limit +2%)" in why
    assert "exponent of lookups moved" in why
    assert "inside the ±5% band" in why
    assert "not timed (baseline)" in why
    assert text.startswith("### gwbench gate: ✅ no change")
    # AND the console form says the same, with slower styled
    lines = gate_summary.console_lines(view, lambda text, v: f"<{v}>{text}")
    assert any("why: counter lookups 100 → 101" in ln for ln in lines)
    assert "±5% no change band" in lines[1]


def test_html_opens_with_the_verdict() -> None:
    # GIVEN a regressed row
    row = _row(_time(SLOW), _time(SLOW))
    html = gate_html.render_html(_view((row,)), side_reports=(("head", "head/report.html"),))
    body = html[html.index("<body>") :]
    # THEN the first thing in the page is the verdict banner, in the red class
    banner = '<body><div class="banner verdict-regression"><h1>gwbench gate: regression'
    assert body.startswith(banner)
    assert body.index("Thresholds") < body.index("<table>")
    assert '<span class="verdict verdict-regression">regression</span>' in body
    assert 'href="head/report.html"' in body


def test_summary_of_nothing_compared() -> None:
    text = gate_summary.render_markdown(_view((), notes=("nothing was compared",)))
    assert "✅ pass" in text and "nothing compared" in text


# --------------------------------------------------------------------------- sides


def _fake_side(tmp_path: Path, registry_source: str) -> Side:
    root = tmp_path / "side"
    (root / "harness").mkdir(parents=True)
    (root / "harness" / "__init__.py").write_text("")
    (root / "harness" / "registry.py").write_text(registry_source)
    return Side("head", "HEAD", "c" * 40, root)


def test_side_cannot_borrow_modules_from_the_installed_gwbench(tmp_path: Path) -> None:
    # GIVEN a side whose registry imports a package the side does not have (workloads),
    # while the running gwbench has one
    side = _fake_side(tmp_path, "import workloads.counters\n\ndef all_hotpaths():\n    return []\n")
    runner = SideRunner(tmp_path / "work", python=sys.executable)
    # WHEN described THEN the side fails (exit 3), naming the module, instead of silently
    # running the installed copy
    with pytest.raises(HarnessError) as err:
        runner.call(side, "describe", {})
    assert err.value.exit_code == 3
    assert "head (cccccccccc)" in str(err.value) and "workloads" in str(err.value)


def test_side_runs_its_own_code(tmp_path: Path) -> None:
    side = _fake_side(tmp_path, "def all_hotpaths():\n    return []\n")
    runner = SideRunner(tmp_path / "work", python=sys.executable)
    answer = runner.call(side, "describe", {})
    assert answer.result == {"hotpaths": []}
    assert Path(answer.harness_file).resolve() == (side.root / "harness" / "__init__.py").resolve()


def test_side_without_the_registry_contract_is_a_harness_failure(tmp_path: Path) -> None:
    side = _fake_side(tmp_path, "def list_hotpaths():\n    return []\n")
    runner = SideRunner(tmp_path / "work", python=sys.executable)
    with pytest.raises(HarnessError, match="predates the gate's side protocol"):
        runner.call(side, "describe", {})


def test_equivalence_difference_at_another_sweep_size_counts() -> None:
    ok = CheckPoint(KEY, "optimized", {}, 0.1, None)
    bad = CheckPoint(KEY._replace(size=75), "optimized", {}, 0.1, "server 3 differs")
    check = SideCheck((ok, bad), {})
    assert engine._first_difference(check, KEY, [75, 300]) == "at N=75: server 3 differs"


def test_an_inconclusive_row_says_how_many_rounds_its_spread_needs() -> None:
    # GIVEN a row stopped at the cap, still inconclusive: rounds spread by about 0.1
    noisy = [0.12, -0.15, 0.05, -0.02, 0.18, -0.11, 0.0, 0.09, -0.08, 0.03]
    row = _row(_time(noisy), None, _time(noisy + [-x for x in noisy]), "20 rounds")
    view = _view((row,))
    assert view.rows[0].verdict == "inconclusive"
    # THEN the reason says it hit the cap, the spread and a number of rounds above 20
    why = gate_summary.time_why(view.rows[0], view.ladder)
    assert "stopped at the cap (20 rounds), still inconclusive" in why
    assert "the rounds spread by" in why and "would resolve ±5%" in why
    pooled = view.rows[0].pooled
    assert pooled is not None and pooled.spread is not None
    needed = pooled.rounds_to_resolve(0.05)
    assert needed is not None and needed > 20
    # AND the table cell and the footer say so too
    text = gate_summary.render_markdown(view)
    assert "(cap: 20 rounds)" in text
    assert "up to 24 rounds or 900 s of rounds" in text
    html = gate_html.render_html(view)
    assert "stopped at the cap (20 rounds)" in html
    # AND a quiet row needs no hint
    quiet = _view((_row(_time(SAME), None),))
    assert "would resolve" not in gate_summary.time_why(quiet.rows[0], quiet.ladder)
