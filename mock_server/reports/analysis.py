"""The pattern analysis behind ``GET …/analysis`` and the PDF report (the ``PatternAnalysis`` shape).

Design rules, because a clinician may act on these sentences:

* Deterministic and explainable: only classical statistics (least squares, ANOVA, Pearson/Spearman with
  Fisher-z intervals), every threshold a named constant below, every number behind a sentence returned
  in ``statistics``.
* No spurious findings: each finding has a minimum amount of data and says ``not_enough_data`` below
  it; "found" needs both statistical clarity (CI excluding 0 / p < ALPHA) *and* a difference big enough
  to matter (e.g. 1 point on the 0-10 scale). Daily pain is autocorrelated, so the trend interval uses an
  effective sample size (see :mod:`.stats`).
* One computation: the PDF reads this dict; nothing is recomputed differently elsewhere. The English
  ``summary`` is rendered from the same catalogue templates the PDF uses for every language.
"""

from __future__ import annotations

import math
import statistics as pystats
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from mock_server.reports import sentences
from mock_server.reports.series import PARTS_OF_DAY, PainPoint, PatientSeries, Record, build_series
from mock_server.reports.stats import GroupComparison, compare_groups, correlation, linear_trend
from mock_server.timeutil import iso

KINDS = (
    "trend",
    "flares",
    "weekday_pattern",
    "time_of_day_pattern",
    "sleep_correlation",
    "hrv_correlation",
    "wellbeing_trajectory",
    "adherence",
)
STATUSES = ("found", "not_found", "not_enough_data")

ALPHA = 0.05
MIN_DAYS = 14  # days with pain entries for a trend, flares and "sufficient" data
MIN_PAIRS = 14  # days with both pain and the night's sleep/HRV for a correlation
MIN_DAYS_PER_WEEKDAY = 3
MIN_ENTRIES_PER_PART = 10
MIN_CHECKINS = 10  # WHO-5 check-ins for a wellbeing trajectory
DAYS_PER_MONTH = 30.0
TREND_MIN_PER_MONTH = 0.25  # smaller slopes are not worth a clinician's attention even if "significant"
PATTERN_MIN_DIFFERENCE = 1.0  # points on the 0-10 scale between best and worst weekday / part of day
WHO5_MIN_CHANGE = 10.0  # the WHO-5 change usually called clinically relevant (0-100 scale)
FLARE_RISE = 2.0  # points above the rolling baseline (a common app definition; Suri 2011 saw +2.7)
FLARE_BASELINE_DAYS = 7
FLARE_MIN_BASELINE_DAYS = 3
FLARE_GAP_HOURS = 48  # elevated entries closer than this belong to one episode
TOP_N = 5


def analyze(
    pain_entries: Iterable[Record],
    wellbeing: Iterable[Record],
    vitals: Iterable[Record],
    *,
    period_from: date,
    period_to: date,
    patient_id: str,
    now: datetime,
    tz: str = "UTC",
) -> dict[str, Any]:
    """Analyse one patient's records over ``[period_from, period_to]`` (inclusive local days).

    ``tz`` is the patient's IANA time zone (``Patient.timezone``); it decides which calendar day and
    part of the day an entry falls on. Records outside the period are ignored.
    """
    if period_to < period_from:
        raise ValueError("period_to is before period_from")
    series = build_series(
        pain_entries, wellbeing, vitals, period_from=period_from, period_to=period_to, tz=tz
    )
    return analyze_series(series, patient_id=patient_id, now=now)


