"""Daily WHO-5 check-ins (`WellbeingCheckin`).

WHO-5 has five items (cheerful, calm, active, woke rested, life full of interest) scored 0-5; the raw
score is their sum (0-25) and the percentage score is raw x 4 (0-100). The items share the day's mood
(see latent.py: lower with pain and flares, higher after good sleep) and each has its own pull:
"rested" follows last night's sleep, "active" the day's steps, "calm" the day's pain. The arithmetic is
exact by construction (raw_score = sum, composite_score = raw_score * 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthetic_data.models import clamp
from synthetic_data.seeding import DayDraws, FloatArray, IntArray
from synthetic_data.simulation import Ids, Simulation
from synthetic_data.timeline import Timeline

EVENING = (19 * 3600, int(3.5 * 3600))
ITEM_NOISE = 0.55
U_LOG, U_TIME = DayDraws.ucol("wb_log"), DayDraws.ucol("wb_time")
Z_ITEM = DayDraws.zcol("who5_0")


def _items(x: FloatArray) -> IntArray:
    return clamp(np.floor(x + 0.5), 0, 5).astype(np.int64)


@dataclass(frozen=True, slots=True)
class WellbeingColumns:
    """A window's check-ins as columns: day indices, completion times in run seconds, the raw score
    and the five items (in `DIMENSIONS` order)."""

    timeline: Timeline
    ids: Ids
    days: IntArray
    completed: IntArray
    raw: IntArray
    items: IntArray  # one row per dimension, one column per check-in

    def __len__(self) -> int:
        return len(self.ids)


DIMENSIONS = ("cheerful", "calm", "active", "rested", "interested")


def wellbeing_columns(sim: Simulation, first_day: int, last_day: int) -> WellbeingColumns | None:
    """The check-ins `build_wellbeing` returns, as columns (None when there are none)."""
    profile, lat = sim.profile, sim.latent
    body = profile.body
    a, b = first_day, last_day
    u = sim.u[a:b]
    days = np.flatnonzero(~sim.lapse[a:b] & (u[:, U_LOG] < sim.rates.log_wellbeing))
    if days.size == 0:
        return None
    at = days + a
    z = sim.z[at]
    centre = lat.mood[at] / 5.0
    pain_excess = lat.daily_pain[at] - profile.pain.baseline
    activity = np.log(np.maximum(lat.steps[at], 1.0)) - math.log(max(body.steps, 1.0))
    sleep_excess = lat.sleep_h[at] - body.sleep_hours
    cheerful = _items(centre + 0.2 + ITEM_NOISE * z[:, Z_ITEM])
    calm = _items(centre + 0.1 - 0.15 * pain_excess + ITEM_NOISE * z[:, Z_ITEM + 1])
    active = _items(centre - 0.3 + 0.8 * activity + ITEM_NOISE * z[:, Z_ITEM + 2])
    rested = _items(centre - 0.3 + 0.45 * sleep_excess + ITEM_NOISE * z[:, Z_ITEM + 3])
    interested = _items(centre + ITEM_NOISE * z[:, Z_ITEM + 4])
    raw = cheerful + calm + active + rested + interested
    completed = sim.day_start[at] + (EVENING[0] + u[days, U_TIME] * EVENING[1]).astype(np.int64)
    return WellbeingColumns(
        timeline=sim.timeline,
        ids=sim.ids("wb", at, np.zeros(at.size, dtype=np.int64), ("",)),
        days=at,
        completed=completed,
        raw=raw,
        items=np.stack([cheerful, calm, active, rested, interested]),
    )


def build_wellbeing(sim: Simulation, first_day: int, last_day: int) -> list[dict[str, Any]]:
    """WHO-5 check-ins of days [first_day, last_day), at most one a day, in the evening."""
    c = wellbeing_columns(sim, first_day, last_day)
    if c is None:
        return []
    date_str = c.timeline.date_str
    return [
        {
            "id": id_,
            "date": date_str(d),
            "completed_at": when,
            "raw_score": r,
            "composite_score": r * 4,
            "dimensions": {"cheerful": c1, "calm": c2, "active": c3, "rested": c4, "interested": c5},
        }
        for id_, d, when, r, c1, c2, c3, c4, c5 in zip(
            c.ids.tolist(),
            c.days.tolist(),
            c.timeline.iso_many(c.completed),
            c.raw.tolist(),
            *c.items.tolist(),
            strict=True,
        )
    ]
