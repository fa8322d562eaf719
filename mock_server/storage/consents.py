"""Consent rows' ordering: the per-patient sequence that says which consent is the latest."""

from __future__ import annotations

from sqlalchemy import Connection, select, text

from mock_server.storage import schema

_NEXT_SEQ = text(
    "SELECT coalesce(max(seq), 0) + 1 FROM consents WHERE workspace_id = :ws AND anon_id = :anon"
)


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
