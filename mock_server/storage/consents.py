"""Consent rows' ordering: the per-patient sequence that says which consent is the latest, and the
latest one (the data plane's gate; its hot path, with the page read, is ``storage.page_reads``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text

from mock_server.storage import schema

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
