"""Synthetic patients with *planted* patterns, so tests know the truth the analysis should find.

Deliberately independent of ``synthetic_data`` (whose realism models may change): each knob here plants
exactly one effect on top of Gaussian noise, and everything is seeded.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

START = date(2026, 2, 1)


@dataclass
class Plan:
    days: int = 90
    seed: int = 0
    start: date = START
    base: float = 5.0
    noise: float = 1.0
    slope_per_day: float = 0.0
    sleep_coupling: float = 0.0  # pain points per hour of sleep below 7 h the night before
    hrv_coupling: float = 0.0  # pain points per 10 ms of HRV below 42 ms
    weekday_effect: dict[int, float] = field(default_factory=dict)  # weekday (Mon=0) -> extra pain
    hours: tuple[int, ...] = (8, 20)
    hour_effect: dict[int, float] = field(default_factory=dict)  # hour -> extra pain
    flares: tuple[tuple[int, int, float], ...] = ()  # (first day, last day, extra pain)
    skip_days: Iterable[int] = ()
    who5_start: float = 48.0
    who5_slope_per_day: float = 0.0
    with_vitals: bool = True
    with_wellbeing: bool = True


def build(plan: Plan) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(pain_entries, wellbeing, vitals) in the contract's record shapes."""
    rng = random.Random(plan.seed)
    skip = set(plan.skip_days)
    pain: list[dict[str, Any]] = []
    wellbeing: list[dict[str, Any]] = []
    vitals: list[dict[str, Any]] = []
    areas = ["lower_back", "left_knee", "neck"]
    qualities = ["aching", "burning", "throbbing", "tender"]
    for offset in range(plan.days):
        day = plan.start + timedelta(days=offset)
        sleep = min(12.0, max(2.0, rng.gauss(7.0, 1.0)))
        hrv = min(120.0, max(10.0, rng.gauss(42.0, 8.0)))
        if plan.with_vitals:
            vitals.append(_vital(f"vs{offset}", day, "sleep_duration", round(sleep * 60), "min"))
            vitals.append(_vital(f"vh{offset}", day, "hrv_rmssd", round(hrv, 1), "ms"))
        daily = (
            plan.base
            + plan.slope_per_day * offset
            + plan.sleep_coupling * (7.0 - sleep)
            + plan.hrv_coupling * (42.0 - hrv) / 10.0
            + plan.weekday_effect.get(day.weekday(), 0.0)
            + sum(extra for first, last, extra in plan.flares if first <= offset <= last)
        )
        if plan.with_wellbeing:
            score = plan.who5_start + plan.who5_slope_per_day * offset + rng.gauss(0, 6)
            raw = int(min(25, max(0, round(score / 4))))
            wellbeing.append(
                {
                    "id": f"wb_{offset}",
                    "date": day.isoformat(),
                    "completed_at": f"{day}T20:15:00Z",
                    "raw_score": raw,
                    "composite_score": raw * 4,
                    "dimensions": {
                        "cheerful": raw // 5,
                        "calm": raw // 5,
                        "active": raw // 5,
                        "rested": raw // 5,
                        "interested": raw - 4 * (raw // 5),
                    },
                }
            )
        if offset in skip:
            continue
        for hour in plan.hours:
            level = daily + plan.hour_effect.get(hour, 0.0) + rng.gauss(0, plan.noise)
            level = int(min(10, max(0, round(level))))
            pain.append(
                {
                    "id": f"pe_{offset}_{hour}",
                    "pain_level": level,
                    "areas": [{"id": areas[offset % 3], "max_intensity": level}],
                    "qualities": rng.sample(qualities, 2),
                    "overall_wellbeing": round(min(5.0, max(0.0, 5 - level / 2)), 1),
                    "vitals": None,
                    "notes": None,
                    "logged_at": f"{day}T{hour:02d}:00:00Z",
                }
            )
    return pain, wellbeing, vitals


def _vital(vid: str, day: date, metric: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "id": vid,
        "source": "polar",
        "metric": metric,
        "value": value,
        "unit": unit,
        "measured_at": f"{day}T06:30:00Z",
        "received_at": f"{day}T06:40:00Z",
        "device": "Polar H10",
    }
