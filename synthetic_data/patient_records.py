"""Profiles as records: the dataset's `patients` rows and the API's `SandboxPatient`.

`patient_record` is what `care-synth` writes to `patients.ndjson`: demographics plus the model's ground
truth (baseline pain, flare rate, habits), so QA can check an analysis against what was simulated.
`sandbox_patient` is the `SandboxPatient` shape of openapi.yaml (the patient side, with the e-mail).
"""

from __future__ import annotations

from typing import Any

from synthetic_data.patients import PatientProfile


def patient_record(profile: PatientProfile) -> dict[str, Any]:
    """One row of the `patients` series (not an API shape: a dataset's ground truth)."""
    pain, body, habits = profile.pain, profile.body, profile.habits
    return {
        "patient_id": profile.patient_id,
        "patient_key": profile.patient_key,
        "index": profile.index,
        "display_name": profile.display_name,
        "given_name": profile.given_name,
        "family_name": profile.family_name,
        "email": profile.email,
        "locale": profile.locale,
        "sex": profile.sex,
        "birth_year": profile.birth_year,
        "timezone": profile.timezone,
        "condition": profile.condition,
        "baseline_severity": profile.baseline_severity,
        "sources": list(profile.sources),
        "devices": sorted({device for _, _, device in habits.kit if device}),
        "model": {
            "pain_baseline": pain.baseline,
            "pain_sd": pain.sd,
            "pain_ar1": pain.phi,
            "flares_per_6_weeks": round(pain.flare_rate_per_day * 42, 3),
            "flare_magnitude": pain.flare_magnitude,
            "primary_areas": list(pain.primary_areas),
            "qualities": list(pain.qualities),
            "resting_hr": body.resting_hr,
            "hrv_rmssd": body.hrv_rmssd,
            "sleep_hours": body.sleep_hours,
            "steps": body.steps,
            "diabetic": body.diabetic,
            "who5_baseline": habits.who5_baseline,
            "checkin_slots": len(habits.slots),
            "gauge_types": list(habits.gauge_types),
        },
    }


def sandbox_patient(
    profile: PatientProfile, *, history_days: int, created_at: str, patient_id: str | None = None
) -> dict[str, Any]:
    """The `SandboxPatient` shape for `profile` (the server passes its own `sp_…` id), as a new patient:
    no consent to anyone yet (`consent.status` is `none`)."""
    return {
        "id": patient_id or f"sp_{profile.patient_key}",
        "email": profile.email,
        "display_name": profile.display_name,
        "locale": profile.locale,
        "condition": profile.condition,
        "baseline_severity": profile.baseline_severity,
        "sources": list(profile.sources),
        "history_days": history_days,
        "created_at": created_at,
        "consent": {"status": "none", "patient_id": None, "scopes": [], "link_request_id": None},
    }
