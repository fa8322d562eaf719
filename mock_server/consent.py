"""The consent lifecycle of seed 000, as one state machine.

A link request moves ``pending → accepted | declined | cancelled | expired``; nothing else. Every
transition happens in one transaction that also writes its webhook event to the outbox, and reads the
current state inside that transaction, so two racing calls cannot both succeed (the second sees the
new state and gets 409 ``invalid_state_transition``).

Accepting creates a consent carrying the scopes the patient granted (a subset of those requested: a
patient may opt out of some). Revoking ends it; every data read checks the consent on every call, so
revocation takes effect on the very next request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from mock_server.errors import ApiError, not_found, unprocessable
from mock_server.scopes import PATIENT_DATA_SCOPES
from mock_server.storage import Connection, Storage
from mock_server.storage.consents import ConsentRepo, LinkRequestRepo, latest_consent
from mock_server.storage.patients import ConsentFacts, PatientRepo
from mock_server.timeutil import iso
from mock_server.webhooks.outbox import emit_event

TRANSITIONS = {
    "pending": {"accepted", "declined", "cancelled", "expired"},
    "accepted": set(),
    "declined": set(),
    "cancelled": set(),
    "expired": set(),
}


def check_transition(current: str, target: str, request_id: str) -> None:
    if target not in TRANSITIONS.get(current, set()):
        raise ApiError(
            409,
            "invalid_state_transition",
            f"link request {request_id} is {current}; it cannot become {target}",
            {"request_id": request_id, "status": current, "requested": target},
        )


def link_request_view(row: Any, anon_id: str | None) -> dict[str, Any]:
    return {
        "request_id": row.id,
        "status": row.status,
        "patient_email": row.patient_email,
        "scopes": orjson.loads(row.scopes),
        "message": row.message,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "responded_at": row.responded_at,
        "patient_id": anon_id if row.status == "accepted" else None,
    }


def consent_view(row: Any) -> dict[str, Any]:
    return {
        "status": row.status,
        "scopes": orjson.loads(row.scopes),
        "granted_at": row.granted_at,
        "revoked_at": row.revoked_at,
    }


def patient_consent_view(anon_id: str, facts: ConsentFacts) -> dict[str, Any]:
    """The SandboxPatientConsent shape: where the patient stands with the workspace, as their phone
    shows it. An active latest consent is ``granted``; else a pending request is ``pending`` (even after
    a revoke: the phone shows the new request's card); else a revoked latest consent is ``revoked``;
    else ``none``. ``patient_id`` and ``scopes`` come from the latest consent, whatever the status."""
    if facts.latest_status == "active":
        status = "granted"
    elif facts.pending_request_id is not None:
        status = "pending"
    elif facts.latest_status == "revoked":
        status = "revoked"
    else:
        status = "none"
    consented = facts.latest_status is not None
    return {
        "status": status,
        "patient_id": anon_id if consented else None,
        "scopes": list(facts.latest_scopes) if consented else [],
        "link_request_id": facts.pending_request_id if status == "pending" else None,
    }


@dataclass(frozen=True)
class ActiveConsent:
    patient_ref: str
    anon_id: str
    scopes: frozenset[str]
    row: Any


class ConsentService:
    def __init__(self, db: Storage, patients: PatientRepo, ttl_days: int) -> None:
        self.db = db
        self.patients = patients
        self.requests = LinkRequestRepo()
        self.consents = ConsentRepo()
        self.ttl = timedelta(days=ttl_days)

    # --- partner side -----------------------------------------------------------------------
    def create_request(
        self, workspace_id: str, email: str, scopes: list[str], message: str | None, now: datetime
    ) -> dict[str, Any]:
        unknown = sorted(set(scopes) - set(PATIENT_DATA_SCOPES))
        if unknown:
            raise unprocessable(
                "unknown or non-patient scopes requested",
                {"scopes": [f"not a patient data scope: {s}" for s in unknown]},
            )
        with self.db.unit_of_work() as conn:
            patient = self.patients.by_email(conn, workspace_id, email)
            if patient is None:
                raise unprocessable(
                    "no sandbox patient has this email; list them with GET /v1/sandbox/patients",
                    {"patient_email": ["no sandbox patient with this address"]},
                )
            if self.consents.active_id(conn, workspace_id, patient.id) is not None:
                raise ApiError(
                    409,
                    "conflict",
                    "this patient already has an active consent for your workspace",
                    {"patient_id": patient.anon_id},
                )
            pending = self.requests.pending_for(conn, workspace_id, patient.id, iso(now))
            if pending is not None:
                raise ApiError(
                    409,
                    "conflict",
                    "a pending link request for this patient already exists",
                    {"request_id": pending},
                )
            row = self.requests.insert(
                conn,
                request_id=f"lr_{secrets.token_hex(10)}",
                workspace_id=workspace_id,
                patient_email=patient.email,
                patient_ref=patient.id,
                scopes_json=orjson.dumps(list(dict.fromkeys(scopes))).decode(),
                message=message,
                created_at=iso(now),
                expires_at=iso(now + self.ttl),
            )
        return link_request_view(row, None)

    def _request(self, conn: Connection, workspace_id: str, request_id: str) -> Any:
        row = self.requests.lock(conn, workspace_id, request_id)
        if row is None:
            raise not_found("link request", request_id)
        return row

    def get_request(self, workspace_id: str, request_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            row = self.requests.get(conn, workspace_id, request_id)
            if row is None:
                raise not_found("link request", request_id)
            return link_request_view(row, self._anon(conn, row))

    def _anon(self, conn: Connection, row: Any) -> str | None:
        if row.status != "accepted" or row.patient_ref is None:
            return None
        patient = self.patients.by_ref(conn, row.patient_ref)
        return patient.anon_id if patient else None

    def list_requests(
        self, workspace_id: str, status: str | None, page: int, per_page: int
    ) -> tuple[int, list[dict[str, Any]]]:
        with self.db.read() as conn:
            total, rows = self.requests.page(conn, workspace_id, status, page, per_page)
            return total, [link_request_view(r, self._anon(conn, r)) for r in rows]

    def cancel(self, workspace_id: str, request_id: str, now: datetime) -> dict[str, Any]:
        with self.db.unit_of_work() as conn:
            row = self._request(conn, workspace_id, request_id)
            row = self._expire_if_due(conn, row, now)
            check_transition(row.status, "cancelled", request_id)
            self.requests.set_status(conn, request_id, "cancelled")
            return link_request_view(self.requests.row(conn, request_id), None)

    # --- patient side (sandbox controls) -----------------------------------------------------
    def _expire_if_due(self, conn: Connection, row: Any, now: datetime) -> Any:
        if row.status == "pending" and row.expires_at <= iso(now):
            self._expire(conn, row, now)
            return self.requests.row(conn, row.id)
        return row

    def _expire(self, conn: Connection, row: Any, now: datetime) -> None:
        self.requests.set_status(conn, row.id, "expired")
        emit_event(
            conn,
            workspace_id=row.workspace_id,
            event_type="link_request.expired",
            patient_id=None,
            data={"request_id": row.id, "expired_at": row.expires_at},
            timestamp=iso(now),
        )

    def accept(
        self, workspace_id: str, request_id: str, scopes: list[str] | None, now: datetime
    ) -> dict[str, Any]:
        with self.db.unit_of_work() as conn:
            row = self._request(conn, workspace_id, request_id)
            row = self._expire_if_due(conn, row, now)
            check_transition(row.status, "accepted", request_id)
            requested = orjson.loads(row.scopes)
            granted = requested if scopes is None else [s for s in requested if s in set(scopes)]
            extra = sorted(set(scopes or []) - set(requested))
            if extra:
                raise unprocessable(
                    "a patient can only grant scopes that were requested",
                    {"scopes": [f"not requested: {s}" for s in extra]},
                )
            if not granted:
                raise unprocessable(
                    "grant at least one scope, or decline the request", {"scopes": ["must not be empty"]}
                )
            patient = self.patients.by_ref(conn, row.patient_ref)
            if patient is None:
                raise not_found("sandbox patient")
            consent_id = f"cns_{secrets.token_hex(10)}"
            self.consents.insert(
                conn,
                consent_id=consent_id,
                workspace_id=workspace_id,
                patient_ref=patient.id,
                anon_id=patient.anon_id,
                scopes_json=orjson.dumps(granted).decode(),
                granted_at=iso(now),
                link_request_id=request_id,
            )
            self.requests.set_status(
                conn, request_id, "accepted", responded_at=iso(now), consent_id=consent_id
            )
            emit_event(
                conn,
                workspace_id=workspace_id,
                event_type="consent.granted",
                patient_id=patient.anon_id,
                data={
                    "consent_id": consent_id,
                    "scopes": granted,
                    "granted_at": iso(now),
                    "link_request_id": request_id,
                },
                timestamp=iso(now),
            )
            updated = self.requests.row(conn, request_id)
        return {
            "link_request": link_request_view(updated, patient.anon_id),
            "consent": {
                "id": consent_id,
                "patient_id": patient.anon_id,
                "scopes": granted,
                "granted_at": iso(now),
            },
        }

    def decline(self, workspace_id: str, request_id: str, now: datetime) -> dict[str, Any]:
        with self.db.unit_of_work() as conn:
            row = self._request(conn, workspace_id, request_id)
            row = self._expire_if_due(conn, row, now)
            check_transition(row.status, "declined", request_id)
            self.requests.set_status(conn, request_id, "declined", responded_at=iso(now))
            emit_event(
                conn,
                workspace_id=workspace_id,
                event_type="link_request.declined",
                patient_id=None,
                data={"request_id": request_id, "declined_at": iso(now)},
                timestamp=iso(now),
            )
            return link_request_view(self.requests.row(conn, request_id), None)

    def grant_directly(
        self,
        conn: Connection,
        workspace_id: str,
        patient_ref: str,
        anon_id: str,
        scopes: list[str],
        now: datetime,
    ) -> str:
        """Seeding: a consent that exists from the start (no link request, no event)."""
        consent_id = f"cns_{secrets.token_hex(10)}"
        self.consents.insert(
            conn,
            consent_id=consent_id,
            workspace_id=workspace_id,
            patient_ref=patient_ref,
            anon_id=anon_id,
            scopes_json=orjson.dumps(scopes).decode(),
            granted_at=iso(now),
        )
        return consent_id

    def revoke(self, workspace_id: str, anon_id: str, now: datetime) -> dict[str, Any]:
        with self.db.unit_of_work() as conn:
            row = self.latest(conn, workspace_id, anon_id)
            if row is None:
                raise not_found("consented patient", anon_id)
            if row.status == "active" and not self.consents.revoke(conn, row.id, iso(now)):
                row = self.consents.row(conn, row.id)  # a concurrent revoke committed first
            if row.status != "active":
                raise ApiError(
                    409,
                    "invalid_state_transition",
                    "this consent is already revoked",
                    {"patient_id": anon_id, "revoked_at": row.revoked_at},
                )
            emit_event(
                conn,
                workspace_id=workspace_id,
                event_type="consent.revoked",
                patient_id=anon_id,
                data={"consent_id": row.id, "revoked_at": iso(now)},
                timestamp=iso(now),
            )
            updated = self.consents.row(conn, row.id)
        return {"id": updated.id, "patient_id": anon_id, **consent_view(updated)}

    def expire_due(self, workspace_id: str, now: datetime) -> int:
        """Sweep for the test clock: expire every pending request whose 30 days are over."""
        with self.db.unit_of_work() as conn:
            rows = self.requests.due_to_expire(conn, workspace_id, iso(now))
            for row in rows:
                self._expire(conn, row, now)
        return len(rows)

    # --- the data plane's gate ---------------------------------------------------------------
    def latest(self, conn: Connection, workspace_id: str, anon_id: str) -> Any:
        """The patient's most recent consent to this workspace (every data read starts here)."""
        return latest_consent(conn, workspace_id, anon_id)

    def require(
        self, workspace_id: str, anon_id: str, scope: str | None, held: frozenset[str] | None = None
    ) -> ActiveConsent:
        """The consent that lets this workspace read this patient, or the right 403/404 (:func:`admit`)."""
        with self.db.read() as conn:
            row = self.latest(conn, workspace_id, anon_id)
        return admit(row, anon_id, scope, held)

    def list_consented(
        self, workspace_id: str, status: str | None, search: str | None, page: int, per_page: int
    ) -> tuple[int, list[Any]]:
        """The latest consent per patient, filtered by status (default: active only)."""
        with self.db.read() as conn:
            return self.consents.latest_page(conn, workspace_id, status or "active", search, page, per_page)


def admit(row: Any, anon_id: str, scope: str | None, held: frozenset[str] | None = None) -> ActiveConsent:
    """Judge the patient's latest consent ``row`` (None: there is none) for a read needing ``scope``.

    No consent, or another workspace's patient: 404, never revealing that the patient exists.
    Revoked: 403 ``consent_revoked``. Scope not granted by the patient: 403 ``insufficient_scope``.
    ``held`` is the calling credential's scopes: the returned ``scopes`` are the intersection of
    what the patient granted and what the credential holds, so every handler that picks series
    by ``consent.scopes`` reads no more than *both* allow (a ``pain:read``-only token must not see
    vitals because the patient happened to grant them).
    """
    if row is None:
        raise not_found("patient", anon_id)
    if row.status != "active":
        raise ApiError(
            403,
            "consent_revoked",
            "the patient revoked this consent",
            {"patient_id": anon_id, "revoked_at": row.revoked_at},
        )
    scopes = frozenset(orjson.loads(row.scopes))
    if scope is not None and scope not in scopes:
        raise ApiError(
            403,
            "insufficient_scope",
            f"the patient did not grant {scope}",
            {"required": [scope], "granted": sorted(scopes), "granted_by": "patient"},
        )
    return ActiveConsent(row.patient_ref, anon_id, scopes if held is None else scopes & held, row)
