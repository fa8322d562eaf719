"""FHIR R4 export: bundles valid under fhir.resources.R4B (structure), and codes checked here (R4B does
not check terminology): LOINC per metric, the local HRV code, SNOMED body sites with laterality."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from synthetic_data.exporters import fhir
from synthetic_data.exporters.fhir_bundles import patient_bundle
from synthetic_data.generate import generate_days
from synthetic_data.patients import make_profile
from synthetic_data.vocab import BODY_AREAS, VITAL_SOURCES

LOINC, SNOMED, LOCAL = fhir.LOINC, fhir.SNOMED, fhir.LOCAL_SYSTEM
# DESIGN.md "FHIR R4 codes", restated here so a wrong table in the exporter cannot pass its own test.
EXPECTED_CODES = {
    ("heart_rate", "bpm"): {(LOINC, "8867-4")},
    ("resting_heart_rate", "bpm"): {(LOINC, "40443-4")},
    ("hrv_rmssd", "ms"): {(LOCAL, "hrv-rmssd")},
    ("sleep_duration", "h"): {(LOINC, "93832-4")},
    ("sleep_duration", "min"): {(LOINC, "93832-4")},
    ("steps", "count"): {(LOINC, "41950-7")},
    ("spo2", "%"): {(LOINC, "59408-5"), (LOINC, "2708-6")},
    ("blood_pressure", "mmHg"): {(LOINC, "85354-9")},
    ("blood_glucose", "mg/dL"): {(LOINC, "2339-0")},
    ("blood_glucose", "mmol/L"): {(LOINC, "15074-8")},
    ("weight", "kg"): {(LOINC, "29463-7")},
    ("weight", "lb"): {(LOINC, "29463-7")},
    ("body_temperature", "Cel"): {(LOINC, "8310-5")},
}
LATERALITY = {"left": "7771000", "right": "24028007"}
STATUSES = {"registered", "preliminary", "final", "amended"}


def _codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept["coding"]}


@pytest.fixture(scope="module")
def bundles() -> list[dict[str, Any]]:
    out = []
    for i, locale in enumerate(("en_US", "fi_FI", "de_DE", "en_GB")):
        profile = make_profile(31, i, sources=VITAL_SOURCES, locale=locale)
        out.append(patient_bundle(profile, generate_days(profile, date(2026, 3, 20), 0, 14, messiness=0.5)))
    return out


def test_bundles_validate_under_r4b(bundles: list[dict[str, Any]]) -> None:
    for bundle in bundles:
        parsed = Bundle.model_validate(bundle)
        assert parsed.type == "transaction"
        assert all(e.request is not None and e.request.method == "PUT" for e in parsed.entry or [])


def test_resources_carry_the_expected_codes(bundles: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, str]] = set()
    for bundle in bundles:
        resources = [e["resource"] for e in bundle["entry"]]
        patient = resources[0]
        assert patient["resourceType"] == "Patient" and "name" not in patient and "telecom" not in patient
        for entry in bundle["entry"]:
            resource = entry["resource"]
            assert entry["request"]["url"] == f"{resource['resourceType']}/{resource['id']}"
            if resource["resourceType"] == "QuestionnaireResponse":
                items = {i["linkId"]: i["answer"][0]["valueInteger"] for i in resource["item"]}
                dims = [items[k] for k in ("cheerful", "calm", "active", "rested", "interested")]
                assert items["raw_score"] == sum(dims) and items["composite_score"] == 4 * sum(dims)
                assert resource["status"] == "completed"
                continue
            if resource["resourceType"] != "Observation":
                continue
            assert resource["status"] in STATUSES
            assert resource["subject"]["reference"] == f"Patient/{patient['id']}"
            codes = _codes(resource["code"])
            if (LOINC, "72514-3") in codes:  # pain
                assert isinstance(resource["valueInteger"], int)
                area = next(
                    c["code"] for c in resource["bodySite"]["coding"] if c["system"] == fhir.BODY_MAP_SYSTEM
                )
                assert area in BODY_AREAS and resource["bodySite"] == fhir.body_site(area)
                seen.add(("pain", ""))
            elif all(system == LOCAL and code.startswith("gauge-") for system, code in codes):
                seen.add(("gauge", ""))
            else:
                unit = resource.get("valueQuantity", {}).get("unit") or "mmHg"
                metric = next(k for k, v in EXPECTED_CODES.items() if v == codes and k[1] == unit)
                seen.add(metric)
                if metric[0] == "blood_pressure":
                    assert {_codes(c["code"]).pop()[1] for c in resource["component"]} == {"8480-6", "8462-4"}
    assert {("pain", ""), ("gauge", "")} <= seen
    assert {m for m, _ in seen} >= {
        "heart_rate",
        "resting_heart_rate",
        "hrv_rmssd",
        "sleep_duration",
        "steps",
    }


@pytest.mark.parametrize("area", BODY_AREAS)
def test_every_body_area_maps_to_a_snomed_body_site(area: str) -> None:
    site = fhir.body_site(area)
    snomed = [c for c in site["coding"] if c["system"] == SNOMED]
    assert len(snomed) == 1 and snomed[0]["code"].isdigit() and snomed[0].get("display")
    side = area.split("_")[0] if area.startswith(("left_", "right_")) else None
    laterality = [
        c["code"] for ext in site.get("extension", []) for c in ext["valueCodeableConcept"]["coding"]
    ]
    assert laterality == ([LATERALITY[side]] if side else [])
    if area == "left_knee":
        assert snomed[0]["code"] == "82169009"
    if area == "right_knee":
        assert snomed[0]["code"] == "6757004"


def test_mapping_functions_are_pure() -> None:
    profile = make_profile(31, 9, sources=("withings",))
    series = generate_days(profile, date(2026, 1, 1), 0, 5, messiness=0.0)
    entry = series.pain_entries[0]
    snapshot = repr(entry)
    first = fhir.pain_entry_to_observation(entry, profile.patient_id)
    assert fhir.pain_entry_to_observation(entry, profile.patient_id) == first
    assert repr(entry) == snapshot
    assert fhir.patient_to_fhir(profile.patient_id)["id"] == profile.patient_id.replace("_", "-")
