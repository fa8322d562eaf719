"""The background writer: requests are logged off their critical path.

The capture middleware hands over raw bytes (a queue ``put``, no parsing, no I/O); this thread drains
the queue in batches, redacts, cuts bodies to the limit, inserts the batch in one transaction and
trims each workspace's log to its bounds. A full queue drops entries (counted) rather than slowing
requests down: the log is a debugging aid, never a reason for a request to wait.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

import orjson

from mock_server.requestlog import redact
from mock_server.storage import Storage
from mock_server.storage.request_log import RequestLogRepo
from mock_server.webhooks.outbox import precise_iso

log = logging.getLogger("care_sandbox.request_log")

BATCH = 1000
GATHER_SECONDS = 0.1  # how long a first entry waits for others (the log lags by about this much)
TRIM_EVERY = 1.0  # seconds between trims of the log to its bounds
QUEUE_BOUND = 10_000


class Captured(NamedTuple):
    """One finished request, as the middleware saw it (nothing redacted yet).

    A named tuple, not a frozen dataclass: one is built on the event loop for every request served,
    and a tuple is built in C (a frozen dataclass sets each of its 15 fields through a Python call)."""

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


Redacted = tuple[str | None, bool, str | None]
"""A stored body: its redacted, cut text, whether it was cut, and its content ref (None when empty)."""


class BodyCache:
    """Redacted, cut bodies by digest of what was redacted: a body seen again is not scanned again.

    Why: clients poll, and a read answers the same bytes until the data changes; redaction is most
    of the writer's CPU, and it is a pure function of (bytes, media type, the request's credentials,
    direction, limit). A 16-byte BLAKE2 digest of 16 KB costs a few microseconds. The ref is the
    digest of the *stored text*, so identical texts share one row of ``request_log_bodies``.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._seen: dict[bytes, Redacted] = {}
        # the last body per (direction, media, credentials, limit): a poll answered with the same bytes
        # is recognised by comparing them (memcmp, ~1 µs for 16 KB) before any digest is computed
        self._last: dict[tuple[bool, str, tuple[str, ...], int], tuple[bytes, Redacted]] = {}

    def redacted(
        self, data: bytes, media: str, credentials: tuple[str, ...], *, request: bool, limit: int
    ) -> Redacted:
        if not data:
            return None, False, None
        if not self.size:
            return self._digested(data, media, credentials, request=request, limit=limit)
        slot = (request, media, credentials, limit)
        last = self._last.get(slot)
        if last is not None and last[0] == data:
            return last[1]
        found = self._digested(data, media, credentials, request=request, limit=limit)
        if len(self._last) >= self.size:
            del self._last[next(iter(self._last))]  # the oldest first
        self._last[slot] = (data, found)
        return found

    def _digested(
        self, data: bytes, media: str, credentials: tuple[str, ...], *, request: bool, limit: int
    ) -> Redacted:
        digest = hashlib.blake2b(data, digest_size=16, person=b"req" if request else b"resp")
        digest.update(media.encode("latin-1"))
        for credential in credentials:
            digest.update(b"\0" + credential.encode("latin-1"))
        key = digest.digest()
        found = self._seen.get(key)
        if found is None:
            text, was_cut = redact.cut(redact.redact_body(data, media, credentials, request=request), limit)
            ref = None if text is None else hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
            found = (text, was_cut or len(data) > limit, ref)
            if self.size:
                if len(self._seen) >= self.size:
                    del self._seen[next(iter(self._seen))]  # the oldest first
                self._seen[key] = found
        return found


def _stamp(moment: datetime) -> str:
    """``webhooks.outbox.precise_iso`` for an aware UTC datetime, at C speed (one call per entry)."""
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


_ZERO = timedelta(0)


