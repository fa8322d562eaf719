"""Small, valid FHIR R4 Observations for facade tests (LOINC codes as in DESIGN.md "FHIR R4 codes")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

LOINC = "http://loinc.org"
LOCAL = "https://care-sandbox.example/fhir/CodeSystem/vitals"
PAIN = "72514-3"
SLEEP = "93832-4"
RESTING_HR = "40443-4"
CODES = {
    PAIN: (LOINC, "Pain severity 0-10", "{score}"),
    SLEEP: (LOINC, "Sleep duration", "h"),
    RESTING_HR: (LOINC, "Resting heart rate", "/min"),
    "hrv-rmssd": (LOCAL, "HRV RMSSD", "ms"),
}


def observation(
    oid: str,
    code: str,
    value: float,
    at: str | None,
    patient: str = "p2c-anon-3f9b2c1d8e",
    period_end: str | None = None,
) -> dict[str, Any]:
    system, display, unit = CODES[code]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey" if code == PAIN else "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{patient}"},
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }
    if at is not None and period_end is None:
        resource["effectiveDateTime"] = at
    elif at is not None:
        resource["effectivePeriod"] = {"start": at, "end": period_end}
    return resource


def series(count: int = 1000, patients: int = 2) -> list[dict[str, Any]]:
    """``count`` observations over ~3 months for ``patients`` patients, codes rotating."""
    codes = list(CODES)
    start = datetime(2026, 2, 1, 6, 0, tzinfo=UTC)
    out = []
    for i in range(count):
        at = (start + timedelta(hours=2 * i + (i % 3))).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(
            observation(
                f"obs-{i:05d}",
                codes[i % len(codes)],
                float(i % 11),
                at,
                patient=f"p2c-anon-{i % patients:010d}",
            )
        )
    return out
