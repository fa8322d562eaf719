"""Every resource the facade builds validates with fhir.resources (R4B) and passes our own code checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from mock_server.fhir.bundles import observation_searchset, searchset
from mock_server.fhir.capability import capability_statement
from mock_server.fhir.outcome import from_search_error, http_status, operation_outcome
from mock_server.fhir.search import FhirSearchError, parse_observation_search
from tests.mock_server.fhir.observations import CODES, LOINC, PAIN, series

BASE = "http://localhost:8000/fhir/r4"
OBSERVATION_STATUSES = {
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
}


def links(bundle: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    out = {}
    for link in bundle["link"]:
        parts = urlsplit(link["url"])
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/Observation"
        out[link["relation"]] = parse_qs(parts.query)
    return out


def check_observations(bundle: dict[str, Any]) -> None:
    """What R4B cannot check: real statuses, known codes, fullUrl matching the resource."""
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        assert entry["fullUrl"] == f"{BASE}/Observation/{resource['id']}"
        assert entry["search"] == {"mode": "match"}
        assert resource["status"] in OBSERVATION_STATUSES
        for coding in resource["code"]["coding"]:
            assert coding["code"] in CODES
            assert coding["system"] == CODES[coding["code"]][0]


def test_capability_statement() -> None:
    statement = capability_statement(BASE + "/")
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["format"] == ["application/fhir+json", "json"]
    assert statement["implementation"]["url"] == BASE
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert [i["code"] for i in resources["Patient"]["interaction"]] == ["read"]
    assert [i["code"] for i in resources["Observation"]["interaction"]] == ["search-type"]
    assert [p["name"] for p in resources["Observation"]["searchParam"]] == [
        "patient",
        "code",
        "date",
        "_count",
        "_sort",
    ]


def test_searchset_paging_links() -> None:
    data = series(1000)
    query = parse_observation_search(
        {
            "patient": ["p2c-anon-0000000000"],
            "code": [f"{LOINC}|{PAIN}"],
            "_count": ["20"],
            "_page": ["3"],
            "_sort": ["-date"],
            "foo": ["x"],
        }
    )
    bundle = observation_searchset(data, query, base_url=BASE)
    Bundle.model_validate(bundle)
    check_observations(bundle)
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 250  # every 4th observation is pain, all of them patient 0
    assert len(bundle["entry"]) == 20
    found = links(bundle)
    assert set(found) == {"self", "first", "previous", "next", "last"}
    assert found["self"] == {
        "patient": ["p2c-anon-0000000000"],
        "code": [f"{LOINC}|{PAIN}"],
        "_sort": ["-date"],
        "_count": ["20"],
        "_page": ["3"],
    }
    assert found["previous"]["_page"] == ["2"] and found["next"]["_page"] == ["4"]
    assert found["last"]["_page"] == ["13"]
    dates = [e["resource"]["effectiveDateTime"] for e in bundle["entry"]]
    assert dates == sorted(dates, reverse=True)


def test_first_last_and_empty_pages() -> None:
    first = searchset([], total=0, base_url=BASE, query_params={"patient": ["x"]}, page=1, count=10)
    Bundle.model_validate(first)
    assert "entry" not in first
    assert set(links(first)) == {"self", "first", "last"}
    beyond = searchset(
        [], total=15, base_url=BASE, query_params=[("patient", "x"), ("_page", "9")], page=9, count=10
    )
    found = links(beyond)
    assert found["self"]["_page"] == ["9"] and found["previous"]["_page"] == ["2"]
    assert "next" not in found


def test_operation_outcome() -> None:
    outcome = operation_outcome("not-found", "Patient/x is not shared with this workspace")
    OperationOutcome.model_validate(outcome)
    assert http_status("not-found") == 404
    assert http_status("login") == 401
    error = FhirSearchError("_count must be between 1 and 500", "_count")
    from_error = from_search_error(error)
    OperationOutcome.model_validate(from_error)
    assert from_error["issue"][0] == {
        "severity": "error",
        "code": "invalid",
        "diagnostics": "_count must be between 1 and 500",
        "expression": ["_count"],
    }
    with pytest.raises(ValueError):
        operation_outcome("bogus", "x")
    with pytest.raises(ValueError):
        operation_outcome("invalid", "x", severity="fatalish")


def test_exporter_observations_end_to_end() -> None:
    """Observations from synthetic_data's exporter go through search and into a valid Bundle unchanged."""
    exporter = pytest.importorskip("synthetic_data.exporters.fhir")
    from tests.mock_server.reports.planted import Plan, build

    pain, _, vitals = build(Plan(days=30))
    api_id = "p2c_anon_3f9b2c1d8e"
    observations = [exporter.pain_entry_to_observation(e, api_id) for e in pain]
    observations += [exporter.vital_to_observation(v, api_id) for v in vitals]
    query = parse_observation_search(
        {
            "patient": [f"Patient/{exporter.fhir_id(api_id)}"],
            "code": [f"{LOINC}|{PAIN},{exporter.LOCAL_SYSTEM}|hrv-rmssd"],
            "date": ["ge2026-02-10", "lt2026-02-20"],
            "_count": ["25"],
        }
    )
    bundle = observation_searchset(observations, query, base_url=BASE)
    Bundle.model_validate(bundle)
    assert bundle["total"] == 10 * 2 + 10  # two pain entries and one HRV reading a day
    assert len(bundle["entry"]) == 25 and links(bundle)["next"]["_page"] == ["2"]
    known = {(LOINC, PAIN)} | {(system, code) for system, code, _ in exporter.VITAL_CODES.values()}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert resource["status"] in OBSERVATION_STATUSES
        assert {(c["system"], c["code"]) for c in resource["code"]["coding"]} <= known
        assert "2026-02-10" <= resource["effectiveDateTime"] < "2026-02-20"
