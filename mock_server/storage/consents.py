"""Link requests and consents: the rows of the consent lifecycle (its rules live in ``consent.py``).

Both repositories follow the storage rule: every method takes the caller's connection. The consent
service runs each transition in one ``storage.unit_of_work()`` that also writes the transition's
webhook event, and reads the current state with :meth:`LinkRequestRepo.lock` first, so two racing
transitions serialize on the row.
"""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Connection, func, select, text, update

from mock_server.storage import schema

L = schema.link_requests
C = schema.consents

_NEXT_SEQ = text(
    "SELECT coalesce(max(seq), 0) + 1 FROM consents WHERE workspace_id = :ws AND anon_id = :anon"
)


_LATEST = text(
    "SELECT * FROM consents WHERE workspace_id = :ws AND anon_id = :anon ORDER BY seq DESC LIMIT 1"
)  # prebuilt: the consent gate and the sandbox controls read it


def latest_consent(conn: Connection, workspace_id: str, anon_id: str) -> Any:
    """The patient's most recent consent to this workspace (highest ``seq``), or None."""
    return conn.execute(_LATEST, {"ws": workspace_id, "anon": anon_id}).first()


def next_seq(conn: Connection, workspace_id: str, patient_ref: str, anon_id: str) -> int:
    """The next consent number for this patient and workspace, taken under the patient's row lock.

    Why a sequence: ``granted_at`` has one-second resolution, so a revoke and a re-grant in the same
    second tie; ordering by the sequence makes "the latest consent" deterministic. The lock (a no-op
    on SQLite, whose write transaction already serializes) makes two concurrent grants queue.
    """
    conn.execute(
        select(schema.sandbox_patients.c.id)
        .where(schema.sandbox_patients.c.id == patient_ref)
        .with_for_update()
    )
    return int(conn.execute(_NEXT_SEQ, {"ws": workspace_id, "anon": anon_id}).scalar_one())


