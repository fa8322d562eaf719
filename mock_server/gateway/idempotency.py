"""``Idempotency-Key`` on POST with Stripe's semantics, made exactly-once by sharing the write's
transaction.

Same key and same request → the stored response is replayed (``Idempotent-Replayed: true``); same key
and a different request → 409 ``idempotency_conflict``; a key whose first request is still running →
409 too. Keys live 24 hours (``Settings.idempotency_ttl_seconds``).

Why one transaction: the gateway runs the handler inside ``storage.unit_of_work()`` and
:meth:`IdempotencyStore.record` inserts the key *with its response* on that same connection. The key
and the write it answers for therefore commit together or not at all. A worker killed mid-request, a
database restart, even a connection lost during ``COMMIT`` leaves either both (the retry replays) or
neither (the retry runs for the first time) — never a write without its key (a retry would write it
twice) nor a key without its write (a retry would be refused for a day).

Concurrent requests with one key: on PostgreSQL the first takes a transaction-scoped advisory lock on
the key (``pg_try_advisory_xact_lock``, across every worker process) and the others get 409 at once
instead of queueing behind it. On SQLite writes are serialized by the database and the server runs
one process, so no second lock is needed. 5xx outcomes are never stored, so a retry after a server
failure runs again.

Secrets are never stored here, as Stripe shows a secret once: a reply marks the body fields that
carry one (``Reply.secret_fields``: a webhook's ``secret`` on create and rotate-secret) and the
stored copy, hence every replay, omits them — a client that lost the first response rotates the
secret. A reply that *is* a secret (``Reply.replayable=False``: the OAuth token response) is not
stored at all; the key has no effect there, as RFC 6749 forbids caching token responses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from mock_server.errors import ApiError
from mock_server.storage import Connection, Storage
from mock_server.storage.idempotency import IdempotencyRepo
from mock_server.timeutil import iso, utcnow


def canonical_body(parsed: Any) -> bytes:
    """The request body as compared between an original and its retry: parsed, then re-serialized
    with sorted keys and no whitespace, so ``{"a": 1, "b": 2}`` and ``{"b":2,"a":1}`` are the same
    request (and an empty body, ``{}`` where none is taken, is the same as none)."""
    if parsed is None:
        return b""
    return orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS)


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def without_fields(body: bytes, fields: tuple[str, ...]) -> bytes:
    """``body`` (a JSON object) without the top-level ``fields``: what may be stored for a replay."""
    if not fields or not body:
        return body
    parsed = orjson.loads(body)
    if not isinstance(parsed, dict):
        return body
    return orjson.dumps({k: v for k, v in parsed.items() if k not in fields})


@dataclass(frozen=True)
class IdempotentRequest:
    """What identifies one keyed request: who sent it, under which key, and what it asked."""

    workspace_id: str
    key: str
    method: str
    path: str
    body_hash: str

    def lock_id(self) -> int:
        digest = hashlib.sha256(f"idempotency\0{self.workspace_id}\0{self.key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class IdempotencyStore:
    def __init__(self, storage: Storage, ttl_seconds: int) -> None:
        self.storage = storage
        self.keys = IdempotencyRepo()
        self.ttl = timedelta(seconds=ttl_seconds)

    def claim(self, conn: Connection, request: IdempotentRequest) -> StoredResponse | None:
        """Inside the request's transaction: the stored response to replay, or None to run it.

        Raises 409 when another request holds the key or the key was used for a different request.
        """
        if not self.keys.try_lock(conn, request.lock_id()):
            raise ApiError(
                409,
                "idempotency_conflict",
                "a request with this Idempotency-Key is still in progress; retry after it completes",
                {"idempotency_key": request.key},
                headers={"Retry-After": "1"},
            )
        row = self.keys.get(conn, request.workspace_id, request.key)
        if row is None:
            return None
        if row.expires_at <= iso(utcnow()) or row.status_code is None:
            # expired, or left in flight by a version that stored keys before running the request
            self.keys.delete(conn, request.workspace_id, request.key)
            return None
        if row.body_hash != request.body_hash:
            raise ApiError(
                409,
                "idempotency_conflict",
                "this Idempotency-Key was used with a different request",
                {"idempotency_key": request.key, "original_path": row.path},
            )
        return StoredResponse(
            int(row.status_code), orjson.loads(row.response_headers or "{}"), bytes(row.response_body or b"")
        )

    def record(self, conn: Connection, request: IdempotentRequest, response: StoredResponse) -> None:
        """Store the response under the key, in the transaction of the write it describes."""
        if response.status >= 500:
            return
        now = utcnow()
        self.keys.insert(
            conn,
            workspace_id=request.workspace_id,
            key=request.key,
            method=request.method,
            path=request.path,
            body_hash=request.body_hash,
            status_code=response.status,
            response_headers_json=orjson.dumps(response.headers).decode(),
            response_body=response.body,
            created_at=iso(now),
            expires_at=iso(now + self.ttl),
        )

    def record_failure(self, request: IdempotentRequest, response: StoredResponse) -> None:
        """Store a refusal (4xx) after its rolled-back attempt, so a retry gets the same answer.

        Runs in a transaction of its own because the request's was rolled back with whatever the
        handler had written before refusing. A key another request completed meanwhile is kept.
        """
        if response.status >= 500:
            return
        with self.storage.transaction() as conn:
            try:
                if self.claim(conn, request) is not None:
                    return
            except ApiError:
                return
            self.record(conn, request, response)
