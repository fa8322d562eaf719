"""What does not get recorded, or gets recorded late or twice: the `messiness` knob (0..1).

A sandbox that is too clean teaches nothing. `messiness` scales each patient's own habits: 0 is a
perfect diary (every day logged, every device synced on time, no duplicates); the default 0.3 is the
patient's natural behaviour; 1 is a bad month for everyone. It drives:

- missed days (the patient skips the app) and lapses (several days in a row: holidays, bad weeks);
- days a device is not worn or not used;
- sync gaps: a device stops syncing for 1-14 days, then back-fills what it stored (received_at at the
  end of the gap) — or, for a fifth of gaps, the data is lost;
- late back-fills of single readings (received days later) and duplicate uploads (the same measurement
  sent twice under a new id, as Health Connect and vendor APIs do after a retry).

Like everything else, each decision is drawn on the day it concerns, so it never depends on later days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from synthetic_data.patients import PatientProfile
from synthetic_data.seeding import BoolArray, DayDraws, IntArray

DEFAULT_MESSINESS = 0.3
GAP_LOST_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Rates:
    """Per-day and per-reading probabilities for one patient at one messiness level."""

    log_pain: float
    log_wellbeing: float
    log_gauges: float
    slot_drop: float
    lapse: float
    not_worn: float
    gap: float
    late: float
    duplicate: float
    gauge_backfill: float


def rates(profile: PatientProfile, messiness: float) -> Rates:
    """Probabilities for `profile` at `messiness` (0 gives a perfect record)."""
    f = messiness / DEFAULT_MESSINESS
    habits = profile.habits

    def keep(adherence: float) -> float:
        return 1.0 - min(0.9, (1.0 - adherence) * f)

    return Rates(
        log_pain=keep(habits.adherence),
        log_wellbeing=keep(habits.wellbeing_adherence),
        log_gauges=keep(habits.gauge_adherence),
        slot_drop=min(0.6, 0.12 * f),
        lapse=min(0.2, 0.012 * f),
        not_worn=min(0.6, 0.05 * f),
        gap=min(0.3, 0.02 * f),
        late=min(0.3, 0.02 * f),
        duplicate=min(0.3, 0.015 * f),
        gauge_backfill=min(0.5, 0.05 * f),
    )


@dataclass(frozen=True, slots=True)
class SourceDays:
    """Per-day sync state of one source: worn, and (inside a gap) the day the data arrives or is lost."""

    worn: BoolArray
    arrives_day: IntArray  # -1 outside a gap; else the day whose morning the backlog syncs
    lost: BoolArray


def lapse_days(draws: DayDraws, r: Rates) -> BoolArray:
    """True on days inside a logging lapse (several consecutive days without any check-in)."""
    out = np.zeros(draws.n_days, dtype=np.bool_)
    lengths = draws.u("lapse_len")
    for day in (draws.u("lapse_start") < r.lapse).nonzero()[0].tolist():
        out[day : day + 1 + min(27, int(-math.log(1.0 - float(lengths[day])) * 3.5))] = True
    return out


def source_days(draws: DayDraws, slot: int, r: Rates) -> SourceDays:
    """Wear and sync-gap state of the patient's `slot`-th source (0 to 3)."""
    n = draws.n_days
    arrives = np.full(n, -1, dtype=np.int64)
    lost = np.zeros(n, dtype=np.bool_)
    lengths = draws.u(f"gap_len_{slot}")
    lost_draw = draws.u(f"gap_lost_{slot}")
    busy_until = 0
    for start in (draws.u(f"gap_start_{slot}") < r.gap).nonzero()[0].tolist():
        if start < busy_until:  # already inside an earlier gap
            continue
        end = start + 1 + min(13, int(-math.log(1.0 - float(lengths[start])) * 2.5))
        arrives[start:end] = end
        lost[start:end] = bool(lost_draw[start] < GAP_LOST_SHARE)
        busy_until = end
    return SourceDays(draws.u(f"wear_{slot}") >= r.not_worn, arrives, lost)
