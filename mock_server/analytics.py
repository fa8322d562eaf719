"""Population analytics over a partner's consented patients (the ``PopulationAnalytics`` shape).

Each patient contributes **one value per group** (their mean pain, mean WHO-5 score or check-in rate
in that day/week), so a patient who logs ten times a day weighs the same as one who logs once, and
``cohort_size`` counts people, which is what k-anonymity is about. A group with fewer than ``k``
contributing patients is suppressed: its statistics are null and ``suppressed`` is true. When the whole
cohort is smaller than ``k``, every group is suppressed, whatever its own size, because a small cohort
can be re-identified from its per-day figures.

Days are UTC calendar days: the cohort spans time zones, and one convention keeps groups comparable.
Weekly groups are ISO weeks (Monday to Sunday) clipped to the period; ``start`` is the first day of the
group inside the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from mock_server.timeutil import parse_iso

Metric = Literal["pain", "wellbeing", "adherence"]
GroupBy = Literal["day", "week"]
METRICS: tuple[str, ...] = ("pain", "wellbeing", "adherence")
GROUP_BYS: tuple[str, ...] = ("day", "week")
DEFAULT_K = 5

#: Buckets of the per-patient value: (label, lower bound inclusive). Pain follows the usual NRS bands
#: (mild 0-3, moderate 4-6, severe 7-10, with patient means rounded to the nearest point first); WHO-5
#: uses the screening cut-offs (<= 28 likely depression, < 52 poor wellbeing); adherence is in percent.
BUCKETS: dict[str, tuple[tuple[str, float], ...]] = {
    "pain": (("0-3", 0.0), ("4-6", 3.5), ("7-10", 6.5)),
    "wellbeing": (("0-28", 0.0), ("29-51", 28.5), ("52-100", 51.5)),
    "adherence": (("0-49", 0.0), ("50-79", 49.5), ("80-100", 79.5)),
}


def population(
    series_by_patient: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    *,
    metric: Metric,
    group_by: GroupBy,
    period_from: date,
    period_to: date,
    k: int = DEFAULT_K,
) -> dict[str, Any]:
    """Aggregate ``metric`` per day or week over the patients in ``series_by_patient``.

    ``series_by_patient`` maps a patient id to that patient's records: ``{"pain_entries": [PainEntry…],
    "wellbeing": [WellbeingCheckin…]}`` (missing keys mean no records). Every patient passed in is part
    of the cohort for ``adherence`` (a consented patient who logs nothing has a rate of 0); for ``pain``
    and ``wellbeing`` only patients with a value in the period count.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}")
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}")
    if k < 1:
        raise ValueError("k must be at least 1")
    if period_to < period_from:
        raise ValueError("period_to is before period_from")

    groups = _groups(period_from, period_to, group_by)
    group_of = {day: index for index, days in enumerate(groups) for day in days}
    values: list[dict[str, float]] = [{} for _ in groups]  # group -> patient -> value
    in_period: set[str] = set()
    for patient_id, records in series_by_patient.items():
        per_group = _patient_values(metric, records, groups, group_of)
        if metric == "adherence":
            in_period.add(patient_id)
        for index, value in per_group.items():
            values[index][patient_id] = value
            in_period.add(patient_id)

    cohort_size = len(in_period)
    cohort_suppressed = cohort_size < k
    return {
        "period": {"from": period_from.isoformat(), "to": period_to.isoformat()},
        "metric": metric,
        "group_by": group_by,
        "k_anonymity_threshold": k,
        "cohort_size": cohort_size,
        "groups": [
            _summary(days[0], list(values[index].values()), metric, k, cohort_suppressed)
            for index, days in enumerate(groups)
        ],
    }


def _groups(period_from: date, period_to: date, group_by: str) -> list[list[date]]:
    days = [period_from + timedelta(days=i) for i in range((period_to - period_from).days + 1)]
    if group_by == "day":
        return [[day] for day in days]
    weeks: dict[tuple[int, int], list[date]] = defaultdict(list)
    for day in days:
        iso = day.isocalendar()
        weeks[(iso.year, iso.week)].append(day)
    return list(weeks.values())


def _patient_values(
    metric: str,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    groups: Sequence[Sequence[date]],
    group_of: Mapping[date, int],
) -> dict[int, float]:
    """One value per group for one patient; groups without data are absent (except adherence)."""
    if metric == "adherence":
        logged = {parse_iso(e["logged_at"]).date() for e in records.get("pain_entries", ())}
        return {
            index: 100.0 * sum(1 for day in days if day in logged) / len(days)
            for index, days in enumerate(groups)
        }
    collected: dict[int, list[float]] = defaultdict(list)
    for day, value in _dated_values(metric, records):
        index = group_of.get(day)
        if index is not None:
            collected[index].append(value)
    return {index: float(np.mean(v)) for index, v in collected.items()}


def _dated_values(
    metric: str, records: Mapping[str, Sequence[Mapping[str, Any]]]
) -> Iterable[tuple[date, float]]:
    if metric == "pain":
        for entry in records.get("pain_entries", ()):
            yield parse_iso(entry["logged_at"]).date(), float(entry["pain_level"])
    else:
        for checkin in records.get("wellbeing", ()):
            yield date.fromisoformat(checkin["date"]), float(checkin["composite_score"])


def _summary(
    start: date, values: list[float], metric: str, k: int, cohort_suppressed: bool
) -> dict[str, Any]:
    size = len(values)
    if cohort_suppressed or size < k or size == 0:
        return {
            "start": start.isoformat(),
            "cohort_size": size,
            "suppressed": True,
            "mean": None,
            "sd": None,
            "p25": None,
            "median": None,
            "p75": None,
            "distribution": None,
        }
    array = np.asarray(values, dtype=float)
    p25, median, p75 = (float(q) for q in np.percentile(array, [25, 50, 75]))
    return {
        "start": start.isoformat(),
        "cohort_size": size,
        "suppressed": False,
        "mean": round(float(array.mean()), 2),
        "sd": round(float(array.std(ddof=1)), 2) if size > 1 else 0.0,
        "p25": round(p25, 2),
        "median": round(median, 2),
        "p75": round(p75, 2),
        "distribution": _distribution(array, metric),
    }


def _distribution(array: np.ndarray, metric: str) -> dict[str, float]:
    buckets = BUCKETS[metric]
    counts = dict.fromkeys((label for label, _ in buckets), 0)
    for value in array:
        label = next((label for label, low in reversed(buckets) if value >= low), buckets[0][0])
        counts[label] += 1
    return {label: round(count / len(array), 3) for label, count in counts.items()}
