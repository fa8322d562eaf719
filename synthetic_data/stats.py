"""Statistics of generated series: what `care-synth describe` prints and the realism tests assert.

Everything is computed from the *records* (the API shapes), never from the model's internals, so the
same functions judge a dataset read back from disk, a `generate_days` result, or another generator's
output. Per patient (`patient_stats`) then per cohort (`cohort_stats`):

- pain: mean and within-person SD of the daily mean, lag-1 autocorrelation (Pearson over pairs of
  consecutive days), flares *detected* in the data (entries >= 2 points above the patient's median
  day — the rise an app study used — grouped into episodes more than 24 h apart) and, when the dataset
  carries them, the ground-truth flares;
- WHO-5: mean and SD of the percentage score, lag-1 autocorrelation, arithmetic errors (must be 0);
- couplings: correlation of the night's sleep and HRV with the day's pain, WHO-5 on flare days minus
  other days, weekend/weekday steps ratio;
- vitals: per (metric, unit) running moments, min/max, values outside the contract's ranges;
- missingness: days without a pain entry, WHO-5 or device data; late back-fills; duplicate uploads.

Days are the patient's local calendar days (timestamps are converted with the patient's time zone).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from statistics import fmean, median
from typing import Any
from zoneinfo import ZoneInfo

from synthetic_data.vocab import DIASTOLIC_RANGE, PHYSIOLOGICAL_RANGES, WHO5_DIMENSIONS

FLARE_RISE = 2.0  # NRS points above the patient's median day
FLARE_GAP_HOURS = 24.0
LATE_SECONDS = 86_400  # received more than a day after it was measured (judged to the hour)
HOURS_PER_UNIT = {"h": 1.0, "min": 1 / 60}

Record = Mapping[str, Any]


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation, or None with fewer than 3 pairs or no variance."""
    n = len(xs)
    if n < 3:
        return None
    mx, my = fmean(xs), fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / math.sqrt(sxx * syy)


def lag1(daily: Mapping[date, float]) -> float | None:
    """Lag-1 autocorrelation: Pearson correlation of (day, next day) pairs where both exist."""
    pairs = [(v, daily[d + timedelta(days=1)]) for d, v in daily.items() if d + timedelta(days=1) in daily]
    return pearson([p[0] for p in pairs], [p[1] for p in pairs])


def sd(values: Sequence[float]) -> float | None:
    """Sample standard deviation, or None with fewer than 2 values."""
    if len(values) < 2:
        return None
    m = fmean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class LocalClock:
    """Converts `…Z` timestamps to a patient's local time, caching the UTC offset per UTC hour."""

    def __init__(self, timezone: str) -> None:
        self._zone = _zone(timezone)
        self._offsets: dict[str, timedelta] = {}
        self._dates: dict[str, date] = {}

    def _offset(self, stamp: str) -> timedelta:
        hour = stamp[:13]
        offset = self._offsets.get(hour)
        if offset is None:
            utc = datetime.fromisoformat(hour + ":00:00").replace(tzinfo=UTC)
            offset = utc.astimezone(self._zone).utcoffset() or timedelta(0)
            self._offsets[hour] = offset
        return offset

    def local(self, stamp: str) -> datetime:
        return datetime.fromisoformat(stamp[:19]) + self._offset(stamp)

    def local_date(self, stamp: str) -> date:
        """The local calendar date of `stamp`, cached per UTC hour (exact for whole-hour UTC offsets,
        which all of the generator's zones have)."""
        key = stamp[:13]
        day = self._dates.get(key)
        if day is None:
            day = self.local(key + ":00:00").date()
            self._dates[key] = day
        return day


