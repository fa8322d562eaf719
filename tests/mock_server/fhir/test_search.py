"""Parsing FHIR Observation searches, and matching/sorting Observations the way the R4 spec says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.fhir.search import (
    DEFAULT_COUNT,
    FhirSearchError,
    matches,
    page_of,
    parse_date,
    parse_observation_search,
    search,
)
from tests.mock_server.fhir.observations import LOINC, PAIN, SLEEP, observation, series

PATIENT = "p2c-anon-3f9b2c1d8e"


def q(**params: Any) -> dict[str, list[str]]:
    query = {"patient": [PATIENT]}
    for key, value in params.items():
        query[key.replace("__", ":").lstrip("x")] = value if isinstance(value, list) else [value]
    return query


def ids(results: list[Any]) -> list[str]:
    return [r["id"] for r in results]


def test_defaults() -> None:
    query = parse_observation_search(q())
    assert query.patient == PATIENT
    assert (query.count, query.page, query.sort) == (DEFAULT_COUNT, 1, None)
    assert query.link_params() == [("patient", PATIENT)]


@pytest.mark.parametrize("reference", [PATIENT, f"Patient/{PATIENT}", f"http://h/fhir/r4/Patient/{PATIENT}"])
def test_patient_reference_forms(reference: str) -> None:
    assert parse_observation_search({"patient": [reference]}).patient == PATIENT


@pytest.mark.parametrize(
    ("query", "param", "code"),
    [
        ({}, "patient", "required"),
        ({"patient": ["a", "b"]}, "patient", "invalid"),
        ({"patient": ["a,b"]}, "patient", "invalid"),
        ({"patient": ["Group/a"]}, "patient", "invalid"),
        (q(date="zz2026-01-01"), "date", "invalid"),
        (q(date="sa2026-01-01"), "date", "not-supported"),
        (q(date="ge2026-13-01"), "date", "invalid"),
        (q(date="2026-02-30"), "date", "invalid"),
        (q(date="ge26-01-01"), "date", "invalid"),
        (q(date="2026-01-01T25:00Z"), "date", "invalid"),
        (q(code=""), "code", "invalid"),
        (q(code="|"), "code", "invalid"),
        (q(_count="-1"), "_count", "invalid"),
        (q(_count="501"), "_count", "invalid"),
        (q(_count="ten"), "_count", "invalid"),
        (q(_count=["5", "6"]), "_count", "invalid"),
        (q(_page="0"), "_page", "invalid"),
        (q(_sort="code"), "_sort", "not-supported"),
        (q(_sort="date,-date"), "_sort", "not-supported"),
        (q(code__text="pain"), "code:text", "not-supported"),
    ],
)
def test_bad_searches_name_the_parameter(query: dict[str, list[str]], param: str, code: str) -> None:
    with pytest.raises(FhirSearchError) as info:
        parse_observation_search(query)
    assert info.value.param == param
    assert info.value.code == code
    assert info.value.message


def test_unknown_parameters_are_ignored_unless_strict() -> None:
    query = parse_observation_search(q(category="vital-signs", _format="json"))
    assert query.ignored == ("category", "_format")
    assert ("category", "vital-signs") not in query.link_params()
    with pytest.raises(FhirSearchError) as info:
        parse_observation_search(q(category="vital-signs"), strict=True)
    assert info.value.code == "not-supported"
    assert parse_observation_search(q(_format="json"), strict=True).ignored == ("_format",)


def test_date_precision_ranges() -> None:
    assert parse_date("2026").high == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_date("2026-12").high == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_date("2026-02-03").low == datetime(2026, 2, 3, tzinfo=UTC)
    minute = parse_date("2026-02-03T10:15+02:00")
    assert minute.low == datetime(2026, 2, 3, 8, 15, tzinfo=UTC)
    assert minute.high - minute.low == timedelta(minutes=1)
    fine = parse_date("2026-02-03T10:15:30.25Z")
    assert fine.high - fine.low == timedelta(milliseconds=10)


OBS = [
    observation("a", PAIN, 5, "2026-05-03T23:59:59Z"),
    observation("b", PAIN, 6, "2026-05-04T00:00:00Z"),
    observation("c", PAIN, 7, "2026-05-04T23:59:59Z"),
    observation("d", SLEEP, 7.5, "2026-05-05T00:00:00Z"),
    observation("e", PAIN, 3, "2026-05-04", patient="someone-else"),
    observation("f", SLEEP, 6.0, "2026-05-03T22:00:00Z", period_end="2026-05-04T06:00:00Z"),
    observation("g", PAIN, 4, None),
]


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2026-05-04", ["b", "c"]),
        ("eq2026-05-04", ["b", "c"]),
        ("ne2026-05-04", ["f", "a", "d"]),
        ("ge2026-05-04", ["b", "c", "d"]),
        ("gt2026-05-04", ["d"]),
        ("le2026-05-04", ["f", "a", "b", "c"]),
        ("lt2026-05-04", ["f", "a"]),
        ("ge2026-05-04T00:00:00Z", ["f", "b", "c", "d"]),  # f's night overlaps the range above
        ("lt2026-05-04T02:00:00+02:00", ["f", "a"]),
        ("2026-05", ["f", "a", "b", "c", "d"]),
        ("lt2026-05-04,gt2026-05-04", ["f", "a", "d"]),
    ],
)
def test_date_prefixes_follow_the_spec(date: str, expected: list[str]) -> None:
    assert ids(search(OBS, parse_observation_search(q(date=date)))) == expected


def test_repeated_dates_are_and() -> None:
    query = parse_observation_search(q(date=["ge2026-05-04", "lt2026-05-05"]))
    assert ids(search(OBS, query)) == ["b", "c"]
    assert query.link_params() == [("patient", PATIENT), ("date", "ge2026-05-04"), ("date", "lt2026-05-05")]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (PAIN, ["a", "b", "c", "g"]),
        (f"{LOINC}|{PAIN}", ["a", "b", "c", "g"]),
        (f"http://other|{PAIN}", []),
        (f"|{PAIN}", []),
        (f"{LOINC}|", ["f", "a", "b", "c", "d", "g"]),
        (f"{PAIN},{SLEEP}", ["f", "a", "b", "c", "d", "g"]),
    ],
)
def test_code_tokens(code: str, expected: list[str]) -> None:
    assert ids(search(OBS, parse_observation_search(q(code=code)))) == expected


def test_token_without_system_matches_codings_without_one() -> None:
    bare = observation("x", PAIN, 1, "2026-05-04T10:00:00Z")
    del bare["code"]["coding"][0]["system"]
    assert matches(bare, parse_observation_search(q(code=f"|{PAIN}")))
    assert not matches(bare, parse_observation_search(q(code=f"{LOINC}|{PAIN}")))


def test_sorting_and_undated_last() -> None:
    assert ids(search(OBS, parse_observation_search(q()))) == ["f", "a", "b", "c", "d", "g"]
    assert ids(search(OBS, parse_observation_search(q(_sort="-date")))) == ["d", "c", "b", "a", "f", "g"]


def test_paging_slices_the_sorted_results() -> None:
    query = parse_observation_search(q(_count="2", _page="2"))
    assert ids(page_of(search(OBS, query), query)) == ["b", "c"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 24 * 120), st.integers(0, 24 * 120), st.integers(1, 60))
def test_range_search_equals_brute_force_and_pages_partition(a: int, b: int, count: int) -> None:
    data = series(200, patients=1)
    low, high = sorted((a, b))
    start = datetime(2026, 2, 1, tzinfo=UTC)
    ge = (start + timedelta(hours=low)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lt = (start + timedelta(hours=high)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = parse_observation_search(
        {"patient": ["p2c-anon-0000000000"], "date": [f"ge{ge}", f"lt{lt}"], "_count": [str(count)]}
    )
    results = search(data, query)
    expected = [o["id"] for o in data if ge <= o["effectiveDateTime"] < lt]
    assert ids(results) == expected
    pages = []
    for number in range(1, len(results) // count + 2):
        paged = parse_observation_search(
            {
                "patient": ["p2c-anon-0000000000"],
                "date": [f"ge{ge}", f"lt{lt}"],
                "_count": [str(count)],
                "_page": [str(number)],
            }
        )
        pages.extend(ids(page_of(results, paged)))
    assert pages == expected
