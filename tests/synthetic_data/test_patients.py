"""Patient profiles: deterministic, unique, valid, and faithful to their overrides."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest

from synthetic_data.demographics import TIMEZONES
from synthetic_data.generate import generate_days
from synthetic_data.patients import make_profile
from synthetic_data.vocab import CONDITIONS, LOCALES, SEVERITIES, VITAL_SOURCES

EMAIL = re.compile(r"^[a-z]+(\.[a-z]+)*\.[a-z0-9]+@patients\.example$")


def test_emails_are_unique_ascii_and_under_patients_example() -> None:
    profiles = [make_profile(1, i) for i in range(1500)]
    emails = [p.email for p in profiles]
    assert len(set(emails)) == len(emails)
    assert all(EMAIL.match(e) for e in emails), [e for e in emails if not EMAIL.match(e)][:3]
    assert len({p.patient_key for p in profiles}) == len(profiles)
    assert all(re.fullmatch(r"p2c_anon_[a-z0-9]{6,32}", p.patient_id) for p in profiles)


def test_the_default_mix_covers_the_catalogue() -> None:
    profiles = [make_profile(2, i) for i in range(800)]
    assert {p.condition for p in profiles} == set(CONDITIONS)
    assert {p.baseline_severity for p in profiles} == set(SEVERITIES)
    assert {p.locale for p in profiles} == set(LOCALES)
    assert {s for p in profiles for s in p.sources} == set(VITAL_SOURCES)
    assert any(not p.sources for p in profiles)  # some patients track without a device
    for p in profiles:
        assert p.timezone in {zone for zone, _ in TIMEZONES[p.locale]}
        assert 1930 <= p.birth_year <= 2008
        assert p.display_name.endswith(".") and p.given_name in p.display_name
    severe = sum(p.baseline_severity == "severe" for p in profiles) / len(profiles)
    moderate = sum(p.baseline_severity == "moderate" for p in profiles) / len(profiles)
    assert 1.4 < moderate / severe < 2.6  # Breivik 2006: two moderate for each severe


@pytest.mark.parametrize(
    "kwargs",
    [{"condition": "gout"}, {"baseline_severity": "extreme"}, {"locale": "xx_XX"}, {"sources": ("fitbit",)}],
)
def test_values_outside_the_contract_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_profile(1, 1, **kwargs)  # type: ignore[arg-type]


def test_sources_override_is_normalized_and_deduplicated() -> None:
    profile = make_profile(4, 4, sources=("oura", "polar", "oura"))
    assert profile.sources == ("polar", "oura")
    assert {s for s, _, _ in profile.habits.kit} == {"polar", "oura"}
    assert make_profile(4, 4, sources=()).sources == ()


def test_the_sandbox_start_up_load_is_well_under_a_second() -> None:
    """The sandbox seeds ~25 patients x 90 days at start-up."""
    started = time.perf_counter()
    for i in range(25):
        generate_days(make_profile(123, i), date(2026, 2, 1), 0, 90)
    assert time.perf_counter() - started < 1.0
