"""Pure record → FHIR R4 mapping, shared by ``care-synth --format fhir`` and the sandbox's FHIR facade.

Codes (DESIGN.md "FHIR R4 codes"): pain LOINC 72514-3 with SNOMED CT body sites; heart rate 8867-4,
resting 40443-4; HRV as RMSSD has no LOINC code, so it uses a local code (``LOCAL_SYSTEM#hrv-rmssd``)
— LOINC 80404-7 is SDNN, a different statistic; sleep 93832-4; steps 41950-7; blood pressure panel
85354-9 with 8480-6/8462-4; SpO2 59408-5 (+ 2708-6); glucose 2339-0 (mg/dL) or 15074-8 (mmol/L); weight
29463-7; body temperature 8310-5. WHO-5 becomes a QuestionnaireResponse; a gauge is a survey Observation
under a local code (``LOCAL_SYSTEM#gauge-<type>``: seed 003's gauges have no standard code).

Body sites are SNOMED CT body structures; where an area has a side, the side is a SNOMED laterality
qualifier (left 7771000, right 24028007) in the ``LATERALITY_EXTENSION`` extension of ``bodySite``
(FHIR R4 has no laterality element), and knees use their lateralized concepts (left 82169009, right
6757004). Every ``BodyArea`` of the contract has a mapping (tests check it).

All functions here are pure (dict in, dict out) and stable: the sandbox's FHIR facade calls them.

FHIR ids may not contain ``_``, so API ids map to FHIR ids by replacing it with ``-``
(``p2c_anon_3f9b`` → ``p2c-anon-3f9b``); the API id is kept as an identifier.
"""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
LOCAL_SYSTEM = "https://care-sandbox.dev/fhir/CodeSystem/local"
BODY_MAP_SYSTEM = "https://care-sandbox.dev/fhir/CodeSystem/body-map"
ANON_ID_SYSTEM = "urn:pain2care:anon-id"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
WHO5_QUESTIONNAIRE = "https://care-sandbox.dev/fhir/Questionnaire/who-5"
LATERALITY_EXTENSION = "https://care-sandbox.dev/fhir/StructureDefinition/laterality"

# SNOMED CT body structures; the lateral knee codes are specific concepts, the rest are the
# structure with laterality given by the qualifier (left 7771000, right 24028007) in ``LATERALITY``.
BODY_SITES: dict[str, tuple[str, str]] = {
    "head": ("69536005", "Head structure"),
    "face": ("89545001", "Face structure"),
    "neck": ("45048000", "Neck structure"),
    "upper_back": ("77568009", "Back structure, excluding buttocks"),
    "lower_back": ("37822005", "Lower back structure"),
    "chest": ("51185008", "Thoracic structure"),
    "abdomen": ("818983003", "Abdomen structure"),
    "pelvis": ("12921003", "Pelvic structure"),
    "shoulder": ("16982005", "Shoulder region structure"),
    "arm": ("53120007", "Upper limb structure"),
    "elbow": ("127949000", "Elbow region structure"),
    "wrist": ("8205005", "Wrist region structure"),
    "hand": ("85562004", "Hand structure"),
    "hip": ("29836001", "Hip region structure"),
    "thigh": ("68367000", "Thigh structure"),
    "knee": ("72696002", "Knee region structure"),
    "calf": ("53840002", "Calf of leg structure"),
    "ankle": ("344001", "Ankle region structure"),
    "foot": ("56459004", "Foot structure"),
}
LATERAL_SPECIFIC = {
    "left_knee": ("82169009", "Structure of left knee region"),
    "right_knee": ("6757004", "Structure of right knee region"),
}
LATERALITY = {"left": ("7771000", "Left"), "right": ("24028007", "Right")}

