"""One patient's coupled time series: pain entries, WHO-5 wellbeing, gauges, device vitals.

The model (DESIGN.md "Data realism"): daily pain = per-patient baseline + AR(1) deviation (within-person
SD ≈ 1.6) + flares (≈ +2.7 NRS, hours to days, at the condition's rate) + the previous night's sleep
deficit (short sleep → more pain) + a per-condition time-of-day phase, clipped to 0-10. HRV falls on
short nights and high-pain days; WHO-5 falls with pain and poor sleep; steps rise at weekends and
fall on bad days. ``messiness`` adds missed days, sync gaps, late back-fills and duplicate uploads.

Prefix stability: every random draw comes from a stream keyed by (patient seed, purpose) for whole-run
vectors, or by (patient seed, purpose, day) for a day's details, so generating days ``0..N`` and then
``N..N+k`` yields exactly the records of generating ``0..N+k`` at once. The sandbox's test clock
relies on it; so do ``--shard`` and ``--workers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from synthetic_data.patients import CONDITIONS, PatientProfile

GAUGE_SCALES: dict[str, tuple[int, int]] = {
    "mood": (1, 10),
    "anxiety": (1, 10),
    "energy": (1, 10),
    "sleep_quality": (1, 10),
    "pain": (0, 10),
    "medication_adherence": (0, 100),
    "social_interaction": (1, 10),
}
WHO5_ITEMS = ("cheerful", "calm", "active", "rested", "interested")
SLEEP_PAIN_COUPLING = 0.55  # NRS points per hour of sleep below the patient's norm (previous night)


@dataclass
class PatientSeries:
    pain_entries: list[dict[str, Any]] = field(default_factory=list)
    wellbeing: list[dict[str, Any]] = field(default_factory=list)
    gauges: list[dict[str, Any]] = field(default_factory=list)
    vitals: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DailyState:
    """The latent daily values behind the observable records (exposed for tests and `describe`)."""

    pain_mean: np.ndarray
    flare: np.ndarray
    sleep_hours: np.ndarray
    hrv: np.ndarray
    resting_hr: np.ndarray
    steps: np.ndarray


def _stream(profile: PatientProfile, purpose: int, *extra: int) -> np.random.Generator:
    return np.random.default_rng([profile.seed % (2**63), purpose, *extra])


def daily_state(profile: PatientProfile, start: date, total_days: int) -> DailyState:
    """Latent values for days ``0..total_days``; the first N values never depend on ``total_days``."""
    cond = CONDITIONS[profile.condition]
    n = total_days
    noise = _stream(profile, 1).standard_normal(n)
    sleep_noise = _stream(profile, 2).standard_normal(n)
    flare_draw = _stream(profile, 3).random(n)
    flare_len = _stream(profile, 4).uniform(0.3, 3.0, n)  # days
    hrv_noise = _stream(profile, 5).standard_normal(n)
    step_noise = _stream(profile, 6).standard_normal(n)

    sleep = np.clip(profile.sleep_hours + 0.8 * sleep_noise, 3.0, 11.0)
    flare = np.zeros(n)
    rate = cond.flares_per_6_weeks / 42.0
    for day in np.nonzero(flare_draw < rate)[0]:
        span = int(np.ceil(flare_len[day]))
        for k in range(span):
            if day + k < n:
                flare[day + k] = max(flare[day + k], cond.flare_size * (1.0 - k / (span + 1.0)))
    innovation = profile.pain_sd * np.sqrt(1 - profile.ar1**2)
    deviation = np.empty(n)
    previous = 0.0
    for day_index in range(n):  # the AR(1) recursion is sequential by nature
        previous = profile.ar1 * previous + innovation * noise[day_index]
        deviation[day_index] = previous
    prev_sleep = np.concatenate(([profile.sleep_hours], sleep[:-1]))
    deficit = profile.sleep_hours - prev_sleep
    pain = np.clip(profile.baseline_pain + deviation + flare + SLEEP_PAIN_COUPLING * deficit, 0.0, 10.0)
    hrv = np.clip(
        profile.hrv * (1 + 0.06 * (prev_sleep - profile.sleep_hours))
        - 1.5 * (pain - profile.baseline_pain)
        + 4.0 * hrv_noise,
        8.0,
        200.0,
    )
    rhr = np.clip(
        profile.resting_hr + 0.8 * (pain - profile.baseline_pain) + 2.0 * hrv_noise * -0.5, 38.0, 110.0
    )
    weekday = np.array([(start + timedelta(days=int(d))).weekday() for d in range(n)])
    weekend = np.where(weekday >= 5, 1.15, 1.0)
    steps = np.clip(
        profile.steps * weekend * (1 - 0.05 * (pain - profile.baseline_pain)) * np.exp(0.25 * step_noise),
        300,
        40000,
    )
    return DailyState(pain, flare, sleep, hrv, rhr, steps)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _utc(day: date, hour: float, zone: ZoneInfo) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(seconds=int(hour * 3600))
    return local.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pain_entries(
    profile: PatientProfile,
    day: date,
    index: int,
    level: float,
    state: DailyState,
    messiness: float,
    zone: ZoneInfo,
) -> list[dict[str, Any]]:
    cond = CONDITIONS[profile.condition]
    rng = _stream(profile, 100, index)
    if rng.random() < 0.04 + 0.2 * messiness:  # a missed day
        return []
    count = max(1, int(rng.poisson(profile.checkins_per_day)))
    hours = np.sort(rng.uniform(7.0, 22.5, count))
    entries = []
    for n, hour in enumerate(hours):
        phase = cond.diurnal_amplitude * np.cos((hour - cond.peak_hour) / 24.0 * 2 * np.pi)
        pain_level = int(np.clip(np.rint(level + phase + rng.normal(0, 0.5)), 0, 10))
        n_areas = int(rng.integers(1, min(4, len(cond.areas)) + 1))
        areas = rng.choice(len(cond.areas), size=n_areas, replace=False)
        n_qual = int(rng.integers(1, 4))
        qualities = rng.choice(len(cond.qualities), size=n_qual, replace=False)
        wellbeing = float(np.clip(np.round(5 - pain_level / 2.2 + rng.normal(0, 0.4), 1), 0, 5))
        vitals = None
        if profile.sources:
            source = profile.sources[0]
            metrics: dict[str, Any] = {"sleep_duration": round(float(state.sleep_hours[index]), 1)}
            if source in ("polar", "oura"):
                metrics["hrv"] = round(float(state.hrv[index]))
                metrics["resting_heart_rate"] = round(float(state.resting_hr[index]))
            else:
                metrics["steps"] = int(state.steps[max(index - 1, 0)])
            vitals = {"source": source, "metrics": metrics}
        entries.append(
            {
                "id": f"pe_{profile.patient_key}_{index}_{n}",
                "pain_level": pain_level,
                "areas": [
                    {"id": cond.areas[a], "max_intensity": max(0, pain_level - int(rng.integers(0, 2)))}
                    for a in sorted(areas)
                ],
                "qualities": [cond.qualities[q] for q in sorted(qualities)],
                "overall_wellbeing": wellbeing,
                "vitals": vitals,
                "notes": None,
                "logged_at": _iso(_utc(day, float(hour), zone)),
            }
        )
    return entries


def _wellbeing(
    profile: PatientProfile, day: date, index: int, state: DailyState, messiness: float, zone: ZoneInfo
) -> list[dict[str, Any]]:
    rng = _stream(profile, 200, index)
    if rng.random() < 0.08 + 0.2 * messiness:
        return []
    centre = 3.2 - 0.32 * (state.pain_mean[index] - 5.0) + 0.3 * (state.sleep_hours[index] - 7.0)
    items = {name: int(np.clip(np.rint(centre + rng.normal(0, 0.7)), 0, 5)) for name in WHO5_ITEMS}
    raw = sum(items.values())
    moment = _utc(day, float(rng.uniform(19.5, 22.5)), zone)
    return [
        {
            "id": f"wb_{profile.patient_key}_{index}",
            "date": day.isoformat(),
            "completed_at": _iso(moment),
            "raw_score": raw,
            "composite_score": raw * 4,
            "dimensions": items,
        }
    ]


def _gauges(
    profile: PatientProfile, day: date, index: int, state: DailyState, zone: ZoneInfo
) -> list[dict[str, Any]]:
    rng = _stream(profile, 300, index)
    kinds = sorted(rng.choice(list(GAUGE_SCALES), size=int(rng.integers(2, 4)), replace=False).tolist())
    pain = state.pain_mean[index]
    centre = {
        "mood": 7.5 - 0.5 * pain,
        "anxiety": 2.5 + 0.45 * pain,
        "energy": 7.5 - 0.45 * pain,
        "sleep_quality": 2.0 + (state.sleep_hours[index] - 4.0) * 1.1,
        "pain": pain,
        "medication_adherence": 88.0,
        "social_interaction": 7.0 - 0.35 * pain,
    }
    moment = _iso(_utc(day, float(rng.uniform(18.0, 22.0)), zone))
    out = []
    for kind in kinds:
        low, high = GAUGE_SCALES[kind]
        spread = 8.0 if kind == "medication_adherence" else 1.0
        value = int(np.clip(np.rint(centre[kind] + rng.normal(0, spread)), low, high))
        out.append(
            {
                "id": f"ga_{profile.patient_key}_{index}_{kind}",
                "patient_id": f"p2c_anon_{profile.patient_key}",
                "gauge_type": kind,
                "value": value,
                "scale_min": low,
                "scale_max": high,
                "recorded_at": moment,
                "notes": None,
                "created_at": moment,
            }
        )
    return out


_DEVICES = {
    "polar": "Polar Vantage V3",
    "oura": "Oura Ring Gen3",
    "withings": "Withings ScanWatch 2",
    "health_connect": "Health Connect",
}


def _vitals(
    profile: PatientProfile, day: date, index: int, state: DailyState, messiness: float, zone: ZoneInfo
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for source in profile.sources:
        rng = _stream(profile, 400 + ("polar", "withings", "oura", "health_connect").index(source), index)
        if rng.random() < 0.03 + 0.15 * messiness:  # a sync gap: nothing from this source today
            continue
        readings: list[tuple[str, float, str, float, dict[str, int] | None]] = []
        sleep = float(state.sleep_hours[index])
        if source in ("polar", "oura"):
            readings += [
                ("resting_heart_rate", round(float(state.resting_hr[index])), "bpm", 7.2, None),
                ("hrv_rmssd", round(float(state.hrv[index]), 1), "ms", 7.1, None),
                ("sleep_duration", round(sleep, 2), "h", 7.0, None),
            ]
        if source in ("withings", "health_connect"):
            readings.append(("sleep_duration", round(sleep * 60), "min", 7.0, None))
        readings.append(("steps", int(state.steps[index]), "count", 23.9, None))
        if source in ("polar", "withings", "health_connect"):
            readings.append(
                (
                    "heart_rate",
                    round(float(state.resting_hr[index] + rng.uniform(5, 30))),
                    "bpm",
                    float(rng.uniform(9, 20)),
                    None,
                )
            )
        if source == "oura":
            readings += [
                ("body_temperature", round(float(36.5 + rng.normal(0, 0.25)), 2), "Cel", 7.0, None),
                ("spo2", round(float(np.clip(rng.normal(97, 1.0), 92, 100)), 1), "%", 7.0, None),
            ]
        if source in ("withings", "health_connect") and rng.random() < 0.5:
            systolic = int(np.clip(np.rint(profile.systolic + rng.normal(0, 7)), 90, 200))
            diastolic = int(np.clip(np.rint(systolic * 0.63 + rng.normal(0, 4)), 55, systolic - 20))
            readings.append(
                ("blood_pressure", systolic, "mmHg", 7.5, {"systolic": systolic, "diastolic": diastolic})
            )
        if source in ("withings", "health_connect") and rng.random() < 0.3:
            readings.append(
                ("weight", round(profile.weight_kg + float(rng.normal(0, 0.4)), 1), "kg", 7.3, None)
            )
        if source == "health_connect" and profile.diabetic:
            readings.append(
                ("blood_glucose", round(float(np.clip(rng.normal(135, 25), 70, 300))), "mg/dL", 8.0, None)
            )
        for n, (metric, value, unit, hour, components) in enumerate(readings):
            measured = _utc(day, hour, zone)
            delay = timedelta(minutes=float(rng.uniform(1, 90)))
            if rng.random() < 0.1 * messiness:  # a late back-fill, days after the fact
                delay = timedelta(days=float(rng.uniform(1, 4)))
            record: dict[str, Any] = {
                "id": f"vt_{profile.patient_key}_{index}_{source}_{n}",
                "source": source,
                "metric": metric,
                "value": value,
                "unit": unit,
                "measured_at": _iso(measured),
                "received_at": _iso(measured + delay),
                "device": _DEVICES[source],
            }
            if components is not None:
                record["components"] = components
            out.append(record)
            if rng.random() < 0.03 * messiness:  # a duplicate upload of the same measurement
                out.append({**record, "id": f"{record['id']}_dup", "received_at": _iso(measured + delay * 2)})
    return out


def generate_days(
    profile: PatientProfile, start: date, first_day: int, n_days: int, messiness: float = 0.3
) -> PatientSeries:
    """Records of days ``[start + first_day, start + first_day + n_days)`` in the API's shapes."""
    if not 0.0 <= messiness <= 1.0:
        raise ValueError("messiness must be between 0 and 1")
    state = daily_state(profile, start, first_day + n_days)
    zone = _zone(profile.timezone)
    series = PatientSeries()
    for index in range(first_day, first_day + n_days):
        day = start + timedelta(days=index)
        series.pain_entries += _pain_entries(
            profile, day, index, float(state.pain_mean[index]), state, messiness, zone
        )
        series.wellbeing += _wellbeing(profile, day, index, state, messiness, zone)
        series.gauges += _gauges(profile, day, index, state, zone)
        series.vitals += _vitals(profile, day, index, state, messiness, zone)
    return series