@dataclass
class Moments:
    """Running count, mean, variance (Welford), min and max of a stream of numbers."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)
        self.low = min(self.low, x)
        self.high = max(self.high, x)

    def merge(self, other: Moments) -> None:
        if other.n == 0:
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.mean += delta * other.n / n
        self.n = n
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    @property
    def sd(self) -> float | None:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None


@dataclass
class VitalStats:
    moments: Moments = field(default_factory=Moments)
    out_of_range: int = 0
    ac1: list[float] = field(default_factory=list)  # one per patient with enough days


@dataclass
class PatientStats:
    patient_id: str
    condition: str
    severity: str
    days: int
    entries: int = 0
    pain_days: int = 0
    pain_mean: float | None = None
    pain_sd: float | None = None
    pain_ac1: float | None = None
    flares_detected: int = 0
    flares_true: int | None = None
    flares_true_found: int = 0  # true flares with a detected flare entry inside them
    wellbeing_days: int = 0
    who5_mean: float | None = None
    who5_sd: float | None = None
    who5_ac1: float | None = None
    who5_errors: int = 0
    gauge_days: int = 0
    gauge_out_of_scale: int = 0
    sleep_pain_r: float | None = None
    hrv_pain_r: float | None = None
    flare_who5_delta: float | None = None
    weekend_steps_ratio: float | None = None
    device_days: dict[str, int] = field(default_factory=dict)
    readings: int = 0
    late_readings: int = 0
    duplicate_readings: int = 0
    vitals: dict[tuple[str, str], VitalStats] = field(default_factory=dict)
    gauges: dict[str, VitalStats] = field(default_factory=dict)  # by gauge type


def _in_range(reading: Record) -> bool:
    metric, unit, value = reading["metric"], reading["unit"], reading["value"]
    low, high = PHYSIOLOGICAL_RANGES[(metric, unit)]
    if metric == "blood_pressure":
        parts = reading.get("components") or {}
        systolic, diastolic = float(parts.get("systolic", -1)), float(parts.get("diastolic", -1))
        return (
            low <= systolic <= high
            and DIASTOLIC_RANGE[0] <= diastolic <= DIASTOLIC_RANGE[1]
            and diastolic < systolic
        )
    return bool(low <= value <= high)


def patient_stats(
    patient: Mapping[str, Any],
    *,
    days: int,
    pain_entries: Iterable[Record],
    wellbeing: Iterable[Record],
    gauges: Iterable[Record],
    vitals: Iterable[Record],
    flares: Iterable[Record] | None = None,
) -> PatientStats:
    """Statistics of one patient's records over a window of `days` days.

    `patient` needs `patient_id`, `condition`, `baseline_severity` and `timezone` (a `patient_record`,
    or a `PatientProfile` turned into a dict).
    """
    clock = LocalClock(patient["timezone"])
    st = PatientStats(patient["patient_id"], patient["condition"], patient["baseline_severity"], days)
    daily, stamped = _pain_stats(st, clock, pain_entries)
    detected_days = _flare_stats(st, clock, daily, stamped, flares)
    _wellbeing_stats(st, wellbeing, detected_days)
    _gauge_stats(st, clock, gauges)
    nightly = _vital_stats(st, clock, vitals)
    _coupling_stats(st, daily, nightly)
    return st


def _pain_stats(
    st: PatientStats, clock: LocalClock, pain_entries: Iterable[Record]
) -> tuple[dict[date, float], list[tuple[datetime, int]]]:
    """Pain: entries, the daily mean's level, spread and autocorrelation; returns the daily means and
    the entries' local times with their levels."""
    by_day: dict[date, list[int]] = defaultdict(list)
    stamped: list[tuple[datetime, int]] = []
    for entry in pain_entries:
        when = clock.local(entry["logged_at"])
        by_day[when.date()].append(entry["pain_level"])
        stamped.append((when, entry["pain_level"]))
    st.entries = len(stamped)
    daily = {d: fmean(v) for d, v in by_day.items()}
    st.pain_days = len(daily)
    if daily:
        st.pain_mean = fmean(daily.values())
        st.pain_sd = sd(list(daily.values()))
        st.pain_ac1 = lag1(daily)
    return daily, stamped


def _flare_stats(
    st: PatientStats,
    clock: LocalClock,
    daily: dict[date, float],
    stamped: list[tuple[datetime, int]],
    flares: Iterable[Record] | None,
) -> set[date]:
    """Flares seen in the pain entries (runs of high entries), and how many true flares they caught;
    returns the days with a detected flare."""
    detected_days: set[date] = set()
    flagged: list[datetime] = []
    if daily:
        threshold = median(daily.values()) + FLARE_RISE
        flagged = sorted(when for when, level in stamped if level >= threshold)
        last: datetime | None = None
        for when in flagged:
            if last is None or (when - last).total_seconds() > FLARE_GAP_HOURS * 3600:
                st.flares_detected += 1
            last = when
            detected_days.add(when.date())
    if flares is not None:
        truth = list(flares)
        st.flares_true = len(truth)
        for flare in truth:
            start, end = clock.local(flare["start"]), clock.local(flare["end"])
            if any(start <= when < end for when in flagged):
                st.flares_true_found += 1
    return detected_days


def _wellbeing_stats(st: PatientStats, wellbeing: Iterable[Record], detected_days: set[date]) -> None:
    """WHO-5: consistency of the scores, level, spread, autocorrelation, and the dip on flare days."""
    who5: dict[date, float] = {}
    for checkin in wellbeing:
        dims = checkin["dimensions"]
        raw = sum(dims[name] for name in WHO5_DIMENSIONS)
        if raw != checkin["raw_score"] or checkin["composite_score"] != 4 * checkin["raw_score"]:
            st.who5_errors += 1
        who5[date.fromisoformat(checkin["date"])] = checkin["composite_score"]
    st.wellbeing_days = len(who5)
    if who5:
        st.who5_mean = fmean(who5.values())
        st.who5_sd = sd(list(who5.values()))
        st.who5_ac1 = lag1(who5)
        flare_days = [v for d, v in who5.items() if d in detected_days]
        other_days = [v for d, v in who5.items() if d not in detected_days]
        if len(flare_days) >= 3 and len(other_days) >= 3:
            st.flare_who5_delta = fmean(flare_days) - fmean(other_days)


