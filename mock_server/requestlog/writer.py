"""The background writer: requests are logged off their critical path.

The capture middleware hands over raw bytes (an append to a deque: no parsing, no I/O, no lock). A
hand-off thread (:class:`RequestLogWriter`) drains the deque every ``GATHER_SECONDS`` and passes the
batch to a sink; the sink (:class:`LogStore`) redacts, cuts bodies to the limit, inserts the batch in one
transaction and trims each workspace's log to its bounds. By default the sink runs in a child process
(``requestlog.child``); with an in-memory database, which no other process can open, it runs on the
hand-off thread. A full deque drops entries (counted) rather than slowing requests down: the log is a
debugging aid, never a reason for a request to wait.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any, NamedTuple, Protocol

import orjson

from mock_server.requestlog import redact
from mock_server.storage import Storage
from mock_server.storage.request_log import RequestLogRepo
from mock_server.webhooks.outbox import precise_iso

log = logging.getLogger("care_sandbox.request_log")

BATCH = 1000
GATHER_SECONDS = 0.1  # how often the hand-off thread passes what was captured on (the log lags this much)
TRIM_EVERY = 5.0  # seconds between trims of the log to its bounds (each also scans for unused bodies)
QUEUE_BOUND = 10_000
STARTUP_WAIT = 15.0  # flush() waits this much longer while the sink is starting (requestlog.child)


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
    finished_at: float  # epoch seconds (``time.time()``: a datetime with a zone costs 10 µs to pickle)
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


@lru_cache(maxsize=4)
def _second(whole: int) -> str:
    return datetime.fromtimestamp(whole, UTC).isoformat()[:19]


def _stamp(epoch: float) -> str:
    """``webhooks.outbox.precise_iso`` for epoch seconds: the date and time are made once per second
    (a batch's entries share a handful of seconds), the milliseconds per entry."""
    whole = int(epoch)
    return f"{_second(whole)}.{min(int((epoch - whole) * 1000), 999):03d}Z"


@lru_cache(maxsize=256)
def _request_side(headers: tuple[tuple[bytes, bytes], ...]) -> tuple[tuple[str, ...], str, str]:
    """The credentials a request's headers carry, their redacted JSON and the body's media type.

    Cached by the headers themselves: a client's requests repeat the same few header sets (one poll
    after another), and redacting them again was a fifth of the log's CPU."""
    listed = list(headers)
    return (
        redact.credentials_in(listed),
        orjson.dumps(redact.redact_headers(listed)).decode(),
        _media(listed),
    )


def row_ids(count: int, epoch: float) -> list[str]:
    """``count`` new row ids (``rql_`` and 20 hex digits) ordered by time: 11 digits of milliseconds,
    3 of the entry's place in its batch (``BATCH`` ≤ 4096), 6 random ones (other processes' batches
    of the same millisecond). Why ordered: the id is the table's primary key, and random keys
    scattered each batch's inserts across its whole B-tree."""
    prefix = f"rql_{int(epoch * 1000) & 0xFFFFFFFFFFF:011x}"
    noise = secrets.token_hex(3 * count)  # one system call for the batch
    return [f"{prefix}{n:03x}{noise[6 * n : 6 * n + 6]}" for n in range(count)]


def to_row(
    entry: Captured, body_limit: int, bodies: BodyCache | None = None, row_id: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored, redacted form of one captured request, and its bodies by ref."""
    bodies = bodies or BodyCache(0)
    credentials, request_headers, request_media = _request_side(tuple(entry.request_headers))
    request_body, request_cut, request_ref = bodies.redacted(
        entry.request_body, request_media, credentials, request=True, limit=body_limit
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
        "path": redact.redact_path(entry.path, credentials)[:2048],
        "query": redact.redact_query(query, credentials)[:4096] if query else None,
        "operation_id": entry.operation_id,
        "status": entry.status,
        "error_code": _error_code(entry.status, entry.response_body),
        "duration_ms": entry.duration_ms,
        "credential_kind": entry.credential_kind,
        "credential_id": entry.credential_id,
        "request_headers": request_headers,
        "request_body_ref": request_ref,
        "request_truncated": request_cut,
        "response_headers": orjson.dumps(redact.redact_headers(entry.response_headers)).decode(),
        "response_body_ref": response_ref,
        "response_truncated": response_cut,
        "created_at": _stamp(entry.finished_at),
    }
    return row, texts


def guarded(work: Callable[[], None]) -> None:
    """Run one step of the log's writing (on the hand-off thread or in the writer process): a failure
    is logged, never raised, since the log must never take the server down; the next round tries again."""
    try:
        work()
    except Exception:
        log.exception("request log write or trim failed")


class LogStore:
    """Stores captured requests: redacts them, inserts each batch in one transaction, trims the log.

    Single-threaded: it runs on the hand-off thread, or alone in the log's child process."""

    def __init__(self, storage: Storage, *, keep: int, retention_days: int, body_limit: int) -> None:
        self.repo = RequestLogRepo(storage)
        self.keep = keep
        self.retention = timedelta(days=retention_days)
        self.body_limit = body_limit
        self._untrimmed: set[str] = set()
        self._bodies = BodyCache()
        self._stored: set[str] = set()  # refs of bodies known to be in request_log_bodies
        self._next_trim = 0.0
        self.lost = 0  # entries of batches whose insert failed

    def write(self, entries: list[Captured]) -> None:
        for start in range(0, len(entries), BATCH):
            self._write(entries[start : start + BATCH])
        self.idle()

    def _write(self, entries: list[Captured]) -> None:
        try:
            self._insert(entries)
        except Exception:
            self.lost += len(entries)
            raise

    def _insert(self, entries: list[Captured]) -> None:
        if not entries:
            return
        rows: list[dict[str, Any]] = []
        texts: dict[str, str] = {}
        for entry, row_id in zip(entries, row_ids(len(entries), entries[0].finished_at), strict=True):
            row, bodies = to_row(entry, self.body_limit, self._bodies, row_id)
            rows.append(row)
            texts.update((ref, text) for ref, text in bodies.items() if ref not in self._stored)
        self.repo.insert_many(rows, texts)
        if len(self._stored) > 4096:
            self._stored.clear()
        self._stored.update(texts)
        self._untrimmed.update(e.workspace_id for e in entries)

    def idle(self) -> None:
        """Trim the log if a trim fell due. Bounds are enforced at most once per TRIM_EVERY seconds:
        cheap under load, prompt when idle."""
        if self._untrimmed and time.monotonic() >= self._next_trim:
            self._trim()

    def _trim(self) -> None:
        cutoff = precise_iso(datetime.now(UTC) - self.retention)
        if self.repo.trim(self._untrimmed, keep=self.keep, older_than=cutoff):
            self._stored.clear()  # bodies no row refers to were deleted; write them again when seen
        self._untrimmed.clear()
        self._next_trim = time.monotonic() + TRIM_EVERY

    @staticmethod
    def prepare(entry: Captured) -> Captured:
        """Nothing to prepare: the hand-off thread passes the entry itself."""
        return entry

    def sync(self, timeout: float) -> None:
        """Everything passed to :meth:`write` is stored when it returns: nothing to wait for."""

    starting = False  # nothing to start: it stores on the caller's thread

    def close(self, timeout: float) -> None:
        """A last trim, due or not, so the bounds hold when the server stops (the storage is the
        caller's to close)."""
        if self._untrimmed:
            self._trim()


class Sink(Protocol):
    """Where the hand-off thread passes batches: a :class:`LogStore` here, or the log's child process."""

    lost: int  # entries handed to the sink and not stored (a failed insert, a writer process that died)

    @property
    def starting(self) -> bool:
        """Still starting up: a sync may take the start-up's time on top of its timeout."""

    def prepare(self, entry: Captured) -> Any:
        """What the hand-off deque holds for ``entry``; called on the event loop, so it must be cheap."""

    def write(self, items: list[Any]) -> None:
        """Store a batch of what :meth:`prepare` returned, in order."""

    def idle(self) -> None:
        """Called when nothing was captured for ``GATHER_SECONDS``."""

    def sync(self, timeout: float) -> None:
        """Return once everything passed to ``write`` is stored (or ``timeout`` passed)."""

    def close(self, timeout: float) -> None: ...


class RequestLogWriter:
    """Takes captured requests from the event loop and passes them to a sink from a daemon thread.

    ``put`` is an append to a bounded deque: the loop never waits on a lock, a queue's condition
    variable or the database. Why the sink is usually a child process: redacting and inserting cost
    ~80 µs of CPU per request, and on a thread of the server that work holds the GIL the event loop
    needs; measured with bench/bench_read_path.py, logging on a thread cost 30 % of read throughput.
    """

    def __init__(
        self, sink: Sink, *, bound: int = QUEUE_BOUND, gather_seconds: float = GATHER_SECONDS
    ) -> None:
        self.sink = sink
        self.bound = bound
        self.gather_seconds = gather_seconds
        self.dropped = 0
        self._captured: deque[Any] = deque()  # what the sink prepared, one per entry
        self._waiters: deque[threading.Event] = deque()  # flush() calls waiting for the next sync
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def not_stored(self) -> int:
        """Entries captured and never stored: dropped at a full hand-off, or lost by the sink."""
        return self.dropped + self.sink.lost

    def put(self, entry: Captured) -> None:
        if self._thread is None:
            self._start()
        if len(self._captured) >= self.bound:
            self.dropped += 1
            return
        self._captured.append(self.sink.prepare(entry))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="care-request-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.gather_seconds)
            self._wake.clear()
            stopping = self._stopping
            # only this thread takes from the deques: len() then popleft() never races an append
            waiters = [self._waiters.popleft() for _ in range(len(self._waiters))]
            entries = [self._captured.popleft() for _ in range(len(self._captured))]
            if entries:
                guarded(partial(self.sink.write, entries))
            elif not waiters:
                guarded(self.sink.idle)
            if waiters:
                guarded(partial(self.sink.sync, 2.0))
                for waiting in waiters:
                    waiting.set()
            if stopping and not self._captured:
                return

    def flush(self, timeout: float = 2.0) -> None:
        """Wait until every request captured so far is stored (or ``timeout`` passed).

        Why: a read of the log must show every request answered before it. Without this, the entries
        still queued land between two pages of one listing, whose totals then disagree (found by the
        conformance kit's pagination check against the sandbox).
        """
        if self._thread is None:
            return
        written = threading.Event()
        self._waiters.append(written)
        self._wake.set()
        # the sink's sync waits for a starting writer process too (see ChildSink.starting); so do we
        written.wait(timeout + (STARTUP_WAIT if self.sink.starting else 0.0))

    def close(self, timeout: float = 5.0) -> None:
        """Store every captured entry, then stop the thread and the sink."""
        with self._lock:
            self._stopping = True
            thread, self._thread = self._thread, None
        if thread is not None:
            self._wake.set()
            thread.join(timeout)
        self.sink.close(timeout)
