"""gwbench.scaling: the fitted exponent of log(metric) against log(N)."""

from __future__ import annotations

import math
import random

import pytest

from gwbench.scaling import fit_power_law

SIZES = [1250, 2500, 5000, 10000, 20000]


@pytest.mark.parametrize("exponent", [1.0, 2.0, 0.0, 1.5])
def test_exact_power_laws_are_recovered(exponent: float) -> None:
    values = [3e-7 * n**exponent for n in SIZES]
    fit = fit_power_law(SIZES, values)
    assert fit.exponent == pytest.approx(exponent, abs=1e-9)
    assert fit.intercept == pytest.approx(math.log(3e-7), abs=1e-6)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.sizes == tuple(SIZES)
    assert fit.predict(40000) == pytest.approx(3e-7 * 40000**exponent, rel=1e-6)


def test_noisy_linear_and_quadratic_sweeps_fit_near_1_and_2() -> None:
    rng = random.Random(3)
    lin = [2e-6 * n * math.exp(rng.gauss(0, 0.05)) for n in SIZES]
    quad = [1e-9 * n * n * math.exp(rng.gauss(0, 0.05)) for n in SIZES]
    f1, f2 = fit_power_law(SIZES, lin), fit_power_law(SIZES, quad)
    assert f1.exponent is not None and abs(f1.exponent - 1.0) < 0.1
    assert f2.exponent is not None and abs(f2.exponent - 2.0) < 0.1
    assert f1.r_squared is not None and f1.r_squared > 0.98


def test_a_linear_term_plus_a_quadratic_one_is_between_1_and_2() -> None:
    values = [1e-3 * n + 1e-8 * n * n for n in SIZES]
    fit = fit_power_law(SIZES, values)
    assert fit.exponent is not None and 1.0 < fit.exponent < 2.0
    assert fit.r_squared is not None and fit.r_squared < 1.0


def test_no_fit_below_two_sizes_or_with_non_positive_values() -> None:
    one = fit_power_law([1000], [1.0])
    assert one.exponent is None and one.reason is not None and "2" in one.reason
    same = fit_power_law([1000, 1000], [1.0, 2.0])
    assert same.exponent is None
    zero = fit_power_law([1000, 2000], [0.0, 1.0])
    assert zero.exponent is None and zero.reason is not None and "N=1000" in zero.reason
    assert zero.predict(10) is None
    with pytest.raises(ValueError):
        fit_power_law([1, 2], [1.0])