def _gauge_stats(st: PatientStats, clock: LocalClock, gauges: Iterable[Record]) -> None:
    """Gauges: days with one, moments and scale violations per type, each type's autocorrelation."""
    gauge_days: set[date] = set()
    gauge_series: dict[str, dict[date, float]] = defaultdict(dict)
    for gauge in gauges:
        day = clock.local_date(gauge["recorded_at"])
        gauge_days.add(day)
        kind, value = gauge["gauge_type"], gauge["value"]
        stats = st.gauges.setdefault(kind, VitalStats())
        stats.moments.add(value)
        if not gauge["scale_min"] <= value <= gauge["scale_max"]:
            st.gauge_out_of_scale += 1
            stats.out_of_range += 1
        gauge_series[kind][day] = value
    st.gauge_days = len(gauge_days)
    for kind, values in gauge_series.items():
        ac = lag1(values)
        if ac is not None:
            st.gauges[kind].ac1.append(ac)


@dataclass
class _Nightly:
    """The vitals that couple with pain, per local day (sleep in hours, HRV, the day's step total)."""

    sleep: dict[date, float] = field(default_factory=dict)
    hrv: dict[date, float] = field(default_factory=dict)
    steps: dict[date, float] = field(default_factory=dict)


def _vital_stats(st: PatientStats, clock: LocalClock, vitals: Iterable[Record]) -> _Nightly:
    """Vitals: duplicates, late arrivals, device days, moments and ranges per (metric, unit), each
    series' autocorrelation; returns the values that couple with pain."""
    device_days: dict[str, set[date]] = defaultdict(set)
    series: dict[tuple[str, str], dict[date, float]] = defaultdict(dict)
    nightly = _Nightly()
    seen: set[tuple[str, str, str, float]] = set()
    for reading in vitals:
        st.readings += 1
        fingerprint = (reading["source"], reading["metric"], reading["measured_at"], reading["value"])
        if fingerprint in seen:
            st.duplicate_readings += 1
            continue
        seen.add(fingerprint)
        measured = reading["measured_at"]
        if _hours(reading["received_at"]) - _hours(measured) > LATE_SECONDS // 3600:
            st.late_readings += 1
        day = clock.local_date(measured)
        metric, unit, value = reading["metric"], reading["unit"], reading["value"]
        device_days[reading["source"]].add(day)
        stats = st.vitals.setdefault((metric, unit), VitalStats())
        stats.moments.add(value)
        if not _in_range(reading):
            stats.out_of_range += 1
        series[(metric, unit)][day] = value
        if metric == "sleep_duration":
            nightly.sleep[day] = value * HOURS_PER_UNIT[unit]
        elif metric == "hrv_rmssd":
            nightly.hrv[day] = value
        elif metric == "steps":
            nightly.steps[day] = max(nightly.steps.get(day, 0.0), value)
    st.device_days = {source: len(d) for source, d in device_days.items()}
    for key, values in series.items():
        ac = lag1(values)
        if ac is not None:
            st.vitals[key].ac1.append(ac)
    return nightly


def _coupling_stats(st: PatientStats, daily: dict[date, float], nightly: _Nightly) -> None:
    """Pain against sleep and HRV (Pearson r over days with both), weekend against weekday steps."""
    sleep, hrv, steps = nightly.sleep, nightly.hrv, nightly.steps
    both = [d for d in sleep if d in daily]
    st.sleep_pain_r = pearson([sleep[d] for d in both], [daily[d] for d in both])
    both = [d for d in hrv if d in daily]
    st.hrv_pain_r = pearson([hrv[d] for d in both], [daily[d] for d in both])
    weekend = [v for d, v in steps.items() if d.weekday() >= 5]
    weekday = [v for d, v in steps.items() if d.weekday() < 5]
    if len(weekend) >= 4 and len(weekday) >= 4 and fmean(weekday) > 0:
        st.weekend_steps_ratio = fmean(weekend) / fmean(weekday)


@cache
def _date_ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()


def _hours(stamp: str) -> int:
    """Whole hours since year 1 of a `…Z` timestamp (late back-fills are judged to the hour)."""
    return _date_ordinal(stamp[:10]) * 24 + int(stamp[11:13])


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


