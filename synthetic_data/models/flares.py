"""Pain flares: sudden rises of a few NRS points lasting hours to days.

Onsets are a Bernoulli process per day at the patient's rate (Suri 2011: 3.5 per 6 weeks in back pain),
the duration is lognormal around the condition's median (over half of back-pain flares last under 4 h;
RA and fibromyalgia flares last days), and the size is +2.7 NRS on average. A flare is at full size at
onset and eases to half by its end. Everything about a flare is drawn on its onset day, so a flare never
depends on days after it — the property that makes series continuable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from synthetic_data.patients import PainParams
from synthetic_data.seeding import DayDraws

if TYPE_CHECKING:
    from synthetic_data.simulation import Simulation

_NORMAL = NormalDist()
WAKING_START_H = 7.0
WAKING_END_H = 23.0
MAX_FLARE_HOURS = 14 * 24.0


@dataclass(frozen=True, slots=True)
class Flare:
    """One flare, in patient-local hours since day 0 00:00 local time."""

    start_h: float
    end_h: float
    magnitude: float

    @property
    def onset_day(self) -> int:
        return int(self.start_h // 24)

    def effect_at(self, hour: float) -> float:
        """NRS points this flare adds at local hour `hour` (0 outside the flare)."""
        if hour < self.start_h or hour >= self.end_h:
            return 0.0
        return self.magnitude * (1.0 - 0.5 * (hour - self.start_h) / (self.end_h - self.start_h))


def draw_flares(params: PainParams, draws: DayDraws) -> list[Flare]:
    """All flares with onset in days 0..draws.n_days-1."""
    rate = params.flare_rate_per_day
    starts = draws.u("flare_start")
    hours = draws.u("flare_hour")
    lengths = draws.u("flare_len")
    sizes = draws.u("flare_size")
    flares: list[Flare] = []
    for day in (starts < rate).nonzero()[0].tolist():
        # Onsets cluster in waking hours (they are noticed, and often triggered by activity).
        start = day * 24.0 + 6.0 + 17.0 * float(hours[day])
        z = _NORMAL.inv_cdf(min(max(float(lengths[day]), 1e-9), 1 - 1e-9))
        duration = min(
            MAX_FLARE_HOURS, max(0.75, params.flare_median_hours * math.exp(params.flare_sigma * z))
        )
        magnitude = params.flare_magnitude * (0.7 + 0.6 * float(sizes[day]))
        flares.append(Flare(start, start + duration, round(magnitude, 2)))
    return flares


def daily_flare_load(flares: list[Flare], n_days: int) -> list[float]:
    """Mean NRS added by flares over each day's waking hours (07-23 local); the daily coupling signal."""
    load = [0.0] * n_days
    span = WAKING_END_H - WAKING_START_H
    for flare in flares:
        first = flare.onset_day
        last = min(n_days - 1, int(flare.end_h // 24))
        for day in range(first, last + 1):
            lo = max(flare.start_h, day * 24 + WAKING_START_H)
            hi = min(flare.end_h, day * 24 + WAKING_END_H)
            if hi <= lo:
                continue
            # the effect is linear in time, so its mean over [lo, hi) is its value at the midpoint
            load[day] += flare.effect_at((lo + hi) / 2) * (hi - lo) / span
    return load


def build_flare_records(sim: Simulation, first_day: int, last_day: int) -> list[dict[str, Any]]:
    """Ground-truth flares with onset in [first_day, last_day): for QA of flare detection.

    Not an API shape: `start`/`end` in UTC, `peak_delta` the NRS points added at onset. The UTC times
    of all the window's flares are formatted in one `iso_many` call (a patient-year has about 30).
    """
    flares = [flare for flare in sim.latent.flares if first_day <= flare.onset_day < last_day]
    if not flares:
        return []
    days = [flare.onset_day for flare in flares]
    end_days = [int(flare.end_h // 24) for flare in flares]
    run_seconds = sim.run_seconds
    starts = [run_seconds(d, (f.start_h - d * 24) * 3600) for d, f in zip(days, flares, strict=True)]
    ends = [run_seconds(d, (f.end_h - d * 24) * 3600) for d, f in zip(end_days, flares, strict=True)]
    iso_many = sim.timeline.iso_many
    key, patient_id = sim.key, sim.profile.patient_id
    return [
        {
            "id": f"fl_{key}_{day:04d}",
            "patient_id": patient_id,
            "start": start,
            "end": end,
            "duration_hours": round(flare.end_h - flare.start_h, 2),
            "peak_delta": flare.magnitude,
        }
        for flare, day, start, end in zip(
            flares,
            days,
            iso_many(np.asarray(starts, dtype=np.int64)),
            iso_many(np.asarray(ends, dtype=np.int64)),
            strict=True,
        )
    ]
