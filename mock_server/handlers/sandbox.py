"""Sandbox controls: the patient's side of the flow, a test clock, and reset.

These are what make the sandbox a sandbox: the integrator plays the patient (accept, decline,
revoke, check in) and moves time, and every one of these actions has the same effects — state
changes, webhook events — that the real patient app would cause.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from mock_server import quotas, sandbox_work
from mock_server.consent import patient_consent_view
from mock_server.context import ApiRequest, Reply, created, ok, own_transactions
from mock_server.errors import not_found, unprocessable
from mock_server.handlers._shared import consents, list_body, now, paging, patients
from mock_server.seeding import create_patient as seed_patient
from mock_server.storage import records as records_mod
from mock_server.storage.patients import NO_CONSENT, ConsentFacts, SandboxPatientRow
from mock_server.storage.workspaces import Workspace
from mock_server.timeutil import EARLIEST_RECORDED, iso, parse_iso, shift, utcnow
from mock_server.webhooks.outbox import emit_event
from synthetic_data.vocab import LOCALES


def _workspace(req: ApiRequest) -> Workspace:
    repo = req.services.workspaces
    workspace = repo.get(req.workspace_id)
    if workspace is None:
        raise not_found("workspace", req.workspace_id)
    return workspace


@own_transactions
def reset(req: ApiRequest) -> Reply:
    """Chunked (see ``sandbox_work``): another workspace's writes never wait long behind it."""
    workspace = _workspace(req)
    try:
        return ok(sandbox_work.run_heavy(req.services, sandbox_work.reset_job, workspace.id))
    finally:
        quotas.forget(workspace.id)


def create_patient(req: ApiRequest) -> Reply:
    workspace = _workspace(req)
    body = req.body or {}
    if body.get("locale") is not None and body["locale"] not in LOCALES:
        raise unprocessable("unsupported locale", {"locale": [f"use one of {', '.join(LOCALES)}"]})
    repo = patients(req)
    history_days = int(body.get("history_days", 90))
    moment = now(req)
    with req.services.storage.unit_of_work() as conn:
        quotas.check_records_for_days(req.services.settings, conn, workspace.id, history_days, patients=1)
        index = repo.count(workspace.id, conn)
        row = seed_patient(
            req.services,
            conn,
            workspace,
            index,
            moment,
            history_days=history_days,
            overrides={k: body.get(k) for k in ("condition", "baseline_severity", "sources", "locale")},
        )
        # read back as the list reads it (a new patient's state is "none"), inside the unit of work
        found = repo.with_consent(conn, workspace.id, row.id, iso(moment))
    return created(_with_consent(*(found or (row, NO_CONSENT))))


def _with_consent(row: SandboxPatientRow, facts: ConsentFacts) -> dict[str, Any]:
    return {**row.view(), "consent": patient_consent_view(row.anon_id, facts)}


def list_patients(req: ApiRequest) -> Reply:
    """Every sandbox patient with its consent state; one statement for the page (no query per patient)."""
    page, per_page = paging(req)
    total, rows = patients(req).page_with_consent(
        req.workspace_id, page, per_page, iso(now(req)), req.params.get("consent")
    )
    return ok(list_body([_with_consent(row, facts) for row, facts in rows], total, page, per_page))


def accept_link_request(req: ApiRequest) -> Reply:
    scopes = (req.body or {}).get("scopes")
    result = consents(req).accept(req.workspace_id, req.params["request_id"], scopes, now(req))
    req.services.wake_dispatcher()
    return ok(result)


def decline_link_request(req: ApiRequest) -> Reply:
    result = consents(req).decline(req.workspace_id, req.params["request_id"], now(req))
    req.services.wake_dispatcher()
    return ok(result)


def revoke_consent(req: ApiRequest) -> Reply:
    result = consents(req).revoke(req.workspace_id, req.params["patient_id"], now(req))
    req.services.wake_dispatcher()
    return ok(result)


def _patient_for_checkin(req: ApiRequest) -> Any:
    with req.services.storage.read() as conn:
        row = patients(req).by_anon(conn, req.workspace_id, req.params["patient_id"])
    if row is None:
        raise not_found("sandbox patient", req.params["patient_id"])
    return row


def _emit_if_consented(
    req: ApiRequest, conn: Any, anon_id: str, scope: str, event: str, data: dict[str, Any], timestamp: str
) -> None:
    consent = consents(req).latest(conn, req.workspace_id, anon_id)
    if consent is not None and consent.status == "active" and scope in consent.scopes:
        emit_event(
            conn,
            workspace_id=req.workspace_id,
            event_type=event,
            patient_id=anon_id,
            data=data,
            timestamp=timestamp,
        )