class LinkRequestRepo:
    """Owns ``link_requests``: a partner's request to link a patient, ``pending`` until answered.

    Rows are returned as they are stored (``scopes`` a JSON text); the service shapes the views.
    """

    def insert(
        self,
        conn: Connection,
        *,
        request_id: str,
        workspace_id: str,
        patient_email: str,
        patient_ref: str,
        scopes_json: str,
        message: str | None,
        created_at: str,
        expires_at: str,
    ) -> Any:
        """Store a new pending request; returns its row."""
        conn.execute(
            L.insert().values(
                id=request_id,
                workspace_id=workspace_id,
                patient_email=patient_email,
                patient_ref=patient_ref,
                scopes=scopes_json,
                message=message,
                status="pending",
                created_at=created_at,
                expires_at=expires_at,
            )
        )
        return self.row(conn, request_id)

    def row(self, conn: Connection, request_id: str) -> Any:
        """The request's current row (it must exist)."""
        return conn.execute(select(L).where(L.c.id == request_id)).one()

    def get(self, conn: Connection, workspace_id: str, request_id: str) -> Any:
        """The workspace's request, or None (another workspace's request is as good as absent)."""
        return conn.execute(select(L).where(L.c.id == request_id, L.c.workspace_id == workspace_id)).first()

    def lock(self, conn: Connection, workspace_id: str, request_id: str) -> Any:
        """:meth:`get` under the row's lock (``FOR UPDATE``; SQLite's write transaction serializes
        anyway): read before a transition, so a racing transition waits for this one's commit."""
        return conn.execute(
            select(L).where(L.c.id == request_id, L.c.workspace_id == workspace_id).with_for_update()
        ).first()

    def pending_for(self, conn: Connection, workspace_id: str, patient_ref: str, now: str) -> str | None:
        """The id of a pending, unexpired request for this patient, if there is one."""
        found = conn.execute(
            select(L.c.id).where(
                L.c.workspace_id == workspace_id,
                L.c.patient_ref == patient_ref,
                L.c.status == "pending",
                L.c.expires_at > now,
            )
        ).first()
        return None if found is None else str(found.id)

    def page(
        self, conn: Connection, workspace_id: str, status: str | None, page: int, per_page: int
    ) -> tuple[int, builtins.list[Any]]:
        """``(total, rows)`` of the workspace's requests, newest first, optionally of one status."""
        clauses = [L.c.workspace_id == workspace_id]
        if status:
            clauses.append(L.c.status == status)
        total = int(conn.execute(select(func.count()).select_from(L).where(*clauses)).scalar_one())
        rows = conn.execute(
            select(L)
            .where(*clauses)
            .order_by(L.c.created_at.desc(), L.c.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        return total, list(rows)

    def due_to_expire(self, conn: Connection, workspace_id: str, now: str) -> builtins.list[Any]:
        """The workspace's pending requests whose expiry is at or before ``now``."""
        return list(
            conn.execute(
                select(L).where(
                    L.c.workspace_id == workspace_id, L.c.status == "pending", L.c.expires_at <= now
                )
            ).all()
        )

    def set_status(self, conn: Connection, request_id: str, status: str, **values: Any) -> None:
        """Move the request to ``status`` (with ``responded_at``/``consent_id`` where they apply).

        The state machine is the service's: this writes whatever it decided."""
        conn.execute(update(L).where(L.c.id == request_id).values(status=status, **values))


class ConsentRepo:
    """Owns ``consents``: one row per grant, ``active`` until revoked; the latest per patient (by
    ``seq``, see :func:`next_seq`) is the one that counts.

    The per-request read of the latest consent stays in ``consent.ConsentService.latest`` for now
    (the read path's own module; it is on the allow-list of ``tests/test_architecture.py``).
    """

    def insert(
        self,
        conn: Connection,
        *,
        consent_id: str,
        workspace_id: str,
        patient_ref: str,
        anon_id: str,
        scopes_json: str,
        granted_at: str,
        link_request_id: str | None = None,
    ) -> None:
        """Store an active consent, numbered after the patient's earlier ones (under their lock)."""
        conn.execute(
            C.insert().values(
                id=consent_id,
                workspace_id=workspace_id,
                patient_ref=patient_ref,
                anon_id=anon_id,
                scopes=scopes_json,
                status="active",
                granted_at=granted_at,
                link_request_id=link_request_id,
                seq=next_seq(conn, workspace_id, patient_ref, anon_id),
            )
        )

    def row(self, conn: Connection, consent_id: str) -> Any:
        """The consent's current row (it must exist)."""
        return conn.execute(select(C).where(C.c.id == consent_id)).one()

    def active_id(self, conn: Connection, workspace_id: str, patient_ref: str) -> str | None:
        """The id of the patient's active consent to this workspace, if any."""
        found = conn.execute(
            select(C.c.id).where(
                C.c.workspace_id == workspace_id, C.c.patient_ref == patient_ref, C.c.status == "active"
            )
        ).first()
        return None if found is None else str(found.id)

    def lock(self, conn: Connection, consent_id: str) -> None:
        """Take the consent row's lock until the unit of work ends: a revoke running at the same time
        either committed first (and the caller sees it) or waits for the caller's commit."""
        conn.execute(select(C.c.id).where(C.c.id == consent_id).with_for_update())

    def revoke(self, conn: Connection, consent_id: str, revoked_at: str) -> bool:
        """Revoke the consent if it is still active; False when a concurrent revoke got there first
        (PostgreSQL re-checks ``status`` once that revoke's row lock is released)."""
        result = conn.execute(
            update(C)
            .where(C.c.id == consent_id, C.c.status == "active")
            .values(status="revoked", revoked_at=revoked_at)
        )
        return result.rowcount == 1

    def latest_page(
        self,
        conn: Connection,
        workspace_id: str,
        status: str,
        search: str | None,
        page: int,
        per_page: int,
    ) -> tuple[int, builtins.list[Any]]:
        """``(total, rows)``: each patient's latest consent, if it has ``status``, newest grant first;
        ``search`` is a substring of the anonymized id, matched literally (``%`` and ``_`` too)."""
        latest = (
            select(C.c.anon_id, func.max(C.c.seq).label("s"))
            .where(C.c.workspace_id == workspace_id)
            .group_by(C.c.anon_id)
            .subquery()
        )
        clauses = [C.c.workspace_id == workspace_id, C.c.status == status]
        if search:
            clauses.append(C.c.anon_id.contains(search.lower(), autoescape=True))
        query = (
            select(C)
            .join(latest, (latest.c.anon_id == C.c.anon_id) & (latest.c.s == C.c.seq))
            .where(*clauses)
        )
        total = int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        rows = conn.execute(
            query.order_by(C.c.granted_at.desc(), C.c.anon_id).limit(per_page).offset((page - 1) * per_page)
        ).all()
        return total, list(rows)
