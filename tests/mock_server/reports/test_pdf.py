"""The PDF parses, is in the requested language, and is byte-stable for the same inputs."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from mock_server.reports.analysis import analyze
from mock_server.reports.i18n import catalogue
from mock_server.reports.pdf import SUPPORTED_LANGUAGES, render_report, report_filename
from mock_server.reports.sentences import sentence
from tests.mock_server.reports.planted import START, Plan, build

GENERATED = datetime(2026, 5, 2, 9, 30, tzinfo=UTC)
END = START + timedelta(days=89)
PLAN = Plan(sleep_coupling=1.0, noise=0.8, weekday_effect={0: 2.0}, flares=((40, 41, 3.0),))


def render(lang: str, plan: Plan = PLAN, period_to: date = END) -> tuple[bytes, dict[str, Any]]:
    pain, wellbeing, vitals = build(plan)
    result = analyze(
        pain,
        wellbeing,
        vitals,
        period_from=START,
        period_to=period_to,
        patient_id="p2c_anon_3f9b2c1d8e",
        now=GENERATED,
        tz="Europe/Helsinki",
    )
    pdf = render_report(
        result,
        pain,
        wellbeing,
        vitals,
        lang=lang,
        patient_label="p2c_anon_3f9b2c1d8e",
        period_from=START,
        period_to=period_to,
        generated_at=GENERATED,
        tz="Europe/Helsinki",
    )
    return pdf, result


def text_of(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", " ", (page.extract_text() or "").replace("\xa0", " ")) for page in reader.pages]


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " "))


@pytest.fixture(scope="module")
def reports() -> dict[str, tuple[bytes, dict[str, Any]]]:
    return {lang: render(lang) for lang in SUPPORTED_LANGUAGES}


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_report_is_in_the_requested_language(
    reports: dict[str, tuple[bytes, dict[str, Any]]], lang: str
) -> None:
    pdf, result = reports[lang]
    assert pdf.startswith(b"%PDF-")
    pages = text_of(pdf)
    assert len(pages) == 2
    cat = catalogue(lang)
    first, second = pages
    for key in ("title", "findings", "pain_over_time", "body_areas", "qualities", "patient", "period"):
        assert norm(cat.text(f"labels.{key}")) in first, key
    for key in ("wellbeing", "methods"):
        assert norm(cat.text(f"labels.{key}")) in second, key
    assert norm(cat.text("areas.lower_back")) in first
    assert cat.date_long(START) in first
    found = next(f for f in result["findings"] if f["kind"] == "sleep_correlation")
    assert found["status"] == "found"
    opening = " ".join(norm(sentence(found, cat)).split()[:4])
    assert opening in first
    if lang != "en":
        assert norm(catalogue("en").text("labels.title")) not in first


def test_pdf_metadata_and_language(reports: dict[str, tuple[bytes, dict[str, Any]]]) -> None:
    reader = PdfReader(io.BytesIO(reports["fi"][0]))
    assert reader.metadata is not None
    assert reader.metadata.title == catalogue("fi").text("labels.title")
    assert reader.metadata.creation_date == GENERATED
    assert str(reader.root_object["/Lang"]) == "fi"


def test_same_inputs_give_the_same_bytes(reports: dict[str, tuple[bytes, dict[str, Any]]]) -> None:
    assert render("de")[0] == reports["de"][0]


def test_empty_period_still_renders() -> None:
    pdf, result = render("sv", Plan(days=0))
    assert result["data_sufficiency"]["pain_entries"] == 0
    pages = text_of(pdf)
    assert norm(catalogue("sv").text("labels.no_data")) in pages[0]
    assert norm(catalogue("sv").text("labels.insufficient")) in pages[0]


def test_unsupported_language() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        render("pt")


def test_report_filename() -> None:
    assert report_filename("p2c_anon_3f9b2c1d8e", date(2026, 2, 1), date(2026, 5, 1), "fi") == (
        "pain-report_p2c_anon_3f9b2c1d8e_2026-02-01_2026-05-01_fi.pdf"
    )
    assert "/" not in report_filename("../x y", date(2026, 2, 1), date(2026, 5, 1), "en")
