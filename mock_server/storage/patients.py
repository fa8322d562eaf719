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
from sqlalchemy import Connection, func, select, update

from mock_server.storage import Storage, schema

P = schema.sandbox_patients


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

    def page(self, workspace_id: str, page: int, per_page: int) -> tuple[int, list[SandboxPatientRow]]:
        with self.db.read() as conn:
            total = self.count(workspace_id, conn)
            rows = conn.execute(
                select(P)
                .where(P.c.workspace_id == workspace_id)
                .order_by(P.c.id)
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
        return total, [_row(r) for r in rows]

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
