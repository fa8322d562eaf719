"""Sandbox patients: the patient side of the sandbox, one set per workspace.

Partners never see these rows directly; they see a patient through a consent, under the
``anon_id`` (``p2c_anon_…``), an HMAC of the internal id keyed with the workspace's salt: stable for one
partner, unlinkable across partners.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, case, func, select, update

from mock_server.storage import Storage, schema

P = schema.sandbox_patients
C = schema.consents
L = schema.link_requests


def anonymized_id(salt: str, patient_ref: str) -> str:
    mac = hmac.new(salt.encode(), patient_ref.encode(), hashlib.sha256).hexdigest()
    return f"p2c_anon_{mac[:16]}"


@dataclass(frozen=True)
class SandboxPatientRow:
    id: str
    workspace_id: str
    email: str
    anon_id: str
    profile: dict[str, Any]
    history_start: str
    generated_days: int
    created_at: str

    def view(self) -> dict[str, Any]:
        """The SandboxPatient shape of the contract."""
        keys = ("display_name", "locale", "condition", "baseline_severity", "sources", "history_days")
        return {
            "id": self.id,
            "email": self.email,
            **{k: self.profile[k] for k in keys},
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ConsentFacts:
    """What a patient's consent to the workspace is made of, read in the same statement as the patient:
    the latest consent's status (``active`` | ``revoked``, None if never consented) and scopes, and the
    pending, unexpired link request's id. ``consent.patient_consent_view`` turns them into a state."""

    latest_status: str | None
    latest_scopes: list[str]
    pending_request_id: str | None


NO_CONSENT = ConsentFacts(None, [], None)
"""A patient who has never consented nor been asked: every new patient."""


def _row(r: Any) -> SandboxPatientRow:
    return SandboxPatientRow(
        r.id,
        r.workspace_id,
        r.email,
        r.anon_id,
        orjson.loads(r.profile),
        r.history_start,
        int(r.generated_days),
        r.created_at,
    )


def _pending_requests(now: str) -> Select[Any]:
    """The row's patient's link requests still pending on the sandbox clock (``now``): correlated to
    the patients row, for ``_with_consent`` and ``_in_state``."""
    return (
        select(L.c.id)
        .where(
            L.c.workspace_id == P.c.workspace_id,
            L.c.patient_ref == P.c.id,
            L.c.status == "pending",
            L.c.expires_at > now,
        )
        .correlate(P)
    )


def _with_consent(workspace_id: str, now: str) -> Select[Any]:
    """The workspace's patients, each with its :class:`ConsentFacts` as extra columns: one statement for
    a whole page (correlated subqueries on the consents' (workspace, anon_id, seq) index and the link
    requests'), never a query per patient."""
    older = C.alias("older_consents")
    latest_seq = (
        select(func.max(older.c.seq))
        .where(older.c.workspace_id == P.c.workspace_id, older.c.anon_id == P.c.anon_id)
        .correlate(P)
        .scalar_subquery()
    )
    pending = _pending_requests(now).order_by(L.c.created_at.desc(), L.c.id.desc()).limit(1).scalar_subquery()
    joined = P.outerjoin(
        C, (C.c.workspace_id == P.c.workspace_id) & (C.c.anon_id == P.c.anon_id) & (C.c.seq == latest_seq)
    )
    return (
        select(
            P,
            C.c.status.label("consent_status"),
            C.c.scopes.label("consent_scopes"),
            pending.label("pending_request_id"),
        )
        .select_from(joined)
        .where(P.c.workspace_id == workspace_id)
    )


CONSENT_STATES = ("none", "pending", "granted", "revoked")


def _in_state(status: str, now: str) -> ColumnElement[bool]:
    """The patients whose consent view (``consent.patient_consent_view``) has this ``status``, in SQL, so
    a filtered page is still one statement: the view's order of precedence as one ``CASE`` (an active
    latest consent is ``granted``; else a pending, unexpired request is ``pending``; else a revoked
    latest consent is ``revoked``; else ``none``). tests/mock_server/storage/test_patients.py checks
    that the two agree for every state."""
    if status not in CONSENT_STATES:
        raise ValueError(f"unknown consent state {status!r}; one of {', '.join(CONSENT_STATES)}")
    latest = C.c.status  # the latest consent's, by the outer join of _with_consent; NULL when none
    state = case(
        (latest == "active", "granted"),
        (_pending_requests(now).exists(), "pending"),
        (latest == "revoked", "revoked"),
        else_="none",
    )
    return state == status


