"""Turn contract record dicts (PainEntry, WellbeingCheckin, VitalReading) into dated series.

The analysis, the charts and the PDF all read the same series, built here once, so a chart can never
disagree with the finding printed under it. Days are the patient's local calendar days (``tz``), because
"pain on Monday" and "last night's sleep" only mean something in the patient's own time zone.

Night values (sleep, HRV) are keyed to the day they *precede*: a reading measured before noon belongs to
the night that ended that morning, so it is paired with that day's pain; a reading measured after noon
(a bedtime summary or a daytime HRV spot check) is paired with the next day's pain. Either way pain on
day d is compared with the night before it — the lag of one day the analysis promises.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mock_server.timeutil import parse_iso

Record = Mapping[str, Any]

PARTS_OF_DAY = ("night", "morning", "afternoon", "evening")  # 00-06, 06-12, 12-18, 18-24 local time
NOON_HOUR = 12


@dataclass(frozen=True)
class PainPoint:
    """One pain entry, reduced to what the analysis needs."""

    at: datetime  # aware, in the patient's zone
    day: date
    level: float
    areas: tuple[str, ...]
    qualities: tuple[str, ...]


@dataclass(frozen=True)
class PatientSeries:
    """Every series the report draws on, restricted to the period."""

    period_from: date
    period_to: date
    pain: tuple[PainPoint, ...]  # sorted by time
    daily_pain: dict[date, list[float]]  # day -> levels that day, sorted by day
    who5: dict[date, float]  # day -> WHO-5 composite 0-100 (mean if several)
    self_rated_wellbeing: dict[date, float]  # day -> mean overall_wellbeing 0-5 from pain entries
    sleep_hours: dict[date, float]  # day -> hours slept the night before
    hrv_ms: dict[date, float]  # day -> RMSSD (ms) of the night before

    @property
    def days(self) -> int:
        return (self.period_to - self.period_from).days + 1

    def daily_mean_pain(self) -> dict[date, float]:
        return {day: sum(levels) / len(levels) for day, levels in self.daily_pain.items()}

    def day_index(self, day: date) -> int:
        return (day - self.period_from).days


def part_of_day(moment: datetime) -> str:
    return PARTS_OF_DAY[moment.hour // 6]


def _local(text: str, zone: ZoneInfo) -> datetime:
    return parse_iso(text).astimezone(zone)


def _night_key(moment: datetime) -> date:
    return moment.date() if moment.hour < NOON_HOUR else moment.date() + timedelta(days=1)


def _mean_by_day(values: Mapping[date, Sequence[float]]) -> dict[date, float]:
    return {day: sum(v) / len(v) for day, v in sorted(values.items()) if v}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def build_series(
    pain_entries: Iterable[Record],
    wellbeing: Iterable[Record],
    vitals: Iterable[Record],
    *,
    period_from: date,
    period_to: date,
    tz: str = "UTC",
) -> PatientSeries:
    """Collect the period's series; records outside the period or malformed numbers are skipped."""
    zone = ZoneInfo(tz)

    def in_period(day: date) -> bool:
        return period_from <= day <= period_to

    points: list[PainPoint] = []
    self_rated: dict[date, list[float]] = defaultdict(list)
    entry_sleep: dict[date, list[float]] = defaultdict(list)
    entry_hrv: dict[date, list[float]] = defaultdict(list)
    for entry in pain_entries:
        at = _local(entry["logged_at"], zone)
        level = _number(entry.get("pain_level"))
        if level is None or not in_period(at.date()):
            continue
        areas = tuple(str(a["id"]) for a in entry.get("areas") or ())
        points.append(PainPoint(at, at.date(), level, areas, tuple(entry.get("qualities") or ())))
        overall = _number(entry.get("overall_wellbeing"))
        if overall is not None:
            self_rated[at.date()].append(overall)
        metrics = (entry.get("vitals") or {}).get("metrics") or {}
        sleep, hrv = _number(metrics.get("sleep_duration")), _number(metrics.get("hrv"))
        if sleep is not None:
            entry_sleep[at.date()].append(sleep)
        if hrv is not None:
            entry_hrv[at.date()].append(hrv)
    points.sort(key=lambda p: p.at)
    daily: dict[date, list[float]] = defaultdict(list)
    for point in points:
        daily[point.day].append(point.level)

    who5: dict[date, list[float]] = defaultdict(list)
    for checkin in wellbeing:
        day = date.fromisoformat(checkin["date"])
        score = _number(checkin.get("composite_score"))
        if score is not None and in_period(day):
            who5[day].append(score)

    sleep_readings: dict[date, list[float]] = defaultdict(list)
    hrv_readings: dict[date, list[float]] = defaultdict(list)
    for reading in vitals:
        value = _number(reading.get("value"))
        metric = reading.get("metric")
        if value is None or metric not in ("sleep_duration", "hrv_rmssd"):
            continue
        night = _night_key(_local(reading["measured_at"], zone))
        if not in_period(night):
            continue
        if metric == "sleep_duration":
            sleep_readings[night].append(value / 60.0 if reading.get("unit") == "min" else value)
        else:
            hrv_readings[night].append(value)

    return PatientSeries(
        period_from=period_from,
        period_to=period_to,
        pain=tuple(points),
        daily_pain=dict(sorted(daily.items())),
        who5=_mean_by_day(who5),
        self_rated_wellbeing=_mean_by_day(self_rated),
        sleep_hours=_prefer_readings(sleep_readings, entry_sleep),
        hrv_ms=_prefer_readings(hrv_readings, entry_hrv),
    )


def _prefer_readings(
    readings: Mapping[date, Sequence[float]], from_entries: Mapping[date, Sequence[float]]
) -> dict[date, float]:
    """Device readings win; the copy a pain entry carries fills nights without a reading."""
    merged = _mean_by_day(from_entries)
    merged.update(_mean_by_day(readings))
    return dict(sorted(merged.items()))
