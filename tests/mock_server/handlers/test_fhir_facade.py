"""The FHIR facade over HTTP: every response validates with fhir.resources R4B, and our own code checks.

fhir.resources only checks structure (it accepts a bogus status or a fake LOINC code), so the codes
are asserted here too.
"""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from tests.fixtures.sandbox import RunningSandbox

ALLOWED_CODES = {
    "72514-3",
    "8867-4",
    "40443-4",
    "hrv-rmssd",
    "93832-4",
    "41950-7",
    "59408-5",
    "2708-6",
    "85354-9",
    "2339-0",
    "15074-8",
    "29463-7",
    "8310-5",
}


def _fhir_patient(client) -> str:
    patients = client.get("/v1/patients", params={"per_page": 100}).json()["data"]
    return next(
        p["id"] for p in patients if {"fhir:read", "pain:read", "vitals:read"} <= set(p["consent"]["scopes"])
    )


def test_capability_patient_and_search_validate(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        metadata = client.get("/fhir/r4/metadata")
        assert metadata.headers["content-type"].startswith("application/fhir+json")
        CapabilityStatement.model_validate(metadata.json())

        patient_id = _fhir_patient(client)
        patient = client.get(f"/fhir/r4/Patient/{patient_id}").json()
        Patient.model_validate(patient)
        assert patient["id"] == patient_id.replace("_", "-") and "name" not in patient

        found = client.get(
            "/fhir/r4/Observation", params={"patient": patient_id, "_count": 100, "_sort": "-date"}
        )
        assert found.status_code == 200, found.text
        bundle = found.json()
        Bundle.model_validate(bundle)
        assert bundle["type"] == "searchset" and bundle["total"] > 0
        dates = [e["resource"]["effectiveDateTime"] for e in bundle["entry"]]
        assert dates == sorted(dates, reverse=True)
        for entry in bundle["entry"]:
            resource = entry["resource"]
            assert resource["status"] == "final"
            assert resource["subject"]["reference"] == f"Patient/{patient_id.replace('_', '-')}"
            assert {c["code"] for c in resource["code"]["coding"]} & ALLOWED_CODES

        pain = client.get(
            "/fhir/r4/Observation",
            params={
                "patient": patient_id,
                "code": "http://loinc.org|72514-3",
                "date": ["ge2020-01-01", "le2100-01-01"],
            },
        ).json()
        Bundle.model_validate(pain)
        assert pain["total"] > 0
        assert all(e["resource"]["code"]["coding"][0]["code"] == "72514-3" for e in pain.get("entry", []))
        assert all(e["resource"].get("bodySite", {}).get("coding") for e in pain.get("entry", []))


def test_fhir_errors_are_operation_outcomes(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        patient_id = _fhir_patient(client)
        bad = client.get("/fhir/r4/Observation", params={"patient": patient_id, "date": "yesterday"})
        assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/fhir+json")
        OperationOutcome.model_validate(bad.json())
        with sandbox.client(sandbox.second_api_key) as other:
            hidden = other.get(f"/fhir/r4/Patient/{patient_id}")
        assert hidden.status_code == 404
        OperationOutcome.model_validate(hidden.json())


def test_fhir_clients_parameters_are_ignored_or_understood(sandbox: RunningSandbox) -> None:
    """What generic FHIR clients send: fhirpy's ``count()`` asks ``_count=0&_totalMethod=count``; others
    add ``_format``, ``_summary``, ``_elements``; dates come at any precision. FHIR R4 servers ignore
    parameters they do not know (unless the client prefers strict handling) — the gateway refused them."""
    with sandbox.client() as client:
        patient_id = _fhir_patient(client)
        everything = client.get("/fhir/r4/Observation", params={"patient": patient_id}).json()["total"]
        counted = client.get(
            "/fhir/r4/Observation", params={"patient": patient_id, "_count": 0, "_totalMethod": "count"}
        )
        assert counted.status_code == 200, counted.text
        Bundle.model_validate(counted.json())
        assert (
            counted.json()["total"] == everything > 0 and "entry" not in counted.json()
        )  # FHIR: no empty arrays
        assert [link["relation"] for link in counted.json()["link"]] == ["self"]

        extras = {"_format": "json", "_summary": "false", "_elements": "code,value"}
        found = client.get("/fhir/r4/Observation", params={"patient": patient_id, "_count": 5, **extras})
        assert found.status_code == 200 and found.json()["total"] == everything
        assert not any(name in link["url"] for link in found.json()["link"] for name in extras)
        assert client.get(f"/fhir/r4/Patient/{patient_id}", params={"_format": "json"}).status_code == 200
        assert client.get("/fhir/r4/metadata", params={"_format": "json"}).status_code == 200

        some = found.json()["entry"][0]["resource"]["effectiveDateTime"]  # e.g. 2026-11-30T08:12:00Z
        for value in (some[:4], some[:7], f"ge{some[:16]}", f"le{some[:13]}:00"):
            answer = client.get("/fhir/r4/Observation", params={"patient": patient_id, "date": value})
            assert answer.status_code == 200, (value, answer.text)
            assert answer.json()["total"] > 0, value
        approx = client.get("/fhir/r4/Observation", params={"patient": patient_id, "date": f"ap{some[:10]}"})
        assert approx.status_code == 400
        assert OperationOutcome.model_validate(approx.json()).issue[0].code == "not-supported"

        strict = client.get(
            "/fhir/r4/Observation",
            params={"patient": patient_id, "_summary": "count"},
            headers={"Prefer": "handling=strict"},
        )
        assert strict.status_code == 400 and "_summary" in strict.text
        OperationOutcome.model_validate(strict.json())