def analyze_series(series: PatientSeries, *, patient_id: str, now: datetime) -> dict[str, Any]:
    """The same analysis from prebuilt series (the PDF builds them once for charts and findings)."""
    days_with = len(series.daily_pain)
    flares = detect_flares(series.pain, series.daily_mean_pain())
    findings = [
        _finding("trend", *_trend(series)),
        _finding("flares", *_flares_finding(series, flares)),
        _finding("weekday_pattern", *_weekday(series)),
        _finding("time_of_day_pattern", *_time_of_day(series)),
        _finding("sleep_correlation", *_night_correlation(series, series.sleep_hours)),
        _finding("hrv_correlation", *_night_correlation(series, series.hrv_ms)),
        _finding("wellbeing_trajectory", *_wellbeing(series)),
        _finding("adherence", *_adherence(series)),
    ]
    return {
        "patient_id": patient_id,
        "period": {
            "from": series.period_from.isoformat(),
            "to": series.period_to.isoformat(),
            "days": series.days,
        },
        "data_sufficiency": {
            "pain_entries": len(series.pain),
            "days_with_entries": days_with,
            "checkin_rate": round(days_with / series.days, 2),
            "sufficient": days_with >= MIN_DAYS,
        },
        "findings": findings,
        "flares": [
            {"start": iso(f.start), "end": iso(f.end), "peak": f.peak, "baseline": round(f.baseline, 1)}
            for f in flares
        ],
        "top_areas": _top((a for p in series.pain for a in p.areas), len(series.pain)),
        "top_qualities": _top((q for p in series.pain for q in p.qualities), len(series.pain)),
        "generated_at": iso(now),
    }


def _finding(kind: str, status: str, statistics: dict[str, float | None]) -> dict[str, Any]:
    """Round the statistics first, so the sentence quotes exactly the numbers the JSON carries."""
    clean = {key: _clean(value) for key, value in statistics.items()}
    summary = sentences.english({"kind": kind, "status": status, "statistics": clean})
    return {"kind": kind, "status": status, "summary": summary, "statistics": clean}


def _clean(value: float | None) -> float | None:
    """JSON-safe numbers: ints stay ints, floats are rounded to 4 significant decimals, no NaN/inf."""
    if value is None or isinstance(value, int):
        return value
    if not math.isfinite(value):
        return None
    return float(f"{value:.4g}") if abs(value) < 1e-3 else round(value, 4)


# -- trend -----------------------------------------------------------------------------------------------


def _trend(series: PatientSeries) -> tuple[str, dict[str, float | None]]:
    daily = series.daily_mean_pain()
    n = len(daily)
    if n < MIN_DAYS:
        return "not_enough_data", {"n": n, "n_required": MIN_DAYS}
    fit = linear_trend([series.day_index(d) for d in daily], list(daily.values()))
    if fit is None:
        return "not_enough_data", {"n": n, "n_required": MIN_DAYS}
    per_month = fit.slope * DAYS_PER_MONTH
    clear = fit.p_value < ALPHA and (fit.ci_low > 0 or fit.ci_high < 0)
    status = "found" if clear and abs(per_month) >= TREND_MIN_PER_MONTH else "not_found"
    return status, {
        "slope_per_day": fit.slope,
        "intercept": fit.intercept,  # fitted pain on period_from; the PDF draws the line from it
        "slope_per_month": per_month,
        "ci95_low": fit.ci_low,
        "ci95_high": fit.ci_high,
        "p_value": fit.p_value,
        "n": n,
        "n_required": MIN_DAYS,
        "n_effective": fit.n_effective,
        "lag1_autocorrelation": fit.lag1_autocorrelation,
        "mean": pystats.fmean(daily.values()),
    }


# -- flares ----------------------------------------------------------------------------------------------


class Flare:
    """One episode of pain at least FLARE_RISE above the rolling baseline."""

    __slots__ = ("baseline", "end", "peak", "start")

    def __init__(self, start: datetime, level: float, baseline: float) -> None:
        self.start = self.end = start
        self.peak = int(level) if float(level).is_integer() else level
        self.baseline = baseline

    def extend(self, at: datetime, level: float) -> None:
        self.end = at
        if level > self.peak:
            self.peak = int(level) if float(level).is_integer() else level


