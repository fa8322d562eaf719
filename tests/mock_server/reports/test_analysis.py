"""The analysis finds planted patterns, stays quiet on noise, and says when data are too few."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.reports.analysis import KINDS, STATUSES, analyze
from mock_server.reports.series import build_series
from tests.mock_server.reports.openapi_schema import assert_valid
from tests.mock_server.reports.planted import START, Plan, build

NOW = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


def run(plan: Plan, **kwargs: Any) -> dict[str, Any]:
    pain, wellbeing, vitals = build(plan)
    return analyze(
        pain,
        wellbeing,
        vitals,
        period_from=plan.start,
        period_to=plan.start + timedelta(days=plan.days - 1),
        patient_id="p2c_anon_3f9b2c1d8e",
        now=NOW,
        **kwargs,
    )


def finding(result: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(f for f in result["findings"] if f["kind"] == kind)


def test_shape_matches_the_contract() -> None:
    result = run(Plan())
    assert [f["kind"] for f in result["findings"]] == list(KINDS)
    assert result["period"] == {"from": "2026-02-01", "to": "2026-05-01", "days": 90}
    assert result["data_sufficiency"] == {
        "pain_entries": 180,
        "days_with_entries": 90,
        "checkin_rate": 1.0,
        "sufficient": True,
    }
    assert result["generated_at"] == "2026-05-02T09:00:00Z"
    assert_valid("PatternAnalysis", result)


def test_planted_sleep_coupling_is_found() -> None:
    result = run(Plan(sleep_coupling=1.0, noise=0.8))
    sleep = finding(result, "sleep_correlation")
    assert sleep["status"] == "found"
    assert sleep["statistics"]["r"] < -0.3
    assert sleep["statistics"]["ci95_high"] < 0
    assert sleep["summary"].startswith("After shorter sleep, pain was higher the next day")
    assert finding(result, "hrv_correlation")["status"] != "found"


def test_planted_hrv_coupling_is_found() -> None:
    hrv = finding(run(Plan(hrv_coupling=1.2, noise=0.8, seed=3)), "hrv_correlation")
    assert hrv["status"] == "found"
    assert hrv["statistics"]["r"] < 0
    assert "lower heart rate variability" in hrv["summary"]


def test_pure_noise_rarely_yields_a_finding() -> None:
    """Across 20 noise-only patients, each pattern is reported at most twice (alpha 5 % plus margin)."""
    false_positives = dict.fromkeys(
        (
            "trend",
            "weekday_pattern",
            "time_of_day_pattern",
            "sleep_correlation",
            "hrv_correlation",
            "wellbeing_trajectory",
        ),
        0,
    )
    for seed in range(20):
        result = run(Plan(seed=seed, noise=1.6))
        for kind in false_positives:
            false_positives[kind] += finding(result, kind)["status"] == "found"
    assert all(count <= 2 for count in false_positives.values()), false_positives


def test_too_few_entries_gives_not_enough_data() -> None:
    result = run(Plan(days=6))
    for kind in KINDS:
        expected = "found" if kind == "adherence" else "not_enough_data"
        assert finding(result, kind)["status"] == expected, kind
    assert result["data_sufficiency"]["sufficient"] is False
    assert finding(result, "trend")["summary"] == (
        "Too little data for a pain trend (6 of the 14 days with entries needed)."
    )
    assert finding(result, "sleep_correlation")["statistics"] == {"n": 6, "n_required": 14}


def test_no_data_at_all() -> None:
    result = analyze([], [], [], period_from=START, period_to=START, patient_id="p2c_anon_abcdef", now=NOW)
    assert {f["status"] for f in result["findings"]} == {"not_enough_data"}
    assert finding(result, "adherence")["summary"] == "No pain entries in this period."
    assert result["flares"] == [] and result["top_areas"] == [] and result["top_qualities"] == []
    assert result["data_sufficiency"]["checkin_rate"] == 0.0
    assert_valid("PatternAnalysis", result)


def test_planted_downward_trend() -> None:
    trend = finding(run(Plan(slope_per_day=-0.03)), "trend")
    assert trend["status"] == "found"
    stats = trend["statistics"]
    assert stats["ci95_low"] <= -0.03 <= stats["ci95_high"]
    per_month = abs(stats["slope_per_month"])
    assert trend["summary"].startswith(f"Pain decreased by about {per_month:.1f} points per month (95% CI -")


def test_constant_pain_has_no_trend_and_no_crash() -> None:
    result = run(Plan(noise=0.0))
    assert finding(result, "trend")["status"] == "not_found"
    assert finding(result, "sleep_correlation")["status"] == "not_enough_data"
    assert finding(result, "sleep_correlation")["summary"].startswith("Sleep or pain varied too little")


def test_planted_weekday_pattern() -> None:
    weekday = finding(run(Plan(weekday_effect={0: 2.5})), "weekday_pattern")
    assert weekday["status"] == "found"
    assert weekday["statistics"]["worst"] == 0
    assert weekday["summary"].startswith("Pain was highest on Mondays")


def test_planted_time_of_day_pattern_in_the_patients_zone() -> None:
    # Entries at 05:00 and 17:00 UTC are 07:00 (morning) and 19:00 (evening) in Helsinki (UTC+2 in Feb).
    plan = Plan(hours=(5, 17), hour_effect={5: 2.0})
    local = finding(run(plan, tz="Europe/Helsinki"), "time_of_day_pattern")
    assert local["status"] == "found"
    assert local["summary"].startswith("Pain was highest in the morning")
    utc = finding(run(plan), "time_of_day_pattern")
    assert utc["summary"].startswith("Pain was highest at night")


def test_planted_flare_is_one_episode() -> None:
    result = run(Plan(noise=0.3, flares=((40, 42, 3.5),)))
    assert finding(result, "flares")["status"] == "found"
    assert len(result["flares"]) == 1
    flare = result["flares"][0]
    assert flare["start"] == "2026-03-13T08:00:00Z"
    assert flare["end"] == "2026-03-15T20:00:00Z"
    assert flare["peak"] >= 8 and flare["baseline"] == 5.0


def test_quiet_patient_has_no_flares() -> None:
    result = run(Plan(noise=0.3))
    assert finding(result, "flares")["status"] == "not_found"
    assert result["flares"] == []


def test_planted_wellbeing_improvement() -> None:
    wellbeing = finding(run(Plan(who5_slope_per_day=0.3)), "wellbeing_trajectory")
    assert wellbeing["status"] == "found"
    assert wellbeing["statistics"]["change"] > 20
    assert wellbeing["summary"].startswith("Wellbeing (WHO-5) improved by about")


def test_adherence_counts_days_and_the_longest_gap() -> None:
    adherence = finding(run(Plan(skip_days=[*range(10, 15), 50])), "adherence")
    assert adherence["statistics"]["days_with_entries"] == 84
    assert adherence["statistics"]["longest_gap_days"] == 5
    assert adherence["statistics"]["checkin_rate"] == round(84 / 90, 4)
    assert adherence["summary"] == (
        "Pain was logged on 84 of 90 days (93%); longest gap without entries (days): 5."
    )


def test_top_areas_and_qualities() -> None:
    result = run(Plan(days=30))
    assert [a["id"] for a in result["top_areas"]] == ["left_knee", "lower_back", "neck"]
    assert sum(a["count"] for a in result["top_areas"]) == 60
    assert all(0 < q["share"] <= 1 for q in result["top_qualities"])


def test_night_values_pair_with_the_following_day() -> None:
    vitals = [
        {"metric": "sleep_duration", "value": 420, "unit": "min", "measured_at": "2026-02-02T06:00:00Z"},
        {"metric": "sleep_duration", "value": 6.5, "unit": "h", "measured_at": "2026-02-02T22:30:00Z"},
        {"metric": "hrv_rmssd", "value": 40, "unit": "ms", "measured_at": "2026-02-02T11:59:00Z"},
    ]
    series = build_series([], [], vitals, period_from=date(2026, 2, 1), period_to=date(2026, 2, 5))
    assert series.sleep_hours == {date(2026, 2, 2): 7.0, date(2026, 2, 3): 6.5}
    assert series.hrv_ms == {date(2026, 2, 2): 40.0}


def test_entry_day_follows_the_patients_zone() -> None:
    entry = {"pain_level": 4, "areas": [], "qualities": [], "logged_at": "2026-02-01T23:30:00Z"}
    helsinki = build_series(
        [entry], [], [], period_from=date(2026, 2, 1), period_to=date(2026, 2, 2), tz="Europe/Helsinki"
    )
    assert list(helsinki.daily_pain) == [date(2026, 2, 2)]


def test_deterministic() -> None:
    assert run(Plan(seed=5)) == run(Plan(seed=5))


iso_minutes = st.integers(0, 20 * 24 * 60)


@st.composite
def records(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    def at(minutes: int) -> str:
        return (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    pain = [
        {
            "pain_level": level,
            "areas": [{"id": area, "max_intensity": level}],
            "qualities": quals,
            "overall_wellbeing": wb,
            "vitals": vit,
            "logged_at": at(minute),
        }
        for level, area, quals, wb, vit, minute in draw(
            st.lists(
                st.tuples(
                    st.integers(0, 10),
                    st.sampled_from(["neck", "left_knee", "pelvis"]),
                    st.lists(st.sampled_from(["aching", "sharp", "numbness"]), unique=True, max_size=3),
                    st.none() | st.floats(0, 5),
                    st.none()
                    | st.fixed_dictionaries(
                        {
                            "source": st.just("oura"),
                            "metrics": st.fixed_dictionaries(
                                {}, optional={"hrv": st.floats(1, 300), "sleep_duration": st.floats(0, 16)}
                            ),
                        }
                    ),
                    iso_minutes,
                ),
                max_size=80,
            )
        )
    ]
    wellbeing = [
        {"date": (date(2026, 1, 1) + timedelta(days=d)).isoformat(), "composite_score": s * 4}
        for d, s in draw(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 25)), max_size=25))
    ]
    vitals = [
        {"metric": metric, "value": value, "unit": "h", "measured_at": at(minute)}
        for metric, value, minute in draw(
            st.lists(
                st.tuples(
                    st.sampled_from(["sleep_duration", "hrv_rmssd", "steps"]), st.floats(0, 300), iso_minutes
                ),
                max_size=40,
            )
        )
    ]
    return pain, wellbeing, vitals


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records(),
    st.integers(0, 20),
    st.integers(0, 20),
    st.sampled_from(["UTC", "Europe/Helsinki", "America/Lima"]),
)
def test_any_input_gives_a_valid_analysis(
    data: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]], a: int, b: int, tz: str
) -> None:
    pain, wellbeing, vitals = data
    first, last = sorted((date(2026, 1, 1) + timedelta(days=a), date(2026, 1, 1) + timedelta(days=b)))
    result = analyze(
        pain,
        wellbeing,
        vitals,
        period_from=first,
        period_to=last,
        patient_id="p2c_anon_abcdef",
        now=NOW,
        tz=tz,
    )
    assert [f["kind"] for f in result["findings"]] == list(KINDS)
    for item in result["findings"]:
        assert item["status"] in STATUSES
        assert item["summary"] and "{" not in item["summary"]
        for value in item["statistics"].values():
            assert value is None or (isinstance(value, int | float) and math.isfinite(value))
    json.dumps(result, allow_nan=False)
    assert 0.0 <= result["data_sufficiency"]["checkin_rate"] <= 1.0
