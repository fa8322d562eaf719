"""Generated cohorts meet the realism targets of DESIGN.md "Data realism" (statistics from stats.py,
computed on the records exactly as the API would serve them)."""

from __future__ import annotations

from datetime import date
from statistics import fmean

import pytest

from synthetic_data.conditions import CATALOGUE
from synthetic_data.describe import expected_flares_per_6_weeks
from synthetic_data.generate import generate_days
from synthetic_data.patient_records import patient_record
from synthetic_data.patients import make_profile
from synthetic_data.stats import CohortStats, PatientStats, cohort_stats, patient_stats
from synthetic_data.vocab import CONDITIONS

PER_CONDITION = 25
DAYS = 365
START = date(2026, 1, 5)


def _cohort(messiness: float, per_condition: int, days: int, seed: int) -> list[PatientStats]:
    stats = []
    for c, condition in enumerate(CONDITIONS):
        for i in range(per_condition):
            profile = make_profile(seed, c * 10_000 + i, condition=condition)
            series = generate_days(profile, START, 0, days, messiness)
            stats.append(
                patient_stats(
                    patient_record(profile),
                    days=days,
                    pain_entries=series.pain_entries,
                    wellbeing=series.wellbeing,
                    gauges=series.gauges,
                    vitals=series.vitals,
                    flares=series.flares,
                )
            )
    return stats


@pytest.fixture(scope="module")
def patients() -> list[PatientStats]:
    return _cohort(0.3, PER_CONDITION, DAYS, seed=2024)


@pytest.fixture(scope="module")
def cohort(patients: list[PatientStats]) -> CohortStats:
    return cohort_stats(patients)


def test_daily_pain_mean_per_condition_is_in_its_documented_band(cohort: CohortStats) -> None:
    for group in cohort.conditions:
        low, high = CATALOGUE[group.name].pain_band
        assert group.pain_mean is not None and low <= group.pain_mean <= high, (group.name, group.pain_mean)


def test_within_person_sd_is_realistic(patients: list[PatientStats], cohort: CohortStats) -> None:
    """Harris 2005: 1.61 ± 0.66 (0.27-4.05); every patient between 0.5 and 3."""
    sds = [p.pain_sd for p in patients]
    assert all(s is not None and 0.5 <= s <= 3.0 for s in sds), sorted(s or 0 for s in sds)[:3]
    assert cohort.overall.pain_sd is not None and 1.2 <= cohort.overall.pain_sd <= 2.0


def test_daily_pain_is_autocorrelated(patients: list[PatientStats], cohort: CohortStats) -> None:
    for group in cohort.conditions:
        assert group.pain_ac1 is not None and group.pain_ac1 > 0.2, (group.name, group.pain_ac1)
    assert sum((p.pain_ac1 or 0) > 0.2 for p in patients) / len(patients) > 0.9


def test_flares_happen_at_the_documented_rate(cohort: CohortStats) -> None:
    """Ground truth within 25 % of the catalogue rate; and the data shows them (entries >= 2 points up)."""
    for group in cohort.conditions:
        expected = expected_flares_per_6_weeks(group.name)
        assert group.true_flares_per_6_weeks is not None
        assert abs(group.true_flares_per_6_weeks / expected - 1) < 0.25, (
            group.name,
            group.true_flares_per_6_weeks,
        )
        assert group.flares_per_6_weeks is not None and group.flares_per_6_weeks > 1.0
        assert group.flare_recall is not None and group.flare_recall > 0.25, (group.name, group.flare_recall)
    back_pain = next(g for g in cohort.conditions if g.name == "chronic_low_back_pain")
    assert (
        back_pain.true_flares_per_6_weeks is not None and 2.7 <= back_pain.true_flares_per_6_weeks <= 4.6
    )  # Suri 2011: 3.5


def test_flares_lower_wellbeing(cohort: CohortStats) -> None:
    for group in cohort.conditions:
        assert group.flare_who5_delta is not None and group.flare_who5_delta < -5, (
            group.name,
            group.flare_who5_delta,
        )


def test_who5_arithmetic_is_exact_and_scores_plausible(cohort: CohortStats) -> None:
    assert cohort.who5_errors == 0
    assert cohort.overall.who5_mean is not None and 35 <= cohort.overall.who5_mean <= 65
    assert cohort.overall.who5_ac1 is not None and cohort.overall.who5_ac1 > 0.1


def test_vitals_stay_inside_physiological_ranges(cohort: CohortStats) -> None:
    assert {key: v.out_of_range for key, v in cohort.vitals.items() if v.out_of_range} == {}
    assert cohort.gauge_out_of_scale == 0
    resting = cohort.vitals[("resting_heart_rate", "bpm")].moments
    assert 60 <= resting.mean <= 71  # Quer 2020: 65.5 bpm
    sleep = cohort.vitals[("sleep_duration", "h")].moments
    assert 6.3 <= sleep.mean <= 7.5
    steps = cohort.vitals[("steps", "count")].moments
    assert 4_000 <= steps.mean <= 8_500  # Paluch 2022 quartile medians 3.6k-10.9k, chronic pain lower
    spo2 = cohort.vitals[("spo2", "%")].moments
    assert 95 <= spo2.mean <= 99


def test_short_sleep_and_low_hrv_go_with_worse_pain(
    patients: list[PatientStats], cohort: CohortStats
) -> None:
    assert cohort.overall.sleep_pain_r is not None and cohort.overall.sleep_pain_r < -0.1
    assert cohort.overall.hrv_pain_r is not None and cohort.overall.hrv_pain_r < -0.1
    rs = [p.sleep_pain_r for p in patients if p.sleep_pain_r is not None]
    assert len(rs) > 50 and sum(r < 0 for r in rs) / len(rs) > 0.85


def test_weekends_change_steps(cohort: CohortStats) -> None:
    ratio = cohort.overall.weekend_steps_ratio
    assert ratio is not None and 0.8 <= ratio <= 0.97


def test_messiness_zero_is_a_perfect_diary_and_one_is_messier() -> None:
    clean = cohort_stats(_cohort(0.0, 3, 120, seed=7)).overall
    messy = cohort_stats(_cohort(1.0, 3, 120, seed=7)).overall
    assert clean.pain_missing == 0 and clean.wellbeing_missing == 0 and clean.gauge_missing == 0
    assert clean.late_share == 0 and clean.duplicate_share == 0
    # spot devices (a blood-pressure cuff, a scale) are not used daily, so "device days" never reach 100 %
    assert clean.device_missing is not None and messy.device_missing is not None
    assert messy.device_missing > clean.device_missing + 0.1
    assert messy.pain_missing is not None and messy.pain_missing > 0.2
    assert messy.late_share is not None and messy.late_share > 0.03
    assert messy.duplicate_share is not None and messy.duplicate_share > 0.02


def test_severity_orders_pain(patients: list[PatientStats]) -> None:
    by_severity = {
        s: fmean(
            p.pain_mean for p in patients if p.severity == s and p.condition != "migraine" and p.pain_mean
        )
        for s in ("mild", "moderate", "severe")
    }
    assert by_severity["mild"] + 1.0 < by_severity["moderate"] < by_severity["severe"] - 0.8, by_severity


def test_a_clean_wearable_reports_every_night() -> None:
    profile = make_profile(3, 1, sources=("oura",))
    series = generate_days(profile, START, 0, 60, messiness=0.0)
    nights = [v for v in series.vitals if v["metric"] == "sleep_duration"]
    assert len(nights) == 60 and len({v["measured_at"][:10] for v in nights}) >= 59
