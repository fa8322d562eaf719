"""Device vitals (`VitalReading`): what each source measures, in its units, with its sync habits.

A patient's kit (patients.py) says which device reports which metric through which source. Each
metric has a timing and a sync delay typical of its device:

- nightly values (sleep, HRV, resting HR, Oura's temperature and SpO2) are stamped at waking and reach
  the cloud when the phone app syncs: Oura within minutes to two hours of waking, Polar within hours;
- the day's step total is stamped 23:59 local and arrives the next morning (Health Connect within
  two hours: apps write into it continuously);
- spot measurements (Withings' Wi-Fi cuff and scale, a glucose meter) arrive within minutes;
- Polar heart rate is a workout average, on the patient's workout days; Withings heart rate comes
  with each blood-pressure reading; Health Connect's is the day's average from a watch.

Units follow the source and the patient's locale: sleep in hours from Polar and Oura and in minutes
from Withings and Health Connect; weight in lb in the US; glucose in mg/dL in the US and much of
continental Europe, mmol/L elsewhere. Values never leave the contract's physiological ranges.
Messiness (messiness.py) removes readings (device not worn, data lost in a gap), delays them (gaps,
late back-fills) and duplicates some (`vt_…_d` ids: the same measurement uploaded twice).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthetic_data.patients import PatientProfile
from synthetic_data.seeding import DayDraws, FloatArray, IntArray
from synthetic_data.simulation import Simulation
from synthetic_data.timeline import DAY, Timeline

WAKE, END_OF_DAY, WORKOUT, BP, BP_PAIRED, WEIGH, GLUCOSE = range(7)
MINUTE, HOUR = 60.0, 3600.0
END_OF_DAY_S = 23 * 3600 + 59 * 60
LB_PER_KG = 2.20462
MG_DL_PER_MMOL_L = 18.016

_U = DayDraws.ucol
U_WORKOUT, U_WORKOUT_TIME = _U("workout"), _U("workout_time")
U_BP, U_BP_TIME, U_WEIGH, U_WEIGH_TIME = _U("bp_take"), _U("bp_time"), _U("weight_take"), _U("weight_time")
U_GLUCOSE_TIME = _U("glucose_time")
U_RX = _U("rx_0")  # rx_k at U_RX + 3k, then mess_k and error_k
N_READING_DRAWS = DayDraws.MAX_READINGS

# (source, timing) -> log-uniform sync delay range in seconds
DELAYS: dict[tuple[str, int], tuple[float, float]] = {
    ("polar", WAKE): (10 * MINUTE, 6 * HOUR),
    ("polar", END_OF_DAY): (6 * HOUR, 11 * HOUR),
    ("polar", WORKOUT): (5 * MINUTE, 3 * HOUR),
    ("oura", WAKE): (5 * MINUTE, 2 * HOUR),
    ("oura", END_OF_DAY): (7 * HOUR, 10 * HOUR),
    ("withings", WAKE): (10 * MINUTE, 4 * HOUR),
    ("withings", END_OF_DAY): (6 * HOUR, 10 * HOUR),
    ("withings", BP): (30.0, 5 * MINUTE),
    ("withings", BP_PAIRED): (30.0, 5 * MINUTE),
    ("withings", WEIGH): (30.0, 3 * MINUTE),
    ("health_connect", WAKE): (15 * MINUTE, 3 * HOUR),
    ("health_connect", END_OF_DAY): (5 * MINUTE, 2 * HOUR),
    ("health_connect", BP): (2 * MINUTE, 6 * HOUR),
    ("health_connect", WEIGH): (2 * MINUTE, 6 * HOUR),
    ("health_connect", GLUCOSE): (2 * MINUTE, 6 * HOUR),
}
UNITS = {
    "heart_rate": "bpm",
    "resting_heart_rate": "bpm",
    "hrv_rmssd": "ms",
    "steps": "count",
    "spo2": "%",
    "blood_pressure": "mmHg",
    "body_temperature": "Cel",
}
SPOT = frozenset({BP, BP_PAIRED, WEIGH, GLUCOSE})  # devices used on purpose: "not worn" does not apply


@dataclass(frozen=True, slots=True)
class Emitter:
    """One reading a day at most: a (source, metric, device) of the kit with its unit, timing, delay.

    Glucose meters give two emitters (fasting and evening, `variant` 0 and 1).
    """

    source: str
    metric: str
    device: str | None
    unit: str
    timing: int
    delay_lo: float
    delay_log_ratio: float
    variant: int = 0


def emitters(profile: PatientProfile) -> list[Emitter]:
    """The patient's kit as emitters, in kit order (which fixes reading order and ids within a day)."""
    habits = profile.habits
    out: list[Emitter] = []
    for source, metric, device in habits.kit:
        if metric == "sleep_duration":
            unit = "h" if source in ("polar", "oura") else "min"
        elif metric == "weight":
            unit = habits.weight_unit
        elif metric == "blood_glucose":
            unit = habits.glucose_unit
        else:
            unit = UNITS[metric]
        if metric == "steps":
            timing = END_OF_DAY
        elif metric == "heart_rate":
            timing = {"polar": WORKOUT, "withings": BP_PAIRED}.get(source, END_OF_DAY)
        elif metric == "blood_pressure":
            timing = BP
        elif metric == "weight":
            timing = WEIGH
        elif metric == "blood_glucose":
            timing = GLUCOSE
        else:
            timing = WAKE
        lo, hi = DELAYS[(source, timing)]
        for variant in (0, 1) if timing == GLUCOSE else (0,):
            out.append(Emitter(source, metric, device, unit, timing, lo, math.log(hi / lo), variant))
    return out


