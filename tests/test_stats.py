"""gwbench.stats: medians, spreads and seeded bootstrap intervals."""

from __future__ import annotations

import math
import random

import pytest

from gwbench import stats


def test_median_quantile_and_spread_of_known_values() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    sp = stats.spread(values)
    assert sp.median == 3.0
    assert sp.mean == 3.0
    assert sp.minimum == 1.0 and sp.maximum == 5.0
    assert sp.iqr == pytest.approx(2.0)  # 4 - 2 with linear interpolation
    assert sp.mad == 1.0
    assert sp.stdev == pytest.approx(math.sqrt(2.5))
    assert stats.quantile([1.0, 2.0], 0.5) == 1.5
    single = stats.spread([7.0])
    assert single.stdev == 0.0 and single.iqr == 0.0


def test_empty_and_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        stats.median([])
    with pytest.raises(ValueError):
        stats.bootstrap_ratio_of_medians([1.0], [])
    with pytest.raises(ValueError):
        stats.bootstrap_ratio_of_medians([1.0], [0.0])
    with pytest.raises(ValueError):
        stats.paired_log_ratio([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        stats.bootstrap_median([1.0], confidence=1.5)


def _lognormal(rng: random.Random, scale: float, k: int, sigma: float = 0.1) -> list[float]:
    return [scale * math.exp(rng.gauss(0.0, sigma)) for _ in range(k)]


def test_ratio_bootstrap_is_deterministic_for_a_seed() -> None:
    rng = random.Random(1)
    base, cand = _lognormal(rng, 3.0, 12), _lognormal(rng, 1.0, 12)
    a = stats.bootstrap_ratio_of_medians(base, cand, seed=7, resamples=500)
    b = stats.bootstrap_ratio_of_medians(base, cand, seed=7, resamples=500)
    c = stats.bootstrap_ratio_of_medians(base, cand, seed=8, resamples=500)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)
    assert a.low <= a.estimate <= a.high


def test_ratio_bootstrap_covers_the_true_ratio_on_synthetic_data() -> None:
    # GIVEN 40 synthetic experiments whose true ratio of medians is exactly 3
    # WHEN each gets a 95% interval
    # THEN nearly all intervals hold 3 and the point estimates sit near it
    rng = random.Random(2024)
    covered = 0
    trials = 40
    for t in range(trials):
        base, cand = _lognormal(rng, 3.0, 15), _lognormal(rng, 1.0, 15)
        ci = stats.bootstrap_ratio_of_medians(base, cand, seed=t, resamples=400)
        covered += ci.contains(3.0)
        assert ci.estimate == pytest.approx(3.0, rel=0.2)
    assert covered >= 0.85 * trials


def test_paired_log_ratio_flags_a_25_percent_slowdown_and_not_an_a_a_run() -> None:
    rng = random.Random(5)
    base = _lognormal(rng, 1.0, 20, sigma=0.03)
    # paired rounds share the machine's state: head = base * 1.25 * small noise
    slow = [b * 1.25 * math.exp(rng.gauss(0.0, 0.02)) for b in base]
    same = [b * math.exp(rng.gauss(0.0, 0.02)) for b in base]
    reg = stats.paired_log_ratio(base, slow, seed=1, resamples=2000)
    aa = stats.paired_log_ratio(base, same, seed=1, resamples=2000)
    assert reg.confidence == 0.99
    assert reg.low > 0.0 and reg.contains(math.log(1.25))
    assert math.exp(reg.estimate) == pytest.approx(1.25, rel=0.03)
    assert aa.contains(0.0)
    assert aa == stats.paired_log_ratio(base, same, seed=1, resamples=2000)


def test_round_log_ratio_averages_the_halves_of_an_abba_round() -> None:
    r = stats.round_log_ratio([(1.0, 2.0), (1.0, 8.0)])
    assert r == pytest.approx((math.log(2.0) + math.log(8.0)) / 2)
    assert stats.log_ratio(2.0, 2.0) == 0.0


def test_stable_seed_does_not_depend_on_the_process() -> None:
    assert stats.stable_seed("a", 1) == stats.stable_seed("a", 1)
    assert stats.stable_seed("a", 1) != stats.stable_seed("a", 2)
    assert stats.stable_seed("gateway_lookup", "optimized", 20000) == 4049155129  # crc32
