"""Stored responses of ``Idempotency-Key`` requests (the rules are ``gateway/idempotency.py``'s)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, text

from mock_server.storage import schema

T = schema.idempotency_keys
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:lock)")


class IdempotencyRepo:
    """Owns ``idempotency_keys``: one row per (workspace, key) with the response it answered.

    Unit of work: every method takes the caller's connection, and on purpose: the gateway runs a keyed
    request in one ``storage.unit_of_work()`` and stores the key with :meth:`insert` on that very
    connection, so the key and the write it answers for commit together or not at all. A refusal is
    recorded afterwards in a ``storage.transaction()`` of its own (the request's rolled back).
    """

    def try_lock(self, conn: Connection, lock_id: int) -> bool:
        """Hold the key for the rest of the transaction, unless another transaction holds it.

        PostgreSQL: a transaction-scoped advisory lock, seen by every worker process; False at once
        when another holds it (no queueing). SQLite: always True — its writes are serialized and the
        server runs one process there, so no second lock is needed.
        """
        if conn.dialect.name != "postgresql":
            return True
        return bool(conn.execute(_TRY_LOCK, {"lock": lock_id}).scalar_one())

    def get(self, conn: Connection, workspace_id: str, key: str) -> Any:
        """The stored row of the workspace's key, or None."""
        return conn.execute(select(T).where(T.c.workspace_id == workspace_id, T.c.key == key)).first()

    def delete(self, conn: Connection, workspace_id: str, key: str) -> None:
        """Forget the key (expired, or left unfinished by an older version)."""
        conn.execute(delete(T).where(T.c.workspace_id == workspace_id, T.c.key == key))

    def insert(
        self,
        conn: Connection,
        *,
        workspace_id: str,
        key: str,
        method: str,
        path: str,
        body_hash: str,
        status_code: int,
        response_headers_json: str,
        response_body: bytes,
        created_at: str,
        expires_at: str,
    ) -> None:
        """Store the key with its complete response."""
        conn.execute(
            T.insert().values(
                workspace_id=workspace_id,
                key=key,
                method=method,
                path=path,
                body_hash=body_hash,
                status_code=status_code,
                response_headers=response_headers_json,
                response_body=response_body,
                created_at=created_at,
                expires_at=expires_at,
            )
        )