VITAL_CODES: dict[str, tuple[str, str, str]] = {
    # metric: (system, code, display)
    "heart_rate": (LOINC, "8867-4", "Heart rate"),
    "resting_heart_rate": (LOINC, "40443-4", "Heart rate --resting"),
    "hrv_rmssd": (LOCAL_SYSTEM, "hrv-rmssd", "Heart rate variability, RMSSD (no LOINC code exists)"),
    "sleep_duration": (LOINC, "93832-4", "Sleep duration"),
    "steps": (LOINC, "41950-7", "Number of steps in 24 hour Measured"),
    "spo2": (LOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    "blood_pressure": (LOINC, "85354-9", "Blood pressure panel with all children optional"),
    "weight": (LOINC, "29463-7", "Body weight"),
    "body_temperature": (LOINC, "8310-5", "Body temperature"),
}
GLUCOSE_CODES = {
    "mg/dL": ("2339-0", "Glucose [Mass/volume] in Blood"),
    "mmol/L": ("15074-8", "Glucose [Moles/volume] in Blood"),
}
UCUM_UNITS = {
    "bpm": "/min",
    "ms": "ms",
    "h": "h",
    "min": "min",
    "count": "/d",
    "%": "%",
    "mmHg": "mm[Hg]",
    "mg/dL": "mg/dL",
    "mmol/L": "mmol/L",
    "kg": "kg",
    "lb": "[lb_av]",
    "Cel": "Cel",
}
VITAL_SIGNS = {"heart_rate", "resting_heart_rate", "spo2", "blood_pressure", "weight", "body_temperature"}


def fhir_id(api_id: str) -> str:
    """The FHIR id of an API id: `_` is not allowed in FHIR ids, so it becomes `-` (max 64 chars)."""
    return api_id.replace("_", "-")[:64]


def body_site(area: str) -> dict[str, Any]:
    """The SNOMED CT body site of a body-map area, with laterality where the area has a side."""
    side, _, structure = area.partition("_") if area.startswith(("left_", "right_")) else ("", "", area)
    coding = []
    if area in LATERAL_SPECIFIC:
        code, display = LATERAL_SPECIFIC[area]
        coding.append({"system": SNOMED, "code": code, "display": display})
    elif structure in BODY_SITES:
        code, display = BODY_SITES[structure]
        coding.append({"system": SNOMED, "code": code, "display": display})
    coding.append({"system": BODY_MAP_SYSTEM, "code": area})
    concept: dict[str, Any] = {"coding": coding, "text": area.replace("_", " ")}
    if side in LATERALITY:
        code, display = LATERALITY[side]
        concept["extension"] = [
            {
                "url": LATERALITY_EXTENSION,
                "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
            }
        ]
    return concept


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": CATEGORY, "code": code}]}]


def gauge_to_observation(gauge: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """A seed-003 gauge as a survey Observation under a local code, value in its own scale."""
    kind = gauge["gauge_type"]
    scale = f"{gauge['scale_min']}-{gauge['scale_max']}"
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id(gauge["id"]),
        "status": "final",
        "category": _category("survey"),
        "code": {
            "coding": [
                {
                    "system": LOCAL_SYSTEM,
                    "code": f"gauge-{kind.replace('_', '-')}",
                    "display": GAUGE_DISPLAY[kind],
                }
            ],
            "text": f"{GAUGE_DISPLAY[kind]} ({scale})",
        },
        "subject": {"reference": f"Patient/{fhir_id(patient_id)}"},
        "effectiveDateTime": gauge["recorded_at"],
        "issued": gauge["created_at"].replace("Z", "+00:00"),
        "valueInteger": int(gauge["value"]),
    }
    if gauge.get("notes"):
        observation["note"] = [{"text": gauge["notes"]}]
    return observation


GAUGE_DISPLAY = {
    "mood": "Mood gauge",
    "anxiety": "Anxiety gauge",
    "energy": "Energy gauge",
    "sleep_quality": "Sleep quality gauge",
    "pain": "Pain gauge",
    "medication_adherence": "Medication adherence gauge (percent)",
    "social_interaction": "Social interaction gauge",
}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": UCUM_UNITS.get(unit, unit)}


def pain_entry_to_observation(entry: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """A pain check-in as a LOINC 72514-3 Observation; the most intense area is the body site."""
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id(entry["id"]),
        "status": "final",
        "category": _category("survey"),
        "code": {
            "coding": [
                {
                    "system": LOINC,
                    "code": "72514-3",
                    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                }
            ]
        },
        "subject": {"reference": f"Patient/{fhir_id(patient_id)}"},
        "effectiveDateTime": entry["logged_at"],
        "valueInteger": int(entry["pain_level"]),
    }
    areas = sorted(entry.get("areas") or [], key=lambda a: -a["max_intensity"])
    if areas:
        observation["bodySite"] = body_site(areas[0]["id"])
        observation["component"] = [
            {
                "code": {
                    "coding": [{"system": LOCAL_SYSTEM, "code": "area-max-intensity"}],
                    "text": f"max intensity, {a['id'].replace('_', ' ')}",
                },
                "valueInteger": int(a["max_intensity"]),
            }
            for a in areas
        ]
    notes = []
    if entry.get("qualities"):
        notes.append({"text": "Qualities: " + ", ".join(q.replace("_", " ") for q in entry["qualities"])})
    if entry.get("notes"):
        notes.append({"text": entry["notes"]})
    if notes:
        observation["note"] = notes
    return observation


def vital_to_observation(reading: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """A device reading as an Observation: LOINC code per metric (glucose by unit, HRV RMSSD under the
    local code), UCUM quantity, `issued` = received_at, the device named in `device.display`; blood
    pressure as the 85354-9 panel with systolic/diastolic components."""
    metric, unit = reading["metric"], reading["unit"]
    if metric == "blood_glucose":
        code, display = GLUCOSE_CODES[unit]
        system = LOINC
    else:
        system, code, display = VITAL_CODES[metric]
    coding = [{"system": system, "code": code, "display": display}]
    if metric == "spo2":
        coding.append({"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"})
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id(reading["id"]),
        "status": "final",
        "category": _category("vital-signs" if metric in VITAL_SIGNS else "activity"),
        "code": {"coding": coding},
        "subject": {"reference": f"Patient/{fhir_id(patient_id)}"},
        "effectiveDateTime": reading["measured_at"],
        "issued": reading["received_at"].replace("Z", "+00:00"),
        "device": {"display": f"{reading.get('device') or reading['source']} ({reading['source']})"},
    }
    if metric == "blood_pressure":
        parts = reading["components"]
        observation["component"] = [
            {
                "code": {
                    "coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]
                },
                "valueQuantity": _quantity(parts["systolic"], "mmHg"),
            },
            {
                "code": {
                    "coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]
                },
                "valueQuantity": _quantity(parts["diastolic"], "mmHg"),
            },
        ]
    else:
        observation["valueQuantity"] = _quantity(reading["value"], unit)
    return observation


WHO5_TEXT = {
    "cheerful": "I have felt cheerful and in good spirits",
    "calm": "I have felt calm and relaxed",
    "active": "I have felt active and vigorous",
    "rested": "I woke up feeling fresh and rested",
    "interested": "My daily life has been filled with things that interest me",
}


def wellbeing_to_questionnaire_response(checkin: dict[str, Any], patient_id: str) -> dict[str, Any]:
    """A WHO-5 check-in as a completed QuestionnaireResponse: the five items (0-5), then the raw score
    (0-25) and the percentage score (0-100) as two more items."""
    items = [
        {"linkId": name, "text": WHO5_TEXT[name], "answer": [{"valueInteger": int(value)}]}
        for name, value in checkin["dimensions"].items()
    ]
    items.append(
        {
            "linkId": "raw_score",
            "text": "WHO-5 raw score (0-25)",
            "answer": [{"valueInteger": int(checkin["raw_score"])}],
        }
    )
    items.append(
        {
            "linkId": "composite_score",
            "text": "WHO-5 percentage score (0-100)",
            "answer": [{"valueInteger": int(checkin["composite_score"])}],
        }
    )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": fhir_id(checkin["id"]),
        "status": "completed",
        "questionnaire": WHO5_QUESTIONNAIRE,
        "subject": {"reference": f"Patient/{fhir_id(patient_id)}"},
        "authored": checkin["completed_at"].replace("Z", "+00:00"),
        "item": items,
    }


def patient_to_fhir(
    patient_id: str,
    *,
    gender: str | None = None,
    birth_year: int | None = None,
    last_updated: str | None = None,
) -> dict[str, Any]:
    """An anonymized Patient: the pseudonymous id only, never a name, contact or address."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id(patient_id),
        "identifier": [{"system": ANON_ID_SYSTEM, "value": patient_id}],
        "active": True,
    }
    if last_updated:
        resource["meta"] = {"lastUpdated": last_updated}
    if gender in {"male", "female", "other", "unknown"}:
        resource["gender"] = gender
    if birth_year:
        resource["birthDate"] = str(birth_year)
    return resource