def to_row(
    entry: Captured, body_limit: int, bodies: BodyCache | None = None, row_id: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored, redacted form of one captured request, and its bodies by ref."""
    bodies = bodies or BodyCache(0)
    credentials = redact.credentials_in(entry.request_headers)
    request_body, request_cut, request_ref = bodies.redacted(
        entry.request_body, _media(entry.request_headers), credentials, request=True, limit=body_limit
    )
    response_body, response_cut, response_ref = bodies.redacted(
        entry.response_body, _media(entry.response_headers), credentials, request=False, limit=body_limit
    )
    texts = {
        ref: text
        for ref, text in ((request_ref, request_body), (response_ref, response_body))
        if ref and text
    }
    query = entry.query.decode("latin-1")
    row = {
        "id": row_id or f"rql_{secrets.token_hex(10)}",
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
        "request_body_ref": request_ref,
        "request_truncated": request_cut,
        "response_headers": orjson.dumps(redact.redact_headers(entry.response_headers)).decode(),
        "response_body_ref": response_ref,
        "response_truncated": response_cut,
        "created_at": _stamp(entry.finished_at),
    }
    return row, texts


class RequestLogWriter:
    """A daemon thread that stores captured requests in batches; ``close`` writes what is left."""

    def __init__(self, storage: Storage, *, keep: int, retention_days: int, body_limit: int) -> None:
        self.repo = RequestLogRepo(storage)
        self.keep = keep
        self.retention = timedelta(days=retention_days)
        self.body_limit = body_limit
        self.dropped = 0
        self._untrimmed: set[str] = set()
        self._bodies = BodyCache()
        self._stored: set[str] = set()  # refs of bodies known to be in request_log_bodies
        self._next_trim = 0.0
        # a Captured to write; None: write what is queued and stop; an Event: set once what was queued
        # before it is written (``flush``)
        self._queue: queue.Queue[Captured | threading.Event | None] = queue.Queue(QUEUE_BOUND)
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
            if isinstance(first, Captured):
                time.sleep(GATHER_SECONDS)  # let a burst gather: one transaction for many requests
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = [e for e in batch if isinstance(e, Captured)]
            # a batch of flush requests only still lets a trim that fell due run (reads poll the log)
            self._guarded(partial(self.write, entries) if entries else self._trim_if_due)
            for waiting in (e for e in batch if isinstance(e, threading.Event)):
                waiting.set()
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
        rows: list[dict[str, Any]] = []
        texts: dict[str, str] = {}
        ids = secrets.token_hex(10 * len(entries))  # one system call for the batch's random ids
        for n, entry in enumerate(entries):
            row, bodies = to_row(entry, self.body_limit, self._bodies, f"rql_{ids[20 * n : 20 * n + 20]}")
            rows.append(row)
            texts.update((ref, text) for ref, text in bodies.items() if ref not in self._stored)
        self.repo.insert_many(rows, texts)
        if len(self._stored) > 4096:
            self._stored.clear()
        self._stored.update(texts)
        self._untrimmed.update(e.workspace_id for e in entries)
        self._trim_if_due()

    def _trim_if_due(self) -> None:
        """Bounds are enforced at most once per TRIM_EVERY seconds: cheap under load, prompt when idle."""
        if not self._untrimmed or time.monotonic() < self._next_trim:
            return
        cutoff = precise_iso(datetime.now(UTC) - self.retention)
        if self.repo.trim(self._untrimmed, keep=self.keep, older_than=cutoff):
            self._stored.clear()  # bodies no row refers to were deleted; write them again when seen
        self._untrimmed.clear()
        self._next_trim = time.monotonic() + TRIM_EVERY

    def flush(self, timeout: float = 2.0) -> None:
        """Wait until every request captured so far is written (or ``timeout`` passed).

        Why: a read of the log must show every request answered before it. Without this, the entries
        still queued land between two pages of one listing, whose totals then disagree (found by the
        conformance kit's pagination check against the sandbox).
        """
        if self._thread is None:
            return
        written = threading.Event()
        try:
            self._queue.put(written, timeout=timeout)
        except queue.Full:
            return
        written.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write every queued entry, then stop the thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        self._thread = None
