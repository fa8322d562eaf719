"""Patient gauges (`Gauge`, the seed-003 shape): the handful of sliders a patient chose to track.

Each patient tracks a few gauge types (mood and pain are the popular ones) and fills them in together
in the evening on most days. Values follow the latent state: mood and social interaction with the
day's mood (social contact is higher at weekends), anxiety with pain and low mood, energy with mood and
sleep, sleep quality with last night's sleep and HRV, pain with the evening's pain, and medication
adherence is the share of the day's doses taken (0-100 %). Some evenings are filled in the next
morning: `created_at` is then hours after `recorded_at` (a late back-fill).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from synthetic_data.models import clamp
from synthetic_data.seeding import DayDraws, FloatArray, IntArray
from synthetic_data.simulation import Ids, Simulation
from synthetic_data.timeline import Timeline
from synthetic_data.vocab import GAUGE_SCALES, GAUGE_TYPES

EVENING = (20 * 3600, int(2.5 * 3600))
U_LOG, U_TIME, U_LATE = DayDraws.ucol("gauge_log"), DayDraws.ucol("gauge_time"), DayDraws.ucol("gauge_late")
U_DOSES = DayDraws.ucol("doses")
Z_GAUGE = DayDraws.zcol("gauge_0")
_SUFFIX = [f"_{i}" for i in range(len(GAUGE_TYPES))]


def _values(sim: Simulation, gauge: str, at: IntArray, doses: FloatArray, noise: FloatArray) -> FloatArray:
    """Unrounded values of one gauge type on days `at`."""
    profile, lat = sim.profile, sim.latent
    body, habits = profile.body, profile.habits
    mood = lat.mood[at]
    pain_now = lat.daily_pain[at] + profile.pain.tod_deltas[2]
    if gauge == "mood":
        return 1 + 9 * mood / 25 + 0.7 * noise
    if gauge == "anxiety":
        return 4.0 + 0.35 * (pain_now - profile.pain.baseline) - 0.15 * (mood - 12.5) + 1.0 * noise
    if gauge == "energy":
        rest = np.minimum(lat.sleep_h[at] / 8.0, 1.2)
        return 1 + 9 * (0.65 * mood / 25 + 0.35 * rest) - 0.3 * lat.flare_load[at] + 0.8 * noise
    if gauge == "sleep_quality":
        sleep_z = (lat.sleep_h[at] - body.sleep_hours) / body.sleep_sd
        return 6.0 + 1.2 * sleep_z + 0.4 * lat.hrv_z[at] + 0.8 * noise
    if gauge == "pain":
        return pain_now + 0.6 * noise
    if gauge == "medication_adherence":  # doses taken out of doses prescribed, from the draw's bits
        bits = (doses * 4503599627370496.0).astype(np.int64)
        taken = sum(
            ((bits >> (8 * k)) & 255) < habits.dose_adherence * 256 for k in range(habits.doses_per_day)
        )
        return np.asarray(100.0 * taken / habits.doses_per_day, dtype=np.float64)
    weekend = (lat.weekday[at] >= 5).astype(np.float64)  # social_interaction
    return 4.5 + 1.2 * weekend + 0.12 * (mood - 12.5) + 1.0 * noise


@dataclass(frozen=True, slots=True)
class GaugeColumns:
    """A window's gauges as columns, day-major and type-minor (the order of `build_gauges`).

    Row r is day `r // len(kinds)`, type `kinds[r % len(kinds)]` (gauge type, scale min, scale max);
    `recorded`/`created` are run seconds, one per *day* (every type of a day shares them).
    """

    patient_id: str
    timeline: Timeline
    kinds: list[tuple[str, int, int]]
    ids: Ids
    values: IntArray  # day-major, type-minor, like `ids`
    recorded: IntArray
    created: IntArray

    def __len__(self) -> int:
        return len(self.ids)


def gauge_columns(sim: Simulation, first_day: int, last_day: int) -> GaugeColumns | None:
    """Gauges of days [first_day, last_day) as columns (None when none were logged)."""
    profile, lat = sim.profile, sim.latent
    habits = profile.habits
    a, b = first_day, last_day
    u_all = sim.u[a:b]
    days = np.flatnonzero(~sim.lapse[a:b] & (u_all[:, U_LOG] < sim.rates.log_gauges))
    if days.size == 0:
        return None
    at = days + a
    # only three of a day's uniform draws are read here: gather those, not the whole rows
    u_time, u_late, u_doses = u_all[days, U_TIME], u_all[days, U_LATE], u_all[days, U_DOSES]
    z = sim.z[at]
    recorded = sim.day_start[at] + (EVENING[0] + u_time * EVENING[1]).astype(np.int64)
    backfill = sim.rates.gauge_backfill
    late = u_late < backfill
    next_morning = sim.day_start[at + 1] + lat.wake_s[at] + 1800
    if backfill > 0:
        next_morning = next_morning + (u_late / backfill * 7200).astype(np.int64)
    created = np.where(late, next_morning, recorded + 3 + (u_late * 40).astype(np.int64))
    kinds = [(i, g) for i, g in enumerate(GAUGE_TYPES) if g in habits.gauge_types]
    columns = []
    for i, gauge in kinds:
        lo, hi = GAUGE_SCALES[gauge]
        raw = _values(sim, gauge, at, u_doses, z[:, Z_GAUGE + i])
        columns.append(clamp(np.floor(raw + 0.5), lo, hi).astype(np.int64))
    values = np.stack(columns, axis=1).ravel()
    types = np.asarray([i for i, _ in kinds], dtype=np.int64)
    ids = sim.ids("ga", np.repeat(at, len(kinds)), np.tile(types, at.size), _SUFFIX)
    return GaugeColumns(
        patient_id=profile.patient_id,
        timeline=sim.timeline,
        kinds=[(g, *GAUGE_SCALES[g]) for _, g in kinds],
        ids=ids,
        values=values,
        recorded=recorded,
        created=created,
    )


def build_gauges(sim: Simulation, first_day: int, last_day: int) -> list[dict[str, Any]]:
    """Gauges of days [first_day, last_day): the tracked types together, one evening a day."""
    c = gauge_columns(sim, first_day, last_day)
    if c is None:
        return []
    per_day = len(c.kinds)
    recorded_each = [s_ for s_ in c.timeline.iso_many(c.recorded) for _ in range(per_day)]
    created_each = [s_ for s_ in c.timeline.iso_many(c.created) for _ in range(per_day)]
    meta = c.kinds * len(c.recorded)
    patient_id = c.patient_id
    return [
        {
            "id": id_,
            "patient_id": patient_id,
            "gauge_type": gauge,
            "value": v,
            "scale_min": lo,
            "scale_max": hi,
            "recorded_at": rec,
            "notes": None,
            "created_at": cre,
        }
        for id_, (gauge, lo, hi), v, rec, cre in zip(
            c.ids.tolist(), meta, c.values.tolist(), recorded_each, created_each, strict=True
        )
    ]
