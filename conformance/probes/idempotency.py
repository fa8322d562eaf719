"""Idempotency-Key: a replay returns the first response; the same key with another body is a 409."""

from __future__ import annotations

import uuid

from conformance.context import Context, error_code
from conformance.errors import ConformanceFailure

CHECK = "idempotent_replay"
OPERATION = "POST /v1/link-requests"


def idempotent_replay(ctx: Context) -> None:
    """Replay a link request with the same key (same body, then another body)."""
    if not ctx.documented("POST", "/v1/link-requests"):
        return
    key = f"care-conformance-{uuid.uuid4().hex}"
    email = _patient_email(ctx) or f"conformance-{ctx.run_id}-{uuid.uuid4().hex[:6]}@patients.example"
    body = {"patient_email": email, "scopes": ["pain:read"], "message": "care-conformance idempotency probe"}
    headers = {"Idempotency-Key": key}
    created_id = None
    try:
        first = ctx.target.request("POST", "/v1/link-requests", json_body=body, headers=headers)
        first_body = ctx.expect_status(first, CHECK, (200, 201), "201 for a new link request")
        created_id = first_body.get("request_id") if isinstance(first_body, dict) else None
        replay = ctx.target.request("POST", "/v1/link-requests", json_body=body, headers=headers)
        if replay.status != first.status or replay.json() != first.json():
            raise ConformanceFailure(
                CHECK,
                f"replay answered {replay.status} {replay.body[:160]!r}",
                f"the first response again ({first.status}, request_id {created_id!r})",
                operation=OPERATION,
            )
        other = {**body, "message": "care-conformance idempotency probe, another body"}
        conflict = ctx.target.request("POST", "/v1/link-requests", json_body=other, headers=headers)
        conflict_body = ctx.expect_status(
            conflict, CHECK, 409, "409 when the key is reused with another body"
        )
        if error_code(conflict_body) != "idempotency_conflict":
            raise ConformanceFailure(
                CHECK,
                f"{conflict.describe()} with error.code {error_code(conflict_body)!r}",
                "error.code 'idempotency_conflict'",
                operation=OPERATION,
            )
    except ConformanceFailure as failure:
        ctx.fail(failure, OPERATION)
    else:
        ctx.passed(OPERATION, CHECK)
    finally:
        if isinstance(created_id, str) and ctx.documented("DELETE", "/v1/link-requests/{request_id}"):
            ctx.target.request(
                "DELETE", "/v1/link-requests/{request_id}", path_params={"request_id": created_id}
            )


def _patient_email(ctx: Context) -> str | None:
    """A sandbox patient's email, since a sandbox only links patients it knows."""
    if not ctx.sandbox:
        return None
    created = ctx.target.request("POST", "/v1/sandbox/patients", json_body={"history_days": 0})
    body = created.json()
    email = body.get("email") if isinstance(body, dict) else None
    return email if isinstance(email, str) else None
