"""The hand-rolled distributions against published table values, and edge cases that must not crash."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.reports.stats import (
    betainc,
    compare_groups,
    correlation,
    f_survival,
    linear_trend,
    t_critical_975,
    t_two_sided_p,
)


@pytest.mark.parametrize(
    ("df", "expected"), [(1, 12.706), (5, 2.571), (10, 2.228), (30, 2.042), (120, 1.980)]
)
def test_t_critical_matches_tables(df: float, expected: float) -> None:
    assert t_critical_975(df) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize(
    ("t", "df", "p"), [(2.0, 20, 0.0593), (2.086, 20, 0.05), (0.0, 10, 1.0), (3.5, 40, 0.00115)]
)
def test_t_p_values(t: float, df: float, p: float) -> None:
    assert t_two_sided_p(t, df) == pytest.approx(p, rel=2e-2, abs=1e-4)


def test_f_survival_at_the_5_percent_critical_value() -> None:
    assert f_survival(3.10, 3, 20) == pytest.approx(0.05, abs=1e-3)
    assert f_survival(2.21, 6, 60) == pytest.approx(0.054, abs=2e-3)
    assert f_survival(0.0, 3, 20) == 1.0


# x stays away from 0 and 1: for x ~ 1e-19, 1 - x rounds to exactly 1.0 and the identity cannot hold.
@given(st.floats(0.1, 50), st.floats(0.1, 50), st.floats(1e-6, 1 - 1e-6))
def test_betainc_symmetry_and_range(a: float, b: float, x: float) -> None:
    value = betainc(a, b, x)
    assert 0.0 <= value <= 1.0
    assert value + betainc(b, a, 1 - x) == pytest.approx(1.0, abs=1e-7)


@given(st.floats(0.1, 50), st.floats(1e-300, 1))
def test_betainc_closed_form(a: float, x: float) -> None:
    assert betainc(a, 1.0, x) == pytest.approx(x**a, rel=1e-9, abs=1e-300)  # I_x(a, 1) = x^a


def test_trend_recovers_a_clean_slope() -> None:
    fit = linear_trend(list(range(30)), [2 + 0.1 * x + (0.05 if x % 2 else -0.05) for x in range(30)])
    assert fit is not None
    assert fit.slope == pytest.approx(0.1, abs=0.005)
    assert fit.ci_low < 0.1 < fit.ci_high
    assert fit.p_value < 1e-6


def test_trend_degenerate_inputs() -> None:
    assert linear_trend([1, 1, 1], [1, 2, 3]) is None
    assert linear_trend([1, 2], [1, 2]) is None
    perfect = linear_trend([0, 1, 2, 3], [1, 2, 3, 4])
    assert perfect is not None and perfect.p_value == 0.0
    flat = linear_trend([0, 1, 2, 3], [2, 2, 2, 2])
    assert flat is not None and flat.p_value == 1.0


def test_autocorrelated_residuals_widen_the_interval() -> None:
    wave = [math.sin(x / 5.0) for x in range(60)]  # strongly autocorrelated, no trend in truth
    fit = linear_trend(list(range(60)), wave)
    assert fit is not None
    assert fit.lag1_autocorrelation > 0.5
    assert fit.n_effective < 20


def test_correlation_and_spearman_with_ties() -> None:
    result = correlation([1, 2, 2, 3, 4, 5], [2, 4, 4, 6, 8, 10])
    assert result is not None
    assert result.pearson_r == pytest.approx(1.0)
    assert result.spearman_rho == pytest.approx(1.0)
    assert correlation([1, 1, 1, 1], [1, 2, 3, 4]) is None
    assert correlation([1, 2, 3], [1, 2, 3]) is None


def test_compare_groups() -> None:
    result = compare_groups([[1, 2, 3], [4, 5, 6], []])
    assert result is not None
    assert result.means == (2.0, 5.0)
    assert result.p_value < 0.05
    assert 0 < result.eta_squared < 1
    assert compare_groups([[1, 2]]) is None
    identical = compare_groups([[2, 2], [2, 2]])
    assert identical is not None and identical.p_value == 1.0
