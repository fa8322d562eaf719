"""``Idempotency-Key`` on POST with Stripe's semantics.

Same key and same request → the stored response is replayed (``Idempotent-Replayed: true``); same key
and a different request → 409 ``idempotency_conflict``; a key still being processed → 409 too. Keys
live 24 hours (``Settings.idempotency_ttl_seconds``). The key row is inserted *before* the handler
runs, so two concurrent requests with one key cannot both execute — the database's primary key
decides, which also holds across worker processes. 5xx outcomes are not stored, so a retry after a
server failure runs again.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from mock_server.errors import ApiError
from mock_server.storage import Storage, schema
from mock_server.timeutil import iso, utcnow

T = schema.idempotency_keys


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, storage: Storage, ttl_seconds: int) -> None:
        self.storage = storage
        self.ttl = timedelta(seconds=ttl_seconds)

    def begin(
        self, workspace_id: str, key: str, method: str, path: str, body_hash: str
    ) -> tuple[int, dict[str, str], bytes] | None:
        """Claim ``key``; return a stored (status, headers, body) to replay, or None to proceed."""
        now = utcnow()
        with self.storage.engine.begin() as conn:
            row = conn.execute(select(T).where(T.c.workspace_id == workspace_id, T.c.key == key)).first()
            if row is not None and row.expires_at <= iso(now):
                conn.execute(delete(T).where(T.c.workspace_id == workspace_id, T.c.key == key))
                row = None
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            T.insert().values(
                                workspace_id=workspace_id,
                                key=key,
                                method=method,
                                path=path,
                                body_hash=body_hash,
                                created_at=iso(now),
                                expires_at=iso(now + self.ttl),
                            )
                        )
                except IntegrityError as exc:
                    raise ApiError(
                        409,
                        "idempotency_conflict",
                        "a request with this Idempotency-Key is already in progress",
                    ) from exc
                return None
        if row.body_hash != body_hash:
            raise ApiError(
                409,
                "idempotency_conflict",
                "this Idempotency-Key was used with a different request",
                {"idempotency_key": key, "original_path": row.path},
            )
        if row.status_code is None:
            raise ApiError(
                409,
                "idempotency_conflict",
                "a request with this Idempotency-Key is still in progress",
                {"idempotency_key": key},
            )
        return (
            int(row.status_code),
            orjson.loads(row.response_headers or "{}"),
            bytes(row.response_body or b""),
        )

    def finish(self, workspace_id: str, key: str, status: int, headers: dict[str, str], body: bytes) -> None:
        with self.storage.engine.begin() as conn:
            where = (T.c.workspace_id == workspace_id) & (T.c.key == key)
            if status >= 500:
                conn.execute(delete(T).where(where))
            else:
                conn.execute(
                    update(T)
                    .where(where)
                    .values(
                        status_code=status,
                        response_headers=orjson.dumps(headers).decode(),
                        response_body=body,
                    )
                )
