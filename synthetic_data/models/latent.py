"""The daily latent state of one patient: what their body did, before anyone recorded it.

Series are coupled the way real ones are, in causal order within a day:

    flares(d-1) ─► sleep(d) ─► HRV(d) ─► resting HR(d)
                      │           │
                      ▼           ▼
    AR(1) noise ──► pain(d) ◄── flares(d) ──► steps(d), mood(d) ──► WHO-5, gauges

- *sleep* (the night ending on the morning of day d): the patient's mean, +0.45 h at weekends, AR(1)
  noise, and less after a day with a flare;
- *HRV* (RMSSD, overnight): its own AR(1) noise plus the night's sleep; *resting HR* moves against it;
- *pain*: baseline + AR(1) (Harris 2005 within-person SD) + short-sleep and low-HRV penalties (they
  precede the day's pain: Watson 2015, the AASM advisory) + flares + a time-of-day phase per entry;
- *steps*: weekday/Saturday/Sunday factors per person (working-age people walk less on Sundays), lower
  on painful and flare days (Paluch 2022 quartile medians for the level);
- *mood* (WHO-5 scale 0-25): the patient's usual score, AR(1), lower with pain and flares, higher after
  good sleep.

Arrays cover days 0..n-1 and day d depends only on draws of days <= d, so the first N days never change
when more days are simulated. AR recursions run in plain Python: exact and order-stable, where a numpy
convolution could sum in a different order for a different length.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from synthetic_data.models import clamp
from synthetic_data.models.flares import Flare, daily_flare_load, draw_flares
from synthetic_data.patients import PatientProfile
from synthetic_data.seeding import DayDraws, FloatArray, IntArray, stream

WEEKEND_SLEEP_BONUS_H = 0.45
WEEKEND_WAKE_DELAY_S = 2700


def ar1(noise: FloatArray, phi: float, sd: float, init: float) -> FloatArray:
    """Stationary AR(1) with SD `sd` driven by standard-normal `noise`; `init` ~ N(0, 1) seeds x[-1]."""
    scale = sd * math.sqrt(1.0 - phi * phi)
    x = init * sd
    out = [x := phi * x + scale * e for e in noise.tolist()]  # a comprehension: no append call
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Latent:
    """Latent daily values for days 0..n_days-1, one numpy array per variable."""

    n_days: int
    weekday: IntArray
    flares: list[Flare]
    flare_load: FloatArray  # mean NRS added by flares over the day's waking hours
    sleep_h: FloatArray
    hrv_z: FloatArray  # HRV deviation in the patient's own SDs (negative = worse)
    hrv_ms: FloatArray
    resting_hr: FloatArray
    steps: FloatArray
    pain_base: FloatArray  # daily pain before flares and time of day
    daily_pain: FloatArray  # pain_base + flare_load: the day's mean over waking hours, unrounded
    mood: FloatArray  # WHO-5 raw-score scale, 0-25
    systolic: FloatArray
    diastolic: FloatArray
    weight_kg: FloatArray
    glucose_fasting: FloatArray  # mg/dL
    glucose_evening: FloatArray
    spo2: FloatArray
    temperature: FloatArray
    workout_hr: FloatArray
    spot_hr: FloatArray
    daily_hr: FloatArray
    wake_s: IntArray  # local seconds after midnight


def simulate(profile: PatientProfile, draws: DayDraws, weekday: IntArray) -> Latent:
    """Run the coupled daily model for `draws.n_days` days (in causal order; see the module doc)."""
    n = draws.n_days
    init = stream(profile.seed, "ar-init")  # AR(1) starting states, drawn in this order: keep it
    flares = draw_flares(profile.pain, draws)
    load = np.asarray(daily_flare_load(flares, n))
    load_prev = np.concatenate(([0.0], load[:-1]))
    weekend = (weekday >= 5).astype(np.float64)
    night = _night(profile, draws, init, weekend, load_prev)
    pain_base = (
        profile.pain.baseline
        + ar1(draws.z("pain"), profile.pain.phi, profile.pain.sd, init.gauss(0, 1))
        + profile.pain.sleep_coupling * (profile.body.sleep_hours - night.sleep)
        - profile.pain.hrv_coupling * night.hrv_z
    )
    day = _day(profile, draws, init, weekday, load, pain_base - profile.pain.baseline, night.sleep)
    spot = _spot(profile, draws, init, load, pain_base - profile.pain.baseline, night.resting_hr)
    wake = clamp(
        profile.body.wake_minute * 60 + WEEKEND_WAKE_DELAY_S * weekend + 1500.0 * draws.z("wake"),
        4.5 * 3600,
        11 * 3600,
    )
    return Latent(
        n_days=n,
        weekday=weekday,
        flares=flares,
        flare_load=load,
        sleep_h=night.sleep,
        hrv_z=night.hrv_z,
        hrv_ms=night.hrv_ms,
        resting_hr=night.resting_hr,
        steps=day.steps,
        pain_base=pain_base,
        daily_pain=pain_base + load,
        mood=day.mood,
        systolic=spot.systolic,
        diastolic=spot.diastolic,
        weight_kg=spot.weight,
        glucose_fasting=spot.glucose_fasting,
        glucose_evening=spot.glucose_evening,
        spo2=spot.spo2,
        temperature=spot.temperature,
        workout_hr=spot.workout_hr,
        spot_hr=spot.spot_hr,
        daily_hr=spot.daily_hr,
        wake_s=wake.astype(np.int64),
    )


@dataclass(frozen=True, slots=True)
class _Night:
    sleep: FloatArray
    hrv_z: FloatArray
    hrv_ms: FloatArray
    resting_hr: FloatArray


def _night(
    profile: PatientProfile, draws: DayDraws, init: random.Random, weekend: FloatArray, load_prev: FloatArray
) -> _Night:
    """Sleep, then HRV (its own noise plus the night's sleep), then resting HR against HRV."""
    body = profile.body
    sleep = (
        body.sleep_hours
        + WEEKEND_SLEEP_BONUS_H * weekend
        + ar1(draws.z("sleep"), 0.25, body.sleep_sd, init.gauss(0, 1))
        - 0.35 * load_prev
    )
    sleep = clamp(sleep, 2.5, 12.5)
    sleep_dev = (sleep - body.sleep_hours) / body.sleep_sd
    hrv_z = 0.8 * ar1(draws.z("hrv"), 0.4, 1.0, init.gauss(0, 1)) + 0.45 * sleep_dev - 0.25 * load_prev
    hrv_ms = clamp(body.hrv_rmssd * np.exp(0.2 * hrv_z), 5.0, 250.0)
    resting_hr = clamp(body.resting_hr - 1.6 * hrv_z + 1.0 * draws.z("rhr") + 0.5 * load_prev, 35.0, 115.0)
    return _Night(sleep, hrv_z, hrv_ms, resting_hr)


@dataclass(frozen=True, slots=True)
class _Day:
    steps: FloatArray
    mood: FloatArray


def _day(
    profile: PatientProfile,
    draws: DayDraws,
    init: random.Random,
    weekday: IntArray,
    load: FloatArray,
    excess: FloatArray,
    sleep: FloatArray,
) -> _Day:
    """Steps (weekday/Saturday/Sunday factors, fewer on painful and flare days) and mood (WHO-5)."""
    body = profile.body
    day_factor = np.where(weekday == 5, body.saturday_factor, np.where(weekday == 6, body.sunday_factor, 1.0))
    steps = (
        body.steps
        * day_factor
        * np.exp(0.28 * ar1(draws.z("steps"), 0.3, 1.0, init.gauss(0, 1)) - 0.07 * excess - 0.12 * load)
    )
    steps = clamp(steps, 0.0, 60_000.0)
    mood = (
        profile.habits.who5_baseline
        + ar1(draws.z("mood"), 0.5, 2.0, init.gauss(0, 1))
        - 1.1 * excess
        - 1.2 * load
        + 0.9 * (sleep - body.sleep_hours)
    )
    return _Day(steps, mood)


@dataclass(frozen=True, slots=True)
class _Spot:
    systolic: FloatArray
    diastolic: FloatArray
    weight: FloatArray
    glucose_fasting: FloatArray
    glucose_evening: FloatArray
    spo2: FloatArray
    temperature: FloatArray
    workout_hr: FloatArray
    spot_hr: FloatArray
    daily_hr: FloatArray


def _spot(
    profile: PatientProfile,
    draws: DayDraws,
    init: random.Random,
    load: FloatArray,
    excess: FloatArray,
    resting_hr: FloatArray,
) -> _Spot:
    """The values spot devices and watches measure: blood pressure, weight, glucose, SpO2, temperature
    (with the luteal-phase rise), and heart rate in a workout, at a spot check and over the day."""
    body = profile.body
    n = draws.n_days
    systolic = body.systolic + 5.0 * draws.z("bp_sys") + 0.8 * load + 0.5 * excess
    diastolic = body.diastolic + 3.5 * draws.z("bp_dia") + 0.4 * (systolic - body.systolic)
    weight = body.weight_kg + ar1(draws.z("weight"), 0.97, 1.0, init.gauss(0, 1))
    glucose_scale = 0.12 if body.diabetic else 0.06
    glucose_f = body.glucose_mg_dl * (1 + glucose_scale * draws.z("glucose_0"))
    glucose_e = body.glucose_mg_dl * (1.25 + 1.2 * glucose_scale * draws.z("glucose_1"))
    spo2 = clamp(body.spo2 + 0.8 * draws.z("spo2"), 88.0, 100.0)

    temperature = body.temperature + 0.12 * draws.z("temperature")
    if profile.sex == "female" and profile.age < 50:  # the luteal-phase rise rings and watches see
        cycle = init.randint(26, 31)
        phase = init.randrange(cycle)
        temperature = temperature + 0.3 * (((np.arange(n) + phase) % cycle) >= cycle // 2)

    hr_max = 208.0 - 0.7 * profile.age  # Tanaka 2001
    workout_hr = clamp(resting_hr + (0.55 + 0.08 * draws.z("hr_workout")) * (hr_max - resting_hr), 80, 195)
    spot_hr = clamp(resting_hr + 5.0 + 4.0 * draws.z("hr"), 40, 140)
    daily_hr = clamp(resting_hr + 14.0 + 3.0 * draws.z("hr"), 45, 130)
    return _Spot(
        systolic, diastolic, weight, glucose_f, glucose_e, spo2, temperature, workout_hr, spot_hr, daily_hr
    )
