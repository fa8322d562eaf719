"""The background writer: requests are logged off their critical path.

The capture middleware hands over raw bytes (a queue ``put``, no parsing, no I/O); this thread drains
the queue in batches, redacts, cuts bodies to the limit, inserts the batch in one transaction and
trims each workspace's log to its bounds. A full queue drops entries (counted) rather than slowing
requests down: the log is a debugging aid, never a reason for a request to wait.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson

from mock_server.requestlog import redact
from mock_server.storage import Storage
from mock_server.storage.request_log import RequestLogRepo
from mock_server.webhooks.outbox import precise_iso

log = logging.getLogger("care_sandbox.request_log")

BATCH = 200
GATHER_SECONDS = 0.1  # how long a first entry waits for others (the log lags by about this much)
TRIM_EVERY = 1.0  # seconds between trims of the log to its bounds
QUEUE_BOUND = 10_000


@dataclass(frozen=True)
class Captured:
    """One finished request, as the middleware saw it (nothing redacted yet)."""

    workspace_id: str
    credential_kind: str
    credential_id: str
    request_id: str
    method: str
    path: str
    query: bytes
    operation_id: str | None
    status: int
    duration_ms: float
    finished_at: datetime
    request_headers: list[tuple[bytes, bytes]]
    request_body: bytes
    response_headers: list[tuple[bytes, bytes]]
    response_body: bytes


def _media(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1")
    return ""


def _error_code(status: int, body: bytes) -> str | None:
    if status < 400 or not body.startswith(b"{"):
        return None
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    code = error.get("code") if isinstance(error, dict) else error if isinstance(error, str) else None
    return str(code)[:64] if code else None


def to_row(entry: Captured, body_limit: int) -> dict[str, Any]:
    """The stored, redacted form of one captured request."""
    credentials = redact.credentials_in(entry.request_headers)
    request_body, request_cut = redact.cut(
        redact.redact_body(entry.request_body, _media(entry.request_headers), credentials, request=True),
        body_limit,
    )
    response_body, response_cut = redact.cut(
        redact.redact_body(entry.response_body, _media(entry.response_headers), credentials, request=False),
        body_limit,
    )
    query = entry.query.decode("latin-1")
    return {
        "id": f"rql_{secrets.token_hex(10)}",
        "workspace_id": entry.workspace_id,
        "request_id": entry.request_id[:128],
        "method": entry.method[:16],
        "path": entry.path[:2048],
        "query": redact.redact_query(query, credentials)[:4096] if query else None,
        "operation_id": entry.operation_id,
        "status": entry.status,
        "error_code": _error_code(entry.status, entry.response_body),
        "duration_ms": entry.duration_ms,
        "credential_kind": entry.credential_kind,
        "credential_id": entry.credential_id,
        "request_headers": orjson.dumps(redact.redact_headers(entry.request_headers)).decode(),
        "request_body": request_body,
        "request_truncated": request_cut or len(entry.request_body) > body_limit,
        "response_headers": orjson.dumps(redact.redact_headers(entry.response_headers)).decode(),
        "response_body": response_body,
        "response_truncated": response_cut or len(entry.response_body) > body_limit,
        "created_at": precise_iso(entry.finished_at),
    }


class RequestLogWriter:
    """A daemon thread that stores captured requests in batches; ``close`` writes what is left."""

    def __init__(self, storage: Storage, *, keep: int, retention_days: int, body_limit: int) -> None:
        self.repo = RequestLogRepo(storage)
        self.keep = keep
        self.retention = timedelta(days=retention_days)
        self.body_limit = body_limit
        self.dropped = 0
        self._untrimmed: set[str] = set()
        self._next_trim = 0.0
        self._queue: queue.Queue[Captured | None] = queue.Queue(QUEUE_BOUND)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, entry: Captured) -> None:
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            self.dropped += 1

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="care-request-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:  # idle or not, a trim that fell due runs within TRIM_EVERY seconds
                first = self._queue.get(timeout=TRIM_EVERY if self._untrimmed else None)
            except queue.Empty:
                self._guarded(self._trim_if_due)
                continue
            if first is not None:
                time.sleep(GATHER_SECONDS)  # let a burst gather: one transaction for many requests
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [e for e in batch if e is not None]
            self._guarded(partial(self.write, entries))
            if any(e is None for e in batch):
                return

    @staticmethod
    def _guarded(work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:  # the log must never take the server down; the next round tries again
            log.exception("request log write or trim failed")

    def write(self, entries: list[Captured]) -> None:
        if not entries:
            return
        self.repo.insert_many([to_row(e, self.body_limit) for e in entries])
        self._untrimmed.update(e.workspace_id for e in entries)
        self._trim_if_due()

    def _trim_if_due(self) -> None:
        """Bounds are enforced at most once per TRIM_EVERY seconds: cheap under load, prompt when idle."""
        if not self._untrimmed or time.monotonic() < self._next_trim:
            return
        cutoff = precise_iso(datetime.now(UTC) - self.retention)
        self.repo.trim(self._untrimmed, keep=self.keep, older_than=cutoff)
        self._untrimmed.clear()
        self._next_trim = time.monotonic() + TRIM_EVERY

    def close(self, timeout: float = 5.0) -> None:
        """Write every queued entry, then stop the thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        self._thread = None