def detect_flares(points: Iterable[PainPoint], daily_mean: Mapping[date, float]) -> list[Flare]:
    """Flare episodes: entries >= baseline + FLARE_RISE, where the baseline is the median daily mean of
    the previous FLARE_BASELINE_DAYS days (at least FLARE_MIN_BASELINE_DAYS of them with entries).

    Consecutive elevated entries less than FLARE_GAP_HOURS apart form one episode; an entry back near
    the baseline (or one without a baseline) ends it.
    """
    flares: list[Flare] = []
    current: Flare | None = None
    for point in points:
        window = [
            daily_mean[d]
            for offset in range(1, FLARE_BASELINE_DAYS + 1)
            if (d := point.day - timedelta(days=offset)) in daily_mean
        ]
        if len(window) < FLARE_MIN_BASELINE_DAYS:
            current = None
            continue
        baseline = pystats.median(window)
        if point.level < baseline + FLARE_RISE:
            current = None
            continue
        if current is not None and point.at - current.end <= timedelta(hours=FLARE_GAP_HOURS):
            current.extend(point.at, point.level)
        else:
            current = Flare(point.at, point.level, baseline)
            flares.append(current)
    return flares


def _flares_finding(series: PatientSeries, flares: list[Flare]) -> tuple[str, dict[str, float | None]]:
    n = len(series.daily_pain)
    base: dict[str, float | None] = {
        "n": n,
        "n_required": MIN_DAYS,
        "rise": FLARE_RISE,
        "baseline_days": FLARE_BASELINE_DAYS,
    }
    if n < MIN_DAYS:
        return "not_enough_data", base
    if not flares:
        return "not_found", {**base, "count": 0}
    durations = [(f.end - f.start).total_seconds() / 3600.0 for f in flares]
    return "found", {
        **base,
        "count": len(flares),
        "per_30_days": len(flares) * DAYS_PER_MONTH / series.days,
        "mean_rise": pystats.fmean(float(f.peak) - f.baseline for f in flares),
        "max_peak": max(float(f.peak) for f in flares),
        "mean_duration_hours": pystats.fmean(durations),
    }


# -- weekday and time of day -----------------------------------------------------------------------------


def _extremes(means: list[float | None]) -> tuple[int, int, float]:
    present = [(m, i) for i, m in enumerate(means) if m is not None]
    worst = max(present, key=lambda item: (item[0], -item[1]))
    best = min(present, key=lambda item: (item[0], item[1]))
    return worst[1], best[1], worst[0] - best[0]


def _pattern_verdict(
    stats: dict[str, float | None], means: list[float | None], comparison: GroupComparison | None
) -> tuple[str, dict[str, float | None]]:
    """Worst and best group, and "found" only for a clear (p < ALPHA) and large enough difference."""
    worst, best, difference = _extremes(means)
    stats.update(
        worst=worst,
        best=best,
        worst_mean=means[worst],
        best_mean=means[best],
        difference=difference,
        eta_squared=comparison.eta_squared if comparison else None,
        p_value=comparison.p_value if comparison else None,
    )
    clear = comparison is not None and comparison.p_value < ALPHA
    return ("found" if clear and difference >= PATTERN_MIN_DIFFERENCE else "not_found"), stats


def _weekday(series: PatientSeries) -> tuple[str, dict[str, float | None]]:
    groups: list[list[float]] = [[] for _ in range(7)]
    for day, mean in series.daily_mean_pain().items():
        groups[day.weekday()].append(mean)
    n = sum(len(g) for g in groups)
    stats: dict[str, float | None] = {"n": n, "n_required": MIN_DAYS_PER_WEEKDAY}
    if min(len(g) for g in groups) < MIN_DAYS_PER_WEEKDAY:
        return "not_enough_data", stats
    means: list[float | None] = [pystats.fmean(g) for g in groups]
    comparison = compare_groups(groups)
    for index, weekday_mean in enumerate(means):
        stats[f"mean_weekday_{index}"] = weekday_mean
    return _pattern_verdict(stats, means, comparison)


