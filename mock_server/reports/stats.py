"""Small, dependency-light statistics for the pattern analysis.

SciPy is not a dependency (it would be the largest package in the image for a handful of functions), so
the few distributions needed are computed here from the regularized incomplete beta function, evaluated
with the continued fraction of Numerical Recipes (Press et al., 3rd ed., §6.4). That gives exact
two-sided t and F tail probabilities, good to ~1e-10, which is far more than a report needs.

Everything returns plain floats and never NaN: callers turn "cannot be computed" (``None``) into an
explicit ``not_enough_data`` finding rather than a spurious number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

Z_975 = 1.959963984540054  # standard normal 97.5th percentile, for Fisher-z intervals


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the continued fraction for I_x(a, b) (Numerical Recipes ``betacf``)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-12:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` (possibly fractional) degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return min(1.0, max(0.0, betainc(df / 2.0, 0.5, df / (df + t * t))))


@lru_cache(maxsize=1024)
def t_critical_975(df: float) -> float:
    """The t value with a two-sided tail of 5 %, found by bisection on :func:`t_two_sided_p`."""
    low, high = 0.0, 1000.0
    for _ in range(80):
        mid = (low + high) / 2.0
        if t_two_sided_p(mid, df) > 0.05:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def f_survival(f: float, df_between: float, df_within: float) -> float:
    """P(F >= f) for the F distribution (one-way ANOVA p-value)."""
    if f <= 0.0:
        return 1.0
    return betainc(df_within / 2.0, df_between / 2.0, df_within / (df_within + df_between * f))


@dataclass(frozen=True)
class Trend:
    """An ordinary least-squares line with an autocorrelation-aware 95 % interval for the slope.

    Daily pain is autocorrelated (day-to-day AR(1) is the norm in diaries), which makes plain OLS
    intervals too narrow and produces "significant" trends in noise. Following Santer et al. (2000),
    the residual variance uses an effective sample size n_eff = n (1 - r1) / (1 + r1), where r1 is the
    lag-1 autocorrelation of the residuals on consecutive days (negative r1 is treated as 0).
    """

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_effective: float
    lag1_autocorrelation: float


def linear_trend(x: Sequence[float], y: Sequence[float]) -> Trend | None:
    """Fit y = a + b x; ``None`` when x does not vary or fewer than 3 points are given.

    ``x`` must be whole days (consecutive days differ by exactly 1) for the lag-1 adjustment.
    """
    n = len(x)
    if n < 3 or len(y) != n:
        return None
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x_mean, y_mean = float(xs.mean()), float(ys.mean())
    sxx = float(((xs - x_mean) ** 2).sum())
    if sxx <= 0.0:
        return None
    slope = float(((xs - x_mean) * (ys - y_mean)).sum()) / sxx
    intercept = y_mean - slope * x_mean
    residuals = ys - (intercept + slope * xs)
    sse = float((residuals**2).sum())
    r1 = _lag1_autocorrelation(xs, residuals)
    n_eff = max(3.0, min(float(n), n * (1.0 - r1) / (1.0 + r1)))
    df = n_eff - 2.0
    se = math.sqrt(sse / df / sxx)
    if se == 0.0:
        p_value = 0.0 if slope != 0.0 else 1.0
        half_width = 0.0
    else:
        p_value = t_two_sided_p(slope / se, df)
        half_width = t_critical_975(round(df, 2)) * se
    return Trend(slope, intercept, slope - half_width, slope + half_width, p_value, n, n_eff, r1)


def _lag1_autocorrelation(xs: np.ndarray, residuals: np.ndarray) -> float:
    """Lag-1 autocorrelation over pairs of consecutive days only, clipped to [0, 0.95]."""
    denominator = float((residuals**2).mean())
    if denominator == 0.0:
        return 0.0
    consecutive = np.diff(xs) == 1.0
    if not consecutive.any():
        return 0.0
    products = residuals[:-1][consecutive] * residuals[1:][consecutive]
    return min(0.95, max(0.0, float(products.mean()) / denominator))


@dataclass(frozen=True)
class Correlation:
    """Pearson and Spearman coefficients with Fisher-z 95 % intervals."""

    pearson_r: float
    pearson_ci_low: float
    pearson_ci_high: float
    p_value: float
    spearman_rho: float
    spearman_ci_low: float
    spearman_ci_high: float
    n: int


def correlation(x: Sequence[float], y: Sequence[float]) -> Correlation | None:
    """Correlate paired samples; ``None`` below 4 pairs or when either side is constant.

    The Spearman interval uses the Fieller et al. (1957) standard error sqrt(1.06 / (n - 3)).
    """
    n = len(x)
    if n < 4 or len(y) != n:
        return None
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    r = _pearson(xs, ys)
    rho = _pearson(_ranks(xs), _ranks(ys))
    if r is None or rho is None:
        return None
    low, high = _fisher_interval(r, 1.0 / math.sqrt(n - 3))
    rho_low, rho_high = _fisher_interval(rho, math.sqrt(1.06 / (n - 3)))
    t = math.inf if abs(r) >= 1.0 else r * math.sqrt((n - 2) / (1.0 - r * r))
    return Correlation(r, low, high, t_two_sided_p(t, n - 2), rho, rho_low, rho_high, n)


def _pearson(xs: np.ndarray, ys: np.ndarray) -> float | None:
    dx, dy = xs - xs.mean(), ys - ys.mean()
    denominator = math.sqrt(float((dx**2).sum()) * float((dy**2).sum()))
    if denominator == 0.0:
        return None
    return max(-1.0, min(1.0, float((dx * dy).sum()) / denominator))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks with ties given their average rank (as Spearman's rho requires)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=float)
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def _fisher_interval(r: float, standard_error: float) -> tuple[float, float]:
    z = math.atanh(max(-0.999999, min(0.999999, r)))
    return math.tanh(z - Z_975 * standard_error), math.tanh(z + Z_975 * standard_error)


@dataclass(frozen=True)
class GroupComparison:
    """One-way ANOVA of several groups, with eta squared as the effect size."""

    means: tuple[float, ...]
    sizes: tuple[int, ...]
    f_statistic: float
    p_value: float
    eta_squared: float


def compare_groups(groups: Sequence[Sequence[float]]) -> GroupComparison | None:
    """``None`` unless there are at least two non-empty groups and more values than groups."""
    arrays = [np.asarray(g, dtype=float) for g in groups if len(g) > 0]
    k = len(arrays)
    total = sum(len(a) for a in arrays)
    if k < 2 or total <= k:
        return None
    grand = float(np.concatenate(arrays).mean())
    ss_between = sum(len(a) * (float(a.mean()) - grand) ** 2 for a in arrays)
    ss_within = sum(float(((a - a.mean()) ** 2).sum()) for a in arrays)
    ss_total = ss_between + ss_within
    df_between, df_within = k - 1, total - k
    if ss_within == 0.0:
        f_stat = math.inf if ss_between > 0.0 else 0.0
        p_value = 0.0 if ss_between > 0.0 else 1.0
    else:
        f_stat = (ss_between / df_between) / (ss_within / df_within)
        p_value = f_survival(f_stat, df_between, df_within)
    eta = ss_between / ss_total if ss_total > 0.0 else 0.0
    means = tuple(float(a.mean()) for a in arrays)
    return GroupComparison(means, tuple(len(a) for a in arrays), f_stat, p_value, eta)
