"""Every catalogue is complete (same keys and placeholders as English) and formats like its locale."""

from __future__ import annotations

import json
from datetime import date, datetime
from importlib import resources
from typing import Any

import pytest
import yaml

from mock_server.reports.i18n import SUPPORTED_LANGUAGES, catalogue, placeholders
from mock_server.reports.sentences import VARIANTS, sentence
from mock_server.settings import DEFAULT_SPEC

# The catalogues must name every body area and pain quality the contract can carry.
_SCHEMAS = yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
BODY_AREAS: list[str] = _SCHEMAS["BodyArea"]["enum"]
PAIN_QUALITIES: list[str] = _SCHEMAS["PainQuality"]["enum"]
DATE_FIELDS = {"day", "dd", "month", "mon", "month_number", "mm", "year"}
LIST_LENGTHS = {
    "months": 12,
    "months_short": 12,
    "weekdays": 7,
    "weekdays_short": 7,
    "weekdays_phrase": 7,
    "parts_of_day": 4,
    "parts_of_day_phrase": 4,
}


def raw(lang: str) -> dict[str, Any]:
    text = resources.files("mock_server.reports.i18n").joinpath(f"{lang}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): node}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_catalogue_has_exactly_the_english_keys_and_placeholders(lang: str) -> None:
    english, other = flatten(raw("en")), flatten(raw(lang))
    assert sorted(set(english) - set(other)) == [], "missing keys"
    assert sorted(set(other) - set(english)) == [], "unknown keys"
    for key, template in english.items():
        if isinstance(template, str):
            assert isinstance(other[key], str) and (other[key].strip() or key == "meta.thousands"), key
            if key.startswith("meta.date"):  # date patterns choose their own fields (4.5.2026 vs 4 May)
                assert placeholders(other[key]) <= DATE_FIELDS, key
            else:
                assert placeholders(other[key]) == placeholders(template), key
        else:
            assert len(other[key]) == len(template) == LIST_LENGTHS[key], key


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_enum_value_and_finding_variant_has_a_text(lang: str) -> None:
    cat = catalogue(lang)
    for area in BODY_AREAS:
        assert cat.text(f"areas.{area}")
    for quality in PAIN_QUALITIES:
        assert cat.text(f"qualities.{quality}")
    for kind, variants in VARIANTS.items():
        for variant in variants:
            assert cat.text(f"findings.{kind}.{variant}")


def test_translations_are_not_english_copies() -> None:
    english = flatten(raw("en"))
    for lang in SUPPORTED_LANGUAGES[1:]:
        other = flatten(raw(lang))
        same = [
            k
            for k, v in english.items()
            if isinstance(v, str) and k.startswith(("labels", "findings")) and v == other[k]
        ]
        assert len(same) <= 2, (lang, same)  # "Period"/"Patient (pseudonym)" may coincide


def test_missing_key_and_unknown_language_raise() -> None:
    with pytest.raises(KeyError):
        catalogue("en").text("labels.no_such_label")
    with pytest.raises(ValueError, match="unsupported language"):
        catalogue("pt")


@pytest.mark.parametrize(
    ("lang", "number", "percent", "long_date", "short_dt"),
    [
        ("en", "-1,234.5", "93%", "4 May 2026", "4 May 09:05"),
        ("fi", "\u22121\u00a0234,5", "93\u00a0%", "4.5.2026", "4.5. 09.05"),
        ("sv", "\u22121\u00a0234,5", "93\u00a0%", "4 maj 2026", "4 maj 09:05"),
        ("de", "\u22121.234,5", "93\u00a0%", "4. Mai 2026", "4. Mai 09:05"),
        ("fr", "\u22121\u00a0234,5", "93\u00a0%", "4 mai 2026", "4 mai 09:05"),
        ("es", "\u22121.234,5", "93\u00a0%", "4 de mayo de 2026", "4 may 09:05"),
        ("it", "\u22121.234,5", "93%", "4 maggio 2026", "4 mag 09:05"),
    ],
)
def test_locale_formats(lang: str, number: str, percent: str, long_date: str, short_dt: str) -> None:
    cat = catalogue(lang)
    assert cat.number(-1234.49, 1) == number
    assert cat.percent(0.934) == percent
    assert cat.date_long(date(2026, 5, 4)) == long_date
    assert cat.datetime_short(datetime(2026, 5, 4, 9, 5)) == short_dt


def test_no_negative_zero_and_explicit_plus() -> None:
    cat = catalogue("de")
    assert cat.number(-0.04, 1) == "0,0"
    assert cat.signed(0.26, 1) == "+0,3"
    assert cat.signed(-0.26, 1) == "\u22120,3"
    assert cat.signed(0.0, 1) == "0,0"


SAMPLE_STATISTICS: dict[str, dict[str, Any]] = {
    "trend": {"slope_per_month": -0.8, "ci95_low": -0.04, "ci95_high": -0.01, "n": 84, "n_required": 14},
    "flares": {
        "n": 84,
        "n_required": 14,
        "rise": 2.0,
        "baseline_days": 7,
        "count": 3,
        "per_30_days": 1.0,
        "max_peak": 9.0,
    },
    "weekday_pattern": {
        "n": 84,
        "n_required": 3,
        "worst": 0,
        "best": 5,
        "worst_mean": 6.1,
        "best_mean": 4.2,
        "difference": 1.9,
    },
    "time_of_day_pattern": {
        "n": 160,
        "n_required": 10,
        "worst": 1,
        "best": 3,
        "worst_mean": 6.0,
        "best_mean": 4.5,
        "difference": 1.5,
    },
    "sleep_correlation": {"n": 60, "n_required": 14, "r": -0.41, "ci95_low": -0.6, "ci95_high": -0.17},
    "hrv_correlation": {"n": 60, "n_required": 14, "r": 0.05, "ci95_low": -0.2, "ci95_high": 0.3},
    "wellbeing_trajectory": {
        "n": 80,
        "n_required": 10,
        "change": 12.0,
        "fitted_start": 44.0,
        "fitted_end": 56.0,
        "mean": 50.0,
    },
    "adherence": {"checkin_rate": 0.93, "days_with_entries": 84, "days": 90, "longest_gap_days": 3},
}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("kind", list(VARIANTS))
def test_every_status_renders_a_sentence(lang: str, kind: str) -> None:
    cat = catalogue(lang)
    statuses = (
        ("found", "not_enough_data") if kind == "adherence" else ("found", "not_found", "not_enough_data")
    )
    for status in statuses:
        text = sentence({"kind": kind, "status": status, "statistics": SAMPLE_STATISTICS[kind]}, cat)
        assert text and "{" not in text and "}" not in text


def test_localized_sentence_uses_locale_numbers() -> None:
    finding = {
        "kind": "sleep_correlation",
        "status": "found",
        "statistics": SAMPLE_STATISTICS["sleep_correlation"],
    }
    assert sentence(finding, catalogue("de")).startswith(
        "Nach kürzerem Schlaf war der Schmerz am Folgetag stärker"
    )
    assert "r = \u22120,41" in sentence(finding, catalogue("fi"))
    assert "r = -0.41" in sentence(finding, catalogue("en"))
