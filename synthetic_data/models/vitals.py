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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synthetic_data.models import clamp
from synthetic_data.models.latent import Latent
from synthetic_data.patients import PatientProfile
from synthetic_data.seeding import BoolArray, DayDraws, FloatArray, IntArray
from synthetic_data.simulation import Ids, Simulation
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
    ids: Ids
    value: FloatArray  # every value as float64 (exact for the integer metrics too)
    integral: BoolArray  # the row's metric is an integer one (its JSON value is an int)
    systolic: IntArray  # blood pressure's components; -1 on other rows
    diastolic: IntArray
    measured: IntArray
    received: IntArray

    def __len__(self) -> int:
        return len(self.ids)

    def values(self) -> list[float | int]:
        """The values as the API writes them: ints for integer metrics, floats for the others."""
        held = self.value.astype(object)
        if self.integral.any():
            held[self.integral] = self.value[self.integral].astype(np.int64).astype(object)
        values: list[float | int] = held.tolist()
        return values

    def components(self) -> tuple[list[int | None], list[int | None]]:
        """(systolic, diastolic) of each row, None where the row is not blood pressure."""
        systolic: list[int | None] = [None] * len(self.value)
        diastolic: list[int | None] = [None] * len(self.value)
        rows = np.flatnonzero(self.systolic >= 0)
        for i, s_, d_ in zip(
            rows.tolist(), self.systolic[rows].tolist(), self.diastolic[rows].tolist(), strict=True
        ):
            systolic[i], diastolic[i] = s_, d_
        return systolic, diastolic


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
        return clamp(_int(x), 80, 230)
    if metric == "weight":
        return _round1(x * LB_PER_KG) if unit == "lb" else _round1(x)
    mg = clamp(x, 45.0, 450.0)  # blood_glucose
    return _int(mg) if unit == "mg/dL" else _round1(mg / MG_DL_PER_MMOL_L)


@dataclass(frozen=True, slots=True)
class _Window:
    """What every emitter reads from in days [a, b): the latent days, their draws, waking times and the
    day's blood-pressure session (shared by the cuff's pressure and heart rate)."""

    lat: Latent
    u: FloatArray
    a: int
    b: int
    wake: IntArray
    weigh_rate: float
    workouts_per_day: float
    bp_taken: BoolArray
    bp_t: FloatArray

    @property
    def m(self) -> int:
        return self.b - self.a


# An emitter's day: when it measures (local seconds), the true value, and an extra condition for the
# day to have a reading at all (None: every day the device is there).
_Schedule = tuple[FloatArray | IntArray, FloatArray, BoolArray | None]

SCHEDULES: dict[str, Callable[[_Window], _Schedule]] = {
    "resting_heart_rate": lambda w: (w.wake, w.lat.resting_hr[w.a : w.b], None),
    "hrv_rmssd": lambda w: (w.wake, w.lat.hrv_ms[w.a : w.b], None),
    "sleep_duration": lambda w: (w.wake, w.lat.sleep_h[w.a : w.b], None),
    "steps": lambda w: (np.full(w.m, END_OF_DAY_S), w.lat.steps[w.a : w.b], None),
    "body_temperature": lambda w: (w.wake + 60, w.lat.temperature[w.a : w.b], None),
    "spo2": lambda w: (w.wake + 60, w.lat.spo2[w.a : w.b], None),
    "heart_rate/workout": lambda w: (
        17 * HOUR + w.u[:, U_WORKOUT_TIME] * 3 * HOUR,
        w.lat.workout_hr[w.a : w.b],
        w.u[:, U_WORKOUT] < w.workouts_per_day,
    ),
    "heart_rate/bp": lambda w: (w.bp_t, w.lat.spot_hr[w.a : w.b], w.bp_taken),
    "heart_rate/daily": lambda w: (np.full(w.m, END_OF_DAY_S), w.lat.daily_hr[w.a : w.b], None),
    "blood_pressure": lambda w: (w.bp_t, w.lat.systolic[w.a : w.b], w.bp_taken),
    "weight": lambda w: (
        w.wake + 600 + w.u[:, U_WEIGH_TIME] * 1800,
        w.lat.weight_kg[w.a : w.b],
        w.u[:, U_WEIGH] < w.weigh_rate,
    ),
    "blood_glucose/fasting": lambda w: (w.wake + 900, w.lat.glucose_fasting[w.a : w.b], None),
    "blood_glucose/evening": lambda w: (
        20.5 * HOUR + w.u[:, U_GLUCOSE_TIME] * HOUR,
        w.lat.glucose_evening[w.a : w.b],
        None,
    ),
}