@dataclass
class GroupStats:
    """Patient statistics averaged over a group of patients (a condition, or everyone)."""

    name: str
    patients: int
    pain_mean: float | None
    pain_mean_sd: float | None  # between patients
    pain_sd: float | None  # mean within-person SD
    pain_ac1: float | None
    flares_per_6_weeks: float | None  # detected in the data
    true_flares_per_6_weeks: float | None  # ground truth, when available
    flare_recall: float | None  # share of true flares with a flagged entry inside
    who5_mean: float | None
    who5_sd: float | None  # mean within-person SD of the percentage score
    who5_ac1: float | None
    sleep_pain_r: float | None
    hrv_pain_r: float | None
    flare_who5_delta: float | None
    weekend_steps_ratio: float | None
    pain_missing: float | None  # share of days without a pain entry
    wellbeing_missing: float | None
    gauge_missing: float | None
    device_missing: float | None  # per source, share of days without any reading
    late_share: float | None
    duplicate_share: float | None


def group_stats(name: str, patients: Sequence[PatientStats]) -> GroupStats:
    def per_6_weeks(counts: Iterable[tuple[int | None, int]]) -> float | None:
        rates = [c / d * 42 for c, d in counts if c is not None and d > 0]
        return fmean(rates) if rates else None

    true_total = sum(p.flares_true or 0 for p in patients)
    device = [1 - n / p.days for p in patients for n in p.device_days.values() if p.days]
    readings = sum(p.readings for p in patients)
    return GroupStats(
        name=name,
        patients=len(patients),
        pain_mean=_mean(p.pain_mean for p in patients),
        pain_mean_sd=sd([p.pain_mean for p in patients if p.pain_mean is not None]),
        pain_sd=_mean(p.pain_sd for p in patients),
        pain_ac1=_mean(p.pain_ac1 for p in patients),
        flares_per_6_weeks=per_6_weeks((p.flares_detected, p.days) for p in patients),
        true_flares_per_6_weeks=per_6_weeks((p.flares_true, p.days) for p in patients)
        if any(p.flares_true is not None for p in patients)
        else None,
        flare_recall=sum(p.flares_true_found for p in patients) / true_total if true_total else None,
        who5_mean=_mean(p.who5_mean for p in patients),
        who5_sd=_mean(p.who5_sd for p in patients),
        who5_ac1=_mean(p.who5_ac1 for p in patients),
        sleep_pain_r=_mean(p.sleep_pain_r for p in patients),
        hrv_pain_r=_mean(p.hrv_pain_r for p in patients),
        flare_who5_delta=_mean(p.flare_who5_delta for p in patients),
        weekend_steps_ratio=_mean(p.weekend_steps_ratio for p in patients),
        pain_missing=_mean(1 - p.pain_days / p.days for p in patients if p.days),
        wellbeing_missing=_mean(1 - p.wellbeing_days / p.days for p in patients if p.days),
        gauge_missing=_mean(1 - p.gauge_days / p.days for p in patients if p.days),
        device_missing=fmean(device) if device else None,
        late_share=sum(p.late_readings for p in patients) / readings if readings else None,
        duplicate_share=sum(p.duplicate_readings for p in patients) / readings if readings else None,
    )


@dataclass
class CohortStats:
    """A dataset's statistics: per condition, overall, and per vital (metric, unit)."""

    overall: GroupStats
    conditions: list[GroupStats]
    vitals: dict[tuple[str, str], VitalStats]
    gauges: dict[str, VitalStats]
    who5_errors: int
    gauge_out_of_scale: int


def _merge(total: VitalStats, part: VitalStats) -> None:
    total.moments.merge(part.moments)
    total.out_of_range += part.out_of_range
    total.ac1 += part.ac1


def cohort_stats(patients: Sequence[PatientStats]) -> CohortStats:
    by_condition: dict[str, list[PatientStats]] = defaultdict(list)
    vitals: dict[tuple[str, str], VitalStats] = {}
    gauges: dict[str, VitalStats] = {}
    for p in patients:
        by_condition[p.condition].append(p)
        for key, stats in p.vitals.items():
            _merge(vitals.setdefault(key, VitalStats()), stats)
        for kind, stats in p.gauges.items():
            _merge(gauges.setdefault(kind, VitalStats()), stats)
    return CohortStats(
        overall=group_stats("all", patients),
        conditions=[group_stats(name, group) for name, group in sorted(by_condition.items())],
        vitals=dict(sorted(vitals.items())),
        gauges=dict(sorted(gauges.items())),
        who5_errors=sum(p.who5_errors for p in patients),
        gauge_out_of_scale=sum(p.gauge_out_of_scale for p in patients),
    )