@dataclass(frozen=True, slots=True)
class VitalColumns:
    """A window's readings as columns, in the order of the API's records (time order within a day).

    `emitter[i]` indexes `emitters` (source, metric, unit, device of row i); `measured`/`received`
    are run seconds (since the run's day 0 00:00 UTC, which is `origin` in Unix seconds; `timeline`
    turns them into RFC 3339 text). Parquet writes these straight into Arrow arrays, NDJSON formats
    lines from them, and `build_vitals` turns them into `VitalReading` dicts.
    """

    timeline: Timeline
    origin: int
    emitters: list[Emitter]
    emitter: IntArray
    ids: list[str]
    value: list[float | int]
    systolic: list[int | None]
    diastolic: list[int | None]
    measured: IntArray
    received: IntArray

    def __len__(self) -> int:
        return len(self.ids)


def _round1(x: FloatArray) -> FloatArray:
    return np.floor(x * 10 + 0.5) / 10


def _round2(x: FloatArray) -> FloatArray:
    return np.floor(x * 100 + 0.5) / 100


def _int(x: FloatArray) -> IntArray:
    return np.floor(x + 0.5).astype(np.int64)


_SUFFIX = [f"_{n:02d}" for n in range(100)]

# Each device's error around the true value, as (additive, multiplicative) half-widths of a uniform
# error: two step counters or two sleep trackers of one patient never agree exactly.
DEVICE_ERROR: dict[str, tuple[float, float]] = {
    "resting_heart_rate": (1.5, 0.0),
    "hrv_rmssd": (0.0, 0.08),
    "sleep_duration": (0.25, 0.0),  # hours
    "steps": (0.0, 0.06),
    "body_temperature": (0.08, 0.0),
    "spo2": (0.5, 0.0),
    "heart_rate": (2.0, 0.0),
    "blood_pressure": (3.0, 0.0),
    "weight": (0.15, 0.0),  # kg
    "blood_glucose": (0.0, 0.05),
}


def _measure(e: Emitter, true: FloatArray, error: FloatArray) -> FloatArray | IntArray:
    """A device's readings of `true` values: its error (`error` in [-1, 1]), units, rounding, range."""
    add, mult = DEVICE_ERROR[e.metric]
    x = true * (1.0 + mult * error) + add * error
    metric, unit = e.metric, e.unit
    if metric in ("resting_heart_rate", "hrv_rmssd", "heart_rate"):
        return _int(x)
    if metric == "sleep_duration":
        x = np.maximum(x, 0.0)
        return _round2(x) if unit == "h" else _int(x * 60)
    if metric == "steps":
        return np.maximum(x, 0.0).astype(np.int64)
    if metric == "body_temperature":
        return _round2(x)
    if metric == "spo2":
        x = np.minimum(x, 100.0)
        return _round1(x) if e.source == "oura" else _int(x)
    if metric == "blood_pressure":
        return np.clip(_int(x), 80, 230)
    if metric == "weight":
        return _round1(x * LB_PER_KG) if unit == "lb" else _round1(x)
    mg = np.clip(x, 45.0, 450.0)  # blood_glucose
    return _int(mg) if unit == "mg/dL" else _round1(mg / MG_DL_PER_MMOL_L)


