"""Population statistics: correct numbers, k-anonymity suppression, and the contract's shape."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.analytics import population
from tests.mock_server.reports.openapi_schema import assert_valid

MONDAY = date(2026, 4, 6)


def entry(day: date, level: int, hour: int = 9) -> dict[str, Any]:
    return {"pain_level": level, "logged_at": f"{day.isoformat()}T{hour:02d}:00:00Z"}


def checkin(day: date, raw: int) -> dict[str, Any]:
    return {"date": day.isoformat(), "raw_score": raw, "composite_score": raw * 4}


def cohort(levels: list[int], days: int = 7) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """One patient per level, each logging that level once a day (twice on the first day)."""
    return {
        f"p{i}": {
            "pain_entries": [entry(MONDAY, level, 8)]
            + [entry(MONDAY + timedelta(days=d), level) for d in range(days)]
        }
        for i, level in enumerate(levels)
    }


def test_weekly_pain_statistics() -> None:
    result = population(
        cohort([2, 4, 5, 6, 8, 9]),
        metric="pain",
        group_by="week",
        period_from=MONDAY,
        period_to=MONDAY + timedelta(days=6),
    )
    assert result["cohort_size"] == 6
    assert result["k_anonymity_threshold"] == 5
    (group,) = result["groups"]
    assert group["start"] == "2026-04-06"
    assert group["cohort_size"] == 6 and group["suppressed"] is False
    assert group["mean"] == pytest.approx(34 / 6, abs=0.01)
    assert group["median"] == 5.5
    assert group["distribution"] == {
        "0-3": pytest.approx(1 / 6, abs=1e-3),
        "4-6": 0.5,
        "7-10": pytest.approx(1 / 3, abs=1e-3),
    }
    assert_valid("PopulationAnalytics", result)


def test_small_groups_are_suppressed() -> None:
    series = cohort([3, 4, 5, 6, 7], days=7)
    series["p0"]["pain_entries"] = [entry(MONDAY, 3)]  # only on day one
    result = population(
        series, metric="pain", group_by="day", period_from=MONDAY, period_to=MONDAY + timedelta(days=2)
    )
    first, second, _ = result["groups"]
    assert first["cohort_size"] == 5 and not first["suppressed"]
    assert second == {
        "start": "2026-04-07",
        "cohort_size": 4,
        "suppressed": True,
        "mean": None,
        "sd": None,
        "p25": None,
        "median": None,
        "p75": None,
        "distribution": None,
    }
    assert_valid("PopulationAnalytics", result)


def test_small_cohort_suppresses_everything() -> None:
    result = population(
        cohort([5, 5, 5, 5]),
        metric="pain",
        group_by="week",
        period_from=MONDAY,
        period_to=MONDAY + timedelta(days=6),
        k=5,
    )
    assert result["cohort_size"] == 4
    assert all(g["suppressed"] and g["mean"] is None for g in result["groups"])


def test_whole_cohort_below_k_even_if_a_group_is_not() -> None:
    result = population(
        cohort([5, 5, 5]),
        metric="pain",
        group_by="week",
        period_from=MONDAY,
        period_to=MONDAY + timedelta(days=6),
        k=3,
    )
    assert not result["groups"][0]["suppressed"]
    result = population(
        cohort([5, 5, 5]),
        metric="pain",
        group_by="week",
        period_from=MONDAY,
        period_to=MONDAY + timedelta(days=6),
        k=4,
    )
    assert result["groups"][0]["suppressed"]


def test_adherence_counts_every_consented_patient() -> None:
    series: dict[str, dict[str, list[dict[str, Any]]]] = {f"p{i}": {} for i in range(5)}
    series["p0"] = {"pain_entries": [entry(MONDAY + timedelta(days=d), 5) for d in range(7)]}
    result = population(
        series, metric="adherence", group_by="week", period_from=MONDAY, period_to=MONDAY + timedelta(days=6)
    )
    (group,) = result["groups"]
    assert group["cohort_size"] == 5
    assert group["mean"] == 20.0
    assert group["distribution"] == {"0-49": 0.8, "50-79": 0.0, "80-100": 0.2}


def test_wellbeing_uses_who5_bands() -> None:
    series = {f"p{i}": {"wellbeing": [checkin(MONDAY, raw)]} for i, raw in enumerate([5, 7, 10, 13, 20])}
    result = population(series, metric="wellbeing", group_by="day", period_from=MONDAY, period_to=MONDAY)
    assert result["groups"][0]["distribution"] == {"0-28": 0.4, "29-51": 0.2, "52-100": 0.4}


def test_weeks_are_iso_weeks_clipped_to_the_period() -> None:
    result = population(
        {}, metric="pain", group_by="week", period_from=date(2026, 4, 9), period_to=date(2026, 4, 21)
    )
    assert [g["start"] for g in result["groups"]] == ["2026-04-09", "2026-04-13", "2026-04-20"]
    assert result["cohort_size"] == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metric": "steps"},
        {"group_by": "month"},
        {"k": 0},
        {"period_from": date(2026, 5, 2), "period_to": date(2026, 5, 1)},
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "metric": "pain",
        "group_by": "day",
        "period_from": MONDAY,
        "period_to": MONDAY,
    }
    with pytest.raises(ValueError):
        population({}, **{**arguments, **kwargs})


patients = st.dictionaries(
    st.text("abcdef", min_size=1, max_size=4),
    st.fixed_dictionaries(
        {
            "pain_entries": st.lists(
                st.builds(
                    entry,
                    st.integers(0, 20).map(lambda d: MONDAY + timedelta(days=d)),
                    st.integers(0, 10),
                    st.integers(0, 23),
                ),
                max_size=15,
            ),
            "wellbeing": st.lists(
                st.builds(
                    checkin, st.integers(0, 20).map(lambda d: MONDAY + timedelta(days=d)), st.integers(0, 25)
                ),
                max_size=10,
            ),
        }
    ),
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(
    patients,
    st.sampled_from(["pain", "wellbeing", "adherence"]),
    st.sampled_from(["day", "week"]),
    st.integers(2, 6),
    st.integers(0, 20),
)
def test_no_unsuppressed_group_is_smaller_than_k(
    series: dict[str, Any], metric: Any, group_by: Any, k: int, length: int
) -> None:
    result = population(
        series,
        metric=metric,
        group_by=group_by,
        period_from=MONDAY,
        period_to=MONDAY + timedelta(days=length),
        k=k,
    )
    for group in result["groups"]:
        if group["suppressed"]:
            assert all(group[key] is None for key in ("mean", "sd", "p25", "median", "p75", "distribution"))
        else:
            assert group["cohort_size"] >= k and result["cohort_size"] >= k
            assert group["p25"] <= group["median"] <= group["p75"]
            assert sum(group["distribution"].values()) == pytest.approx(1.0, abs=0.01)
    assert_valid("PopulationAnalytics", result)