def _with_facts(r: Any) -> tuple[SandboxPatientRow, ConsentFacts]:
    scopes = orjson.loads(r.consent_scopes) if r.consent_scopes else []
    return _row(r), ConsentFacts(r.consent_status, scopes, r.pending_request_id)


class PatientRepo:
    def __init__(self, db: Storage) -> None:
        self.db = db

    def insert(self, conn: Connection, row: SandboxPatientRow) -> None:
        conn.execute(
            P.insert().values(
                id=row.id,
                workspace_id=row.workspace_id,
                email=row.email,
                anon_id=row.anon_id,
                profile=orjson.dumps(row.profile).decode(),
                history_start=row.history_start,
                generated_days=row.generated_days,
                created_at=row.created_at,
            )
        )

    def count(self, workspace_id: str, conn: Connection | None = None) -> int:
        query = select(func.count()).select_from(P).where(P.c.workspace_id == workspace_id)
        if conn is not None:
            return int(conn.execute(query).scalar_one())
        with self.db.read() as own:
            return int(own.execute(query).scalar_one())

    def all(self, workspace_id: str, conn: Connection | None = None) -> list[SandboxPatientRow]:
        query = select(P).where(P.c.workspace_id == workspace_id).order_by(P.c.id)
        if conn is not None:
            return [_row(r) for r in conn.execute(query).all()]
        with self.db.read() as own:
            return [_row(r) for r in own.execute(query).all()]

    def page_with_consent(
        self, workspace_id: str, page: int, per_page: int, now: str, status: str | None = None
    ) -> tuple[int, list[tuple[SandboxPatientRow, ConsentFacts]]]:
        """``(total, rows)``: a page of the workspace's patients by id, each with its :class:`ConsentFacts`
        (a link request counts as pending while ``expires_at`` is after ``now``, the sandbox clock's): a
        count and one statement. ``status`` keeps the patients in one consent state (see
        :func:`_in_state`); the total counts them."""
        query = _with_consent(workspace_id, now)
        with self.db.read() as conn:
            if status is None:
                total = self.count(workspace_id, conn)
            else:
                query = query.where(_in_state(status, now))
                total = int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
            rows = conn.execute(query.order_by(P.c.id).limit(per_page).offset((page - 1) * per_page)).all()
        return total, [_with_facts(r) for r in rows]

    def with_consent(
        self, conn: Connection, workspace_id: str, patient_ref: str, now: str
    ) -> tuple[SandboxPatientRow, ConsentFacts] | None:
        """One patient of the workspace with its :class:`ConsentFacts`, or None."""
        row = conn.execute(_with_consent(workspace_id, now).where(P.c.id == patient_ref)).first()
        return _with_facts(row) if row else None

    def by_email(self, conn: Connection, workspace_id: str, email: str) -> SandboxPatientRow | None:
        row = conn.execute(
            select(P).where(P.c.workspace_id == workspace_id, func.lower(P.c.email) == email.lower())
        ).first()
        return _row(row) if row else None

    def by_anon(self, conn: Connection, workspace_id: str, anon_id: str) -> SandboxPatientRow | None:
        row = conn.execute(select(P).where(P.c.workspace_id == workspace_id, P.c.anon_id == anon_id)).first()
        return _row(row) if row else None

    def by_ref(self, conn: Connection, patient_ref: str) -> SandboxPatientRow | None:
        row = conn.execute(select(P).where(P.c.id == patient_ref)).first()
        return _row(row) if row else None

    def set_generated_days(self, conn: Connection, patient_ref: str, days: int) -> None:
        conn.execute(update(P).where(P.c.id == patient_ref).values(generated_days=days))

    def claim_days(self, conn: Connection, patient_ref: str, done: int, upto: int) -> bool:
        """Compare-and-set ``generated_days`` from ``done`` to ``upto``; False if another writer did.

        Taken before a chunk's rows are inserted in the same transaction: the row lock (PostgreSQL)
        or the write lock (SQLite) makes a concurrent advance of the same workspace wait, then find
        the days already claimed and skip them, so no day is generated twice.
        """
        moved = update(P).where(P.c.id == patient_ref, P.c.generated_days == done).values(generated_days=upto)
        return bool(conn.execute(moved).rowcount)

    def refs(self, conn: Connection, workspace_id: str) -> list[str]:
        return [r[0] for r in conn.execute(select(P.c.id).where(P.c.workspace_id == workspace_id)).all()]
