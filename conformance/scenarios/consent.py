"""The consent lifecycle: link request → patient accepts → data within scopes → revoke → 403."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from conformance.context import Context, error_code
from conformance.errors import ConformanceFailure

CHECK = "consent_lifecycle"
OPERATION = "scenario: consent lifecycle"


@dataclass(frozen=True)
class Linked:
    """A sandbox patient linked to this workspace."""

    patient_id: str
    request_id: str
    email: str


def link_new_patient(
    ctx: Context, history_days: int = 30, scopes: list[str] | None = None, check: str = CHECK
) -> Linked:
    """Create a sandbox patient, send a link request, accept it as the patient.

    A step answering otherwise raises `ConformanceFailure` under `check`, with the curl line of the
    request that showed it; the caller decides whose failure that is (its scenario's, or the setup's).
    """
    scopes = scopes or list(ctx.spec.patient_data_scopes)
    target = ctx.target
    try:
        created = target.request(
            "POST",
            "/v1/sandbox/patients",
            json_body={"history_days": history_days, "condition": "fibromyalgia"},
        )
        patient = ctx.expect_status(created, check, 201, "201 SandboxPatient")
        email = patient.get("email") if isinstance(patient, dict) else None
        if not isinstance(email, str):
            raise ConformanceFailure(check, f"{created.describe()} without email", "SandboxPatient.email")
        sent = target.request(
            "POST",
            "/v1/link-requests",
            json_body={"patient_email": email, "scopes": scopes},
            headers={"Idempotency-Key": f"care-conformance-{uuid.uuid4().hex}"},
        )
        link = ctx.expect_status(sent, check, 201, "201 LinkRequest")
        if not isinstance(link, dict) or link.get("status") != "pending":
            raise ConformanceFailure(
                check, f"{sent.describe()} status {link and link.get('status')!r}", "a pending LinkRequest"
            )
        request_id = str(link.get("request_id"))
        accepted = target.request(
            "POST",
            "/v1/sandbox/link-requests/{request_id}/accept",
            path_params={"request_id": request_id},
            json_body={},
        )
        body = ctx.expect_status(accepted, check, 200, "200 {link_request, consent}")
        consent = body.get("consent") if isinstance(body, dict) else None
        patient_id = consent.get("patient_id") if isinstance(consent, dict) else None
        if not isinstance(patient_id, str):
            raise ConformanceFailure(
                check, f"{accepted.describe()} consent {consent!r}", "consent.patient_id"
            )
        return Linked(patient_id, request_id, email)
    except ConformanceFailure as failure:
        failure.reproduce = failure.reproduce or ctx.last_curl()
        raise


def consent_lifecycle(ctx: Context) -> None:
    """Walk one consent from request to revocation, checking what the partner sees at each step."""
    if not ctx.sandbox:
        ctx.skip(OPERATION, CHECK, "the target offers no sandbox controls (GET /v1/sandbox/clock is not 200)")
        return
    target = ctx.target
    granted = ["pain:read", "wellbeing:read"]
    try:
        linked = link_new_patient(ctx, history_days=7, scopes=granted)
        link = ctx.expect_status(
            target.request(
                "GET", "/v1/link-requests/{request_id}", path_params={"request_id": linked.request_id}
            ),
            CHECK,
            200,
            "200 LinkRequest",
        )
        if link.get("status") != "accepted" or link.get("patient_id") != linked.patient_id:
            raise ConformanceFailure(
                CHECK,
                f"after accept: status {link.get('status')!r}, patient_id {link.get('patient_id')!r}",
                f"status 'accepted', patient_id {linked.patient_id!r}",
            )
        ids = {"patient_id": linked.patient_id}
        patient = ctx.expect_status(
            target.request("GET", "/v1/patients/{patient_id}", path_params=ids),
            CHECK,
            200,
            "the consented patient visible to the partner",
        )
        consent = patient.get("consent") or {}
        if consent.get("status") != "active" or not set(granted) <= set(consent.get("scopes") or []):
            raise ConformanceFailure(
                CHECK, f"patient consent {consent!r}", f"status 'active' with scopes {granted}"
            )
        ctx.expect_status(
            target.request("GET", "/v1/patients/{patient_id}/pain-entries", path_params=ids),
            CHECK,
            200,
            "pain entries readable within the granted pain:read",
        )
        if ctx.documented("GET", "/v1/patients/{patient_id}/vitals"):
            denied = target.request("GET", "/v1/patients/{patient_id}/vitals", path_params=ids)
            ctx.expect_status(denied, CHECK, 403, "403: vitals:read was not granted by the patient")
        ctx.expect_status(
            target.request("POST", "/v1/sandbox/patients/{patient_id}/revoke", path_params=ids),
            CHECK,
            200,
            "200 on revoke",
        )
        after = target.request("GET", "/v1/patients/{patient_id}/pain-entries", path_params=ids)
        body = ctx.expect_status(after, CHECK, 403, "403 consent_revoked once the patient revoked")
        if error_code(body) != "consent_revoked":
            raise ConformanceFailure(
                CHECK, f"{after.describe()} error.code {error_code(body)!r}", "error.code 'consent_revoked'"
            )
    except ConformanceFailure as failure:
        ctx.fail(failure, OPERATION)
    else:
        ctx.passed(OPERATION, CHECK)
