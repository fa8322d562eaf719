"""The readiness probe's question to the database: does it answer at all."""

from __future__ import annotations

from sqlalchemy import Connection, text

_PING = text("SELECT 1")


def ping(conn: Connection) -> None:
    """One round trip; raises :data:`~mock_server.storage.errors.DatabaseError` when the database
    cannot be reached (the caller answers 503)."""
    conn.execute(_PING)