def vital_columns(sim: Simulation, first_day: int, last_day: int) -> VitalColumns | None:
    """Readings of days [first_day, last_day) (by measurement day) as columns, each day's in time
    order; None when the patient's kit reports nothing in the window."""
    profile, lat, r = sim.profile, sim.latent, sim.rates
    habits, body = profile.habits, profile.body
    ems = emitters(profile)
    if not ems:
        return None
    a, b = first_day, last_day
    m = b - a
    u = sim.u[a:b]
    wake = lat.wake_s[a:b]
    day_start = sim.day_start[a:b]
    bp_taken = u[:, U_BP] < habits.bp_rate
    bp_t = wake + 1200 + u[:, U_BP_TIME] * 2400
    late_p, dup_p = r.late, r.duplicate
    count = np.zeros(m, dtype=np.int64)
    prefixes = sim.id_prefixes("vt", a, b)
    ids_all: list[str] = []
    values_all: list[float | int] = []
    systolic_all: list[int | None] = []
    diastolic_all: list[int | None] = []
    keys_emitter: list[IntArray] = []
    keys_received: list[IntArray] = []
    keys_day: list[IntArray] = []
    keys_measured: list[IntArray] = []
    keys_n: list[IntArray] = []
    keys_copy: list[IntArray] = []

    for emitter_index, e in enumerate(ems):
        days = sim.sources[e.source]
        ok = ~days.lost[a:b]
        if e.timing not in SPOT:
            ok = ok & days.worn[a:b]
        metric = e.metric
        t: FloatArray | IntArray = wake
        systolic_l: list[int | None] | None = None
        diastolic_l: list[int | None] | None = None
        raw: FloatArray  # the true value on each day, before this device's error and rounding
        if metric == "resting_heart_rate":
            raw = lat.resting_hr[a:b]
        elif metric == "hrv_rmssd":
            raw = lat.hrv_ms[a:b]
        elif metric == "sleep_duration":
            raw = lat.sleep_h[a:b]
        elif metric == "steps":
            t, raw = np.full(m, END_OF_DAY_S), lat.steps[a:b]
        elif metric == "body_temperature":
            t, raw = wake + 60, lat.temperature[a:b]
        elif metric == "spo2":
            t, raw = wake + 60, lat.spo2[a:b]
        elif metric == "heart_rate":
            if e.timing == WORKOUT:
                ok = ok & (u[:, U_WORKOUT] < body.workouts_per_week / 7.0)
                t, raw = 17 * HOUR + u[:, U_WORKOUT_TIME] * 3 * HOUR, lat.workout_hr[a:b]
            elif e.timing == BP_PAIRED:
                ok = ok & bp_taken
                t, raw = bp_t, lat.spot_hr[a:b]
            else:
                t, raw = np.full(m, END_OF_DAY_S), lat.daily_hr[a:b]
        elif metric == "blood_pressure":
            ok = ok & bp_taken
            t, raw = bp_t, lat.systolic[a:b]
        elif metric == "weight":
            ok = ok & (u[:, U_WEIGH] < habits.weigh_rate)
            t, raw = wake + 600 + u[:, U_WEIGH_TIME] * 1800, lat.weight_kg[a:b]
        elif e.variant == 0:  # blood_glucose, fasting
            t, raw = wake + 900, lat.glucose_fasting[a:b]
        else:  # blood_glucose, after dinner
            t, raw = 20.5 * HOUR + u[:, U_GLUCOSE_TIME] * HOUR, lat.glucose_evening[a:b]

        idx = np.flatnonzero(ok)
        if idx.size == 0:
            continue
        n = count[idx]
        count[idx] += 1
        col = U_RX + 3 * (n % N_READING_DRAWS)
        rx, mess, error = u[idx, col], u[idx, col + 1], 2.0 * u[idx, col + 2] - 1.0
        value = _measure(e, raw[idx], error)
        if metric == "blood_pressure":
            systolic = value.astype(np.int64)
            diastolic = np.minimum(
                systolic - 20, np.clip(_int(lat.diastolic[a:b][idx] + 2.0 * error), 45, 130)
            )
            systolic_l, diastolic_l = systolic.tolist(), diastolic.tolist()
        measured = day_start[idx] + np.asarray(t, dtype=np.float64)[idx].astype(np.int64)
        received = measured + (e.delay_lo * np.exp(rx * e.delay_log_ratio)).astype(np.int64)
        arrives = days.arrives_day[a:b][idx]
        gap = arrives >= 0
        if gap.any():  # inside a sync gap: the backlog arrives when syncing resumes
            # (the patient's usual waking time: the actual one of a later day may not be simulated yet)
            target = np.where(gap, arrives, 0)
            backlog = sim.day_start[target] + body.wake_minute * 60 + 300 + (rx * 3300).astype(np.int64)
            received = np.where(gap, np.maximum(received, backlog), received)
        late = mess < late_p
        dup = ~late & (mess < late_p + dup_p)
        if late_p > 0:  # a late back-fill, 1-5 days after the fact
            received = received + late * DAY * (1 + (mess / late_p * 5).astype(np.int64))
        dup_received = received + 300
        if dup_p > 0:
            dup_received = dup_received + (np.clip(mess - late_p, 0, None) / dup_p * 6 * HOUR).astype(
                np.int64
            )

        ids = [prefixes[d] + _SUFFIX[k] for d, k in zip(idx.tolist(), n.tolist(), strict=True)]
        values = value.tolist()
        size = idx.size
        nones: list[int | None] = [None] * size
        ids_all += ids
        values_all += values
        systolic_all += nones if systolic_l is None else systolic_l
        diastolic_all += nones if diastolic_l is None else diastolic_l
        keys_emitter.append(np.full(size, emitter_index, dtype=np.int64))
        keys_received.append(received)
        keys_day.append(idx)
        keys_measured.append(measured)
        keys_n.append(n)
        keys_copy.append(np.zeros(size, dtype=np.int64))
        dups = np.flatnonzero(dup)
        if dups.size:  # the same measurement uploaded again, under a new id, a little later
            picked = dups.tolist()
            ids_all += [ids[j] + "_d" for j in picked]
            values_all += [values[j] for j in picked]
            systolic_all += [None] * dups.size if systolic_l is None else [systolic_l[j] for j in picked]
            diastolic_all += [None] * dups.size if diastolic_l is None else [diastolic_l[j] for j in picked]
            keys_emitter.append(np.full(dups.size, emitter_index, dtype=np.int64))
            keys_received.append(dup_received[dups])
            keys_day.append(idx[dups])
            keys_measured.append(measured[dups])
            keys_n.append(n[dups])
            keys_copy.append(np.ones(dups.size, dtype=np.int64))

    if not ids_all:
        return None
    order = np.lexsort(
        (
            np.concatenate(keys_copy),
            np.concatenate(keys_n),
            np.concatenate(keys_measured),
            np.concatenate(keys_day),
        )
    )
    picks = order.tolist()
    return VitalColumns(
        timeline=sim.timeline,
        origin=calendar.timegm(sim.timeline.start.timetuple()),
        emitters=ems,
        emitter=np.concatenate(keys_emitter)[order],
        ids=[ids_all[i] for i in picks],
        value=[values_all[i] for i in picks],
        systolic=[systolic_all[i] for i in picks],
        diastolic=[diastolic_all[i] for i in picks],
        measured=np.concatenate(keys_measured)[order],
        received=np.concatenate(keys_received)[order],
    )


def build_vitals(sim: Simulation, first_day: int, last_day: int) -> list[dict[str, Any]]:
    """Readings of days [first_day, last_day) (by measurement day), each day's in time order, as
    `VitalReading` dicts (the API's shape; the Parquet exporter takes `vital_columns` instead)."""
    columns = vital_columns(sim, first_day, last_day)
    if columns is None:
        return []
    iso_many = sim.timeline.iso_many
    kinds = [(e.source, e.metric, e.unit, e.device) for e in columns.emitters]
    out: list[dict[str, Any]] = []
    append = out.append
    rows = zip(
        columns.ids,
        columns.emitter.tolist(),
        columns.value,
        iso_many(columns.measured),
        iso_many(columns.received),
        columns.systolic,
        columns.diastolic,
        strict=True,
    )
    for id_, k, v, m_, r_, sys_, dia in rows:
        source, metric, unit, device = kinds[k]
        record = {
            "id": id_,
            "source": source,
            "metric": metric,
            "value": v,
            "unit": unit,
            "measured_at": m_,
            "received_at": r_,
            "device": device,
        }
        if sys_ is not None:
            record["components"] = {"systolic": sys_, "diastolic": dia}
        append(record)
    return out