_CLOCK_SKEW = timedelta(minutes=5)


def _checkin_time(req: ApiRequest, name: str) -> str:
    """The check-in's own time, or the sandbox clock's now; a future or pre-1970 time is a 422.

    Why: the contract says a check-in cannot come from the future, and a stored 9999-12-31 entry
    would sit at the top of every later listing of the patient.
    """
    moment = now(req)
    text = req.body.get(name)
    if not text:
        return iso(moment)
    when = parse_iso(text)  # representable: the gateway refused times outside years 1-9999 in UTC
    if when > shift(moment, _CLOCK_SKEW):
        raise unprocessable(f"'{name}' is in the future", {name: [f"must not be after {iso(moment)}"]})
    if when < EARLIEST_RECORDED:
        earliest = iso(EARLIEST_RECORDED)
        raise unprocessable(f"'{name}' is before {earliest}", {name: [f"must not be before {earliest}"]})
    return iso(when)


def create_pain_entry(req: ApiRequest) -> Reply:
    """A check-in as the patient app sends it; fires ``pain_entry.created`` for a consenting partner."""
    row = _patient_for_checkin(req)
    body = req.body
    logged = _checkin_time(req, "logged_at")
    entry = {
        "id": f"pe_{secrets.token_hex(8)}",
        "pain_level": body["pain_level"],
        "areas": body["areas"],
        "qualities": body.get("qualities", []),
        "overall_wellbeing": body.get("overall_wellbeing"),
        "vitals": body.get("vitals"),
        "notes": body.get("notes"),
        "logged_at": logged,
    }
    with req.services.storage.unit_of_work() as conn:
        quotas.check_records(req.services.settings, conn, req.workspace_id, 1)
        records_mod.insert_many(conn, row.id, "pain_entry", [entry])
        _emit_if_consented(req, conn, row.anon_id, "pain:read", "pain_entry.created", entry, iso(now(req)))
    req.services.wake_dispatcher()
    return created(entry)


def create_wellbeing_checkin(req: ApiRequest) -> Reply:
    """A WHO-5 questionnaire as the patient app sends it; fires ``wellbeing.completed``."""
    row = _patient_for_checkin(req)
    dims = req.body["dimensions"]
    completed = _checkin_time(req, "completed_at")
    raw = sum(int(dims[k]) for k in ("cheerful", "calm", "active", "rested", "interested"))
    checkin = {
        "id": f"wb_{secrets.token_hex(8)}",
        "date": completed[:10],
        "completed_at": completed,
        "raw_score": raw,
        "composite_score": raw * 4,
        "dimensions": dims,
    }
    with req.services.storage.unit_of_work() as conn:
        quotas.check_records(req.services.settings, conn, req.workspace_id, 1)
        records_mod.insert_many(conn, row.id, "wellbeing", [checkin])
        _emit_if_consented(
            req, conn, row.anon_id, "wellbeing:read", "wellbeing.completed", checkin, iso(now(req))
        )
    req.services.wake_dispatcher()
    return created(checkin)


def get_clock(req: ApiRequest) -> Reply:
    repo = req.services.workspaces
    with req.services.storage.read() as conn:
        offset, target = repo.clock_state(conn, req.workspace_id)
    moment = utcnow()
    body: dict[str, Any] = {"now": iso(moment + timedelta(seconds=offset)), "offset_seconds": int(offset)}
    if target is not None:  # an advance is still writing its days (or was interrupted)
        body["advancing_to"] = iso(moment + timedelta(seconds=target))
    return ok(body)


@own_transactions
def advance_clock(req: ApiRequest) -> Reply:
    """Chunked (see ``sandbox_work``): the served clock moves only once every new day is written."""
    workspace = _workspace(req)
    step = timedelta(days=int(req.body.get("days", 0)), hours=int(req.body.get("hours", 0)))
    seconds = step.total_seconds()
    settings, storage = req.services.settings, req.services.storage
    repo = req.services.workspaces
    with storage.read() as conn:
        offset, target = repo.clock_state(conn, workspace.id)
        quotas.check_clock(settings, max(offset, target or offset), seconds)
        quotas.check_records_for_days(settings, conn, workspace.id, seconds / quotas.DAY_SECONDS)
    try:
        return ok(sandbox_work.run_heavy(req.services, sandbox_work.advance_job, workspace.id, seconds))
    finally:
        quotas.forget(workspace.id)