def schedule_key(e: Emitter) -> str:
    """The `SCHEDULES` entry of an emitter: its metric, or for heart rate and glucose which kind."""
    if e.metric == "heart_rate":
        return {WORKOUT: "heart_rate/workout", BP_PAIRED: "heart_rate/bp"}.get(e.timing, "heart_rate/daily")
    if e.metric == "blood_glucose":
        return "blood_glucose/fasting" if e.variant == 0 else "blood_glucose/evening"
    return e.metric


@dataclass(frozen=True, slots=True)
class _Readings:
    """One emitter's readings of a window: the days that have one and the reading number within the
    day (`n`), values, times, and which readings are uploaded twice (`dup`, at `dup_received`)."""

    idx: IntArray
    n: IntArray
    value: FloatArray | IntArray
    systolic: IntArray | None
    diastolic: IntArray | None
    measured: IntArray
    received: IntArray
    dup: BoolArray
    dup_received: IntArray


def _read(sim: Simulation, w: _Window, e: Emitter, count: IntArray) -> _Readings | None:
    """The readings of emitter `e` in window `w` (None if it has none); `count` numbers each day's
    readings across emitters (it picks the draws and the id suffix) and is advanced here."""
    days = sim.sources[e.source]
    ok = ~days.lost[w.a : w.b]
    if e.timing not in SPOT:
        ok = ok & days.worn[w.a : w.b]
    t, raw, condition = SCHEDULES[schedule_key(e)](w)
    if condition is not None:
        ok = ok & condition
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return None
    n = count[idx]
    count[idx] += 1
    # The three draws of each reading, taken from the flattened day rows (one 1-D gather each).
    at = idx * w.u.shape[1] + U_RX + 3 * (n % N_READING_DRAWS)
    flat = w.u.ravel()
    rx, mess, error = flat[at], flat[at + 1], 2.0 * flat[at + 2] - 1.0
    value = _measure(e, raw[idx], error)
    systolic: IntArray | None = None
    diastolic: IntArray | None = None
    if e.metric == "blood_pressure":
        systolic = value.astype(np.int64)
        diastolic = np.minimum(
            systolic - 20, clamp(_int(w.lat.diastolic[w.a : w.b][idx] + 2.0 * error), 45, 130)
        )
    measured = sim.day_start[w.a : w.b][idx] + np.asarray(t, dtype=np.float64)[idx].astype(np.int64)
    received = _received(sim, w, e, idx, rx, measured)
    late_p, dup_p = sim.rates.late, sim.rates.duplicate
    late = mess < late_p
    dup = ~late & (mess < late_p + dup_p)
    if late_p > 0:  # a late back-fill, 1-5 days after the fact
        received = received + late * DAY * (1 + (mess / late_p * 5).astype(np.int64))
    dup_received = received + 300
    if dup_p > 0:
        dup_received = dup_received + (np.maximum(mess - late_p, 0.0) / dup_p * 6 * HOUR).astype(np.int64)
    return _Readings(idx, n, value, systolic, diastolic, measured, received, dup, dup_received)


def _received(
    sim: Simulation, w: _Window, e: Emitter, idx: IntArray, rx: FloatArray, measured: IntArray
) -> IntArray:
    """When the readings reach the source's cloud: the device's sync delay, or after a sync gap."""
    received = measured + (e.delay_lo * np.exp(rx * e.delay_log_ratio)).astype(np.int64)
    arrives = sim.sources[e.source].arrives_day[w.a : w.b][idx]
    gap = arrives >= 0
    if gap.any():  # inside a sync gap: the backlog arrives when syncing resumes
        # (the patient's usual waking time: the actual one of a later day may not be simulated yet)
        target = np.where(gap, arrives, 0)
        wake_minute = sim.profile.body.wake_minute
        backlog = sim.day_start[target] + wake_minute * 60 + 300 + (rx * 3300).astype(np.int64)
        received = np.where(gap, np.maximum(received, backlog), received)
    return received


_SUFFIXES = [*_SUFFIX, *(suffix + "_d" for suffix in _SUFFIX)]  # index n + 100 * copy


