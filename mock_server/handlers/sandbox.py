"""Sandbox controls: the patient's side of the flow, a test clock, and reset.

These are what make the sandbox a sandbox: the integrator plays the patient (accept, decline,
revoke, check in) and moves time, and every one of these actions has the same effects — state
changes, webhook events — that the real patient app would cause.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from mock_server.context import ApiRequest, Reply, created, ok
from mock_server.errors import not_found, unprocessable
from mock_server.handlers._shared import consents, list_body, now, paging, patients
from mock_server.seeding import advance_patients, clear_workspace, seed_workspace
from mock_server.seeding import create_patient as seed_patient
from mock_server.storage import records as records_mod
from mock_server.storage.workspaces import Workspace, WorkspaceRepo
from mock_server.timeutil import iso, parse_iso
from mock_server.webhooks.outbox import emit_event
from synthetic_data.vocab import LOCALES


def _workspace(req: ApiRequest) -> Workspace:
    repo: WorkspaceRepo = req.services.extras["workspaces"]
    workspace = repo.get(req.workspace_id)
    if workspace is None:
        raise not_found("workspace", req.workspace_id)
    return workspace


def reset(req: ApiRequest) -> Reply:
    workspace = _workspace(req)
    with req.services.storage.begin() as conn:
        cleared = clear_workspace(conn, workspace.id)
    seeded = seed_workspace(req.services, workspace, req.services.clock.now(workspace.id))
    return ok(
        {**seeded, "link_requests": cleared.get("link_requests", 0), "removed_records": cleared["records"]}
    )


def create_patient(req: ApiRequest) -> Reply:
    workspace = _workspace(req)
    body = req.body or {}
    if body.get("locale") is not None and body["locale"] not in LOCALES:
        raise unprocessable("unsupported locale", {"locale": [f"use one of {', '.join(LOCALES)}"]})
    repo = patients(req)
    with req.services.storage.begin() as conn:
        index = repo.count(workspace.id, conn)
        row = seed_patient(
            req.services,
            conn,
            workspace,
            index,
            now(req),
            history_days=int(body.get("history_days", 90)),
            overrides={k: body.get(k) for k in ("condition", "baseline_severity", "sources", "locale")},
        )
    return created(row.view())


def list_patients(req: ApiRequest) -> Reply:
    page, per_page = paging(req)
    total, rows = patients(req).page(req.workspace_id, page, per_page)
    return ok(list_body([r.view() for r in rows], total, page, per_page))


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
    with req.services.storage.connect() as conn:
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


CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of the workspace clock a check-in may be dated: phones' clocks drift a little."""


def _not_future(req: ApiRequest, field: str) -> str:
    """The body's timestamp ``field`` (default: the workspace clock's now); 422 when in the future.

    The contract forbids future check-ins: data "from tomorrow" would teach integrators to expect
    something the real app never sends, and would sit ahead of every time-ordered read.
    """
    moment = now(req)
    if not req.body.get(field):
        return iso(moment)
    at = parse_iso(req.body[field])
    if at > moment + CLOCK_SKEW:
        raise unprocessable(
            f"{field} is in the future",
            {field: [f"must not be after the sandbox clock's now ({iso(moment)}) plus 5 minutes"]},
        )
    return iso(at)


def create_pain_entry(req: ApiRequest) -> Reply:
    """A check-in as the patient app sends it; fires ``pain_entry.created`` for a consenting partner."""
    row = _patient_for_checkin(req)
    body = req.body
    logged = _not_future(req, "logged_at")
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
    with req.services.storage.begin() as conn:
        records_mod.insert_many(conn, row.id, "pain_entry", [entry])
        _emit_if_consented(req, conn, row.anon_id, "pain:read", "pain_entry.created", entry, iso(now(req)))
    req.services.wake_dispatcher()
    return created(entry)


def create_wellbeing_checkin(req: ApiRequest) -> Reply:
    """A WHO-5 questionnaire as the patient app sends it; fires ``wellbeing.completed``."""
    row = _patient_for_checkin(req)
    dims = req.body["dimensions"]
    completed = _not_future(req, "completed_at")
    raw = sum(int(dims[k]) for k in ("cheerful", "calm", "active", "rested", "interested"))
    checkin = {
        "id": f"wb_{secrets.token_hex(8)}",
        "date": completed[:10],
        "completed_at": completed,
        "raw_score": raw,
        "composite_score": raw * 4,
        "dimensions": dims,
    }
    with req.services.storage.begin() as conn:
        records_mod.insert_many(conn, row.id, "wellbeing", [checkin])
        _emit_if_consented(
            req, conn, row.anon_id, "wellbeing:read", "wellbeing.completed", checkin, iso(now(req))
        )
    req.services.wake_dispatcher()
    return created(checkin)


def get_clock(req: ApiRequest) -> Reply:
    offset = req.services.clock.offset(req.workspace_id)
    return ok({"now": iso(now(req)), "offset_seconds": int(offset)})


def advance_clock(req: ApiRequest) -> Reply:
    workspace = _workspace(req)
    step = timedelta(days=int(req.body.get("days", 0)), hours=int(req.body.get("hours", 0)))
    repo: WorkspaceRepo = req.services.extras["workspaces"]
    # the gateway runs this handler in one unit of work: the advance's row lock makes a concurrent
    # advance (another worker process) wait until these days are generated and committed, so no day
    # is generated twice and no step is lost
    with req.services.storage.begin() as conn:
        offset = repo.advance_clock(conn, workspace.id, step.total_seconds())
        moment = req.services.clock.now(workspace.id)
        expired = consents(req).expire_due(workspace.id, moment)
        generated = advance_patients(req.services, workspace, moment)
    req.services.wake_dispatcher()
    return ok(
        {
            "now": iso(moment),
            "offset_seconds": int(offset),
            "expired_link_requests": expired,
            "generated": generated,
        }
    )