def _time_of_day(series: PatientSeries) -> tuple[str, dict[str, float | None]]:
    groups: list[list[float]] = [[] for _ in PARTS_OF_DAY]
    for point in series.pain:
        groups[point.at.hour // 6].append(point.level)
    stats: dict[str, float | None] = {"n": len(series.pain), "n_required": MIN_ENTRIES_PER_PART}
    for index, part in enumerate(PARTS_OF_DAY):
        stats[f"count_{part}"] = len(groups[index])
    usable = [g if len(g) >= MIN_ENTRIES_PER_PART else [] for g in groups]
    if sum(1 for g in usable if g) < 2:
        return "not_enough_data", stats
    means: list[float | None] = [pystats.fmean(g) if g else None for g in usable]
    comparison = compare_groups(usable)
    for index, part in enumerate(PARTS_OF_DAY):
        stats[f"mean_{part}"] = means[index]
    return _pattern_verdict(stats, means, comparison)


# -- sleep and HRV ---------------------------------------------------------------------------------------


def _night_correlation(
    series: PatientSeries, night_values: Mapping[date, float]
) -> tuple[str, dict[str, float | None]]:
    """Pain on day d against the value of the night before d (see :mod:`.series` for night keys)."""
    daily = series.daily_mean_pain()
    days = [d for d in daily if d in night_values]
    n = len(days)
    stats: dict[str, float | None] = {"n": n, "n_required": MIN_PAIRS}
    if n < MIN_PAIRS:
        return "not_enough_data", stats
    x = [night_values[d] for d in days]
    result = correlation(x, [daily[d] for d in days])
    if result is None:  # one side constant: nothing to relate
        return "not_enough_data", stats
    stats.update(
        r=result.pearson_r,
        ci95_low=result.pearson_ci_low,
        ci95_high=result.pearson_ci_high,
        p_value=result.p_value,
        spearman_rho=result.spearman_rho,
        spearman_ci95_low=result.spearman_ci_low,
        spearman_ci95_high=result.spearman_ci_high,
        mean_night_value=pystats.fmean(x),
    )
    # Both coefficients must agree, so one outlier night cannot make a Pearson-only "finding".
    pearson_clear = result.pearson_ci_low > 0 or result.pearson_ci_high < 0
    spearman_clear = result.spearman_ci_low > 0 or result.spearman_ci_high < 0
    same_sign = (result.pearson_r > 0) == (result.spearman_rho > 0)
    return ("found" if pearson_clear and spearman_clear and same_sign else "not_found"), stats


# -- wellbeing and adherence -----------------------------------------------------------------------------


def _wellbeing(series: PatientSeries) -> tuple[str, dict[str, float | None]]:
    n = len(series.who5)
    stats: dict[str, float | None] = {"n": n, "n_required": MIN_CHECKINS}
    if n < MIN_CHECKINS:
        return "not_enough_data", stats
    days = list(series.who5)
    scores = list(series.who5.values())
    stats["mean"] = pystats.fmean(scores)
    stats["low_share"] = sum(1 for s in scores if s < 52) / n  # WHO-5 raw < 13: screen for depression
    fit = linear_trend([series.day_index(d) for d in days], scores)
    if fit is None:
        return "not_found", stats
    first, last = series.day_index(days[0]), series.day_index(days[-1])
    start, end = fit.intercept + fit.slope * first, fit.intercept + fit.slope * last
    stats.update(
        slope_per_day=fit.slope,
        ci95_low=fit.ci_low,
        ci95_high=fit.ci_high,
        p_value=fit.p_value,
        fitted_start=start,
        fitted_end=end,
        change=end - start,
    )
    clear = fit.p_value < ALPHA and (fit.ci_low > 0 or fit.ci_high < 0)
    return ("found" if clear and abs(end - start) >= WHO5_MIN_CHANGE else "not_found"), stats


def _adherence(series: PatientSeries) -> tuple[str, dict[str, float | None]]:
    days_with = len(series.daily_pain)
    longest = run = 0
    for offset in range(series.days):
        if series.period_from + timedelta(days=offset) in series.daily_pain:
            run = 0
        else:
            run += 1
            longest = max(longest, run)
    stats: dict[str, float | None] = {
        "checkin_rate": days_with / series.days,
        "days_with_entries": days_with,
        "days": series.days,
        "entries": len(series.pain),
        "longest_gap_days": longest,
        "wellbeing_checkin_rate": len(series.who5) / series.days,
    }
    return ("found" if days_with else "not_enough_data"), stats


def _top(ids: Iterable[str], entries: int) -> list[dict[str, Any]]:
    counts = Counter(ids)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_N]
    return [{"id": key, "count": count, "share": round(count / entries, 2)} for key, count in ranked]