class _Collected:
    """Every emitter's readings of a window, gathered as numpy parts for one sort into the API's order.

    Ids are made once, after the sort, from (day, reading number, copy). Values are kept as float64
    with a flag for the integer metrics, so Parquet takes them as they are and NDJSON turns them back
    into the Python ints and floats the API writes (`VitalColumns.values`).
    """

    def __init__(self, first_day: int) -> None:
        self.first_day = first_day  # `day` keys count from the window's first day
        self.rows = 0
        self.parts: dict[str, list[npt.NDArray[Any]]] = {
            k: []
            for k in (
                "emitter",
                "received",
                "day",
                "measured",
                "n",
                "copy",
                "value",
                "integral",
                "sys",
                "dia",
            )
        }

    def add(self, emitter_index: int, r: _Readings) -> None:
        self._add(emitter_index, r, slice(None), r.received, 0)
        dups = np.flatnonzero(r.dup)
        if dups.size:  # the same measurement uploaded again, under a new id, a little later
            self._add(emitter_index, r, dups, r.dup_received[dups], 1)

    def _add(self, emitter_index: int, r: _Readings, pick: Any, received: IntArray, copy: int) -> None:
        parts = self.parts
        day = r.idx[pick]
        size = day.size
        parts["emitter"].append(np.full(size, emitter_index, dtype=np.int64))
        parts["received"].append(received)
        parts["day"].append(day)
        parts["measured"].append(r.measured[pick])
        parts["n"].append(r.n[pick])
        parts["copy"].append(np.full(size, copy, dtype=np.int64))
        parts["value"].append(r.value[pick].astype(np.float64))
        parts["integral"].append(np.full(size, r.value.dtype.kind == "i", dtype=np.bool_))
        none = np.full(size, -1, dtype=np.int64)
        parts["sys"].append(none if r.systolic is None else r.systolic[pick])
        parts["dia"].append(none if r.diastolic is None else r.diastolic[pick])
        self.rows += size

    def __len__(self) -> int:
        return self.rows

    def columns(self, sim: Simulation, ems: list[Emitter]) -> VitalColumns:
        """The readings sorted by day, time, reading number, then original before duplicate."""
        key = {name: np.concatenate(parts) for name, parts in self.parts.items()}
        order = np.lexsort((key["copy"], key["n"], key["measured"], key["day"]))
        key = {name: values[order] for name, values in key.items()}
        return VitalColumns(
            timeline=sim.timeline,
            origin=calendar.timegm(sim.timeline.start.timetuple()),
            emitters=ems,
            emitter=key["emitter"],
            ids=sim.ids("vt", key["day"] + self.first_day, key["n"] + 100 * key["copy"], _SUFFIXES),
            value=key["value"],
            integral=key["integral"],
            systolic=key["sys"],
            diastolic=key["dia"],
            measured=key["measured"],
            received=key["received"],
        )


def vital_columns(sim: Simulation, first_day: int, last_day: int) -> VitalColumns | None:
    """Readings of days [first_day, last_day) (by measurement day) as columns, each day's in time
    order; None when the patient's kit reports nothing in the window."""
    profile, lat = sim.profile, sim.latent
    ems = emitters(profile)
    if not ems:
        return None
    a, b = first_day, last_day
    u = sim.u[a:b]
    wake = lat.wake_s[a:b]
    window = _Window(
        lat=lat,
        u=u,
        a=a,
        b=b,
        wake=wake,
        weigh_rate=profile.habits.weigh_rate,
        workouts_per_day=profile.body.workouts_per_week / 7.0,
        bp_taken=u[:, U_BP] < profile.habits.bp_rate,
        bp_t=wake + 1200 + u[:, U_BP_TIME] * 2400,
    )
    count = np.zeros(b - a, dtype=np.int64)
    collected = _Collected(a)
    for emitter_index, e in enumerate(ems):
        readings = _read(sim, window, e, count)
        if readings is not None:
            collected.add(emitter_index, readings)
    if not len(collected):
        return None
    return collected.columns(sim, ems)


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
    systolic, diastolic = columns.components()
    rows = zip(
        columns.ids.tolist(),
        columns.emitter.tolist(),
        columns.values(),
        iso_many(columns.measured),
        iso_many(columns.received),
        systolic,
        diastolic,
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
