"""The data plane's hot read: a patient's latest consent, then the count and one page of records.

Why not the repositories: every list of patient data (pain entries, wellbeing, gauges, vitals) ran
three statements through SQLAlchemy's execution machinery, which cost more than SQLite itself
(bench/README.md "Read path vs Prism"). Here the three statements are plain SQL built once per filter
shape and dialect, run on the DBAPI cursor, and the consent is judged (``check``) before the data is
read. One CTE doing all three was measured too: SQLite planned it 4-7x slower than the three
statements (it materialized the consent and built automatic indexes).

Where it runs: on the event loop's own SQLite connection when the gateway says so (:func:`loop_reads`,
:class:`LoopReader`), in one read transaction, so the consent, the total and the page are one
snapshot; else on the unit of work's pooled connection (PostgreSQL, and any read the loop gave up on).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, TypeVar

from mock_server.storage import Storage

LOOP_BUDGET_SECONDS = 0.005  # a read on the event loop longer than this is stopped and re-run on the pool
_PROGRESS_STEPS = 2000  # SQLite VM instructions between two looks at the clock (~10-20 µs of work)
T = TypeVar("T")


class ConsentRow(NamedTuple):
    """The columns of a consent the gate and the handlers read."""

    id: str
    patient_ref: str
    status: str
    scopes: str  # JSON array
    granted_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class PageShape:
    """Which optional filters a page query has; one SQL text per shape (and dialect) is built."""

    has_from: bool = False
    has_to: bool = False
    has_kind: bool = False
    has_source: bool = False


@dataclass(frozen=True)
class ConsentedPage:
    consent: ConsentRow
    total: int  # records matching the filter
    bodies: list[str]  # the page's stored JSON bodies, newest first


class WouldBlock(Exception):
    """A read on the event loop was stopped (over its time budget, or the database was busy): run it
    again on the thread pool."""


_CONSENT = (
    "SELECT id, patient_ref, status, scopes, granted_at, revoked_at FROM consents"
    " WHERE workspace_id = {m} AND anon_id = {m} ORDER BY seq DESC LIMIT 1"
)


@cache
def _statements(shape: PageShape, postgres: bool) -> tuple[str, str, str]:
    """(consent, count, page) SQL for one filter shape; positional parameters in this order:
    consent (workspace, anon); count (patient_ref, series, [from], [to], [kind], [source]); page (the
    count's, then limit, offset)."""
    m = "%s" if postgres else "?"
    where = [f"patient_ref = {m}", f"series = {m}"]
    if shape.has_from:
        where.append(f"at >= {m}")
    if shape.has_to:
        where.append(f"at <= {m}")
    if shape.has_kind:
        where.append(f"kind = {m}")
    if shape.has_source:
        where.append(f"source = {m}")
    condition = " AND ".join(where)
    return (
        _CONSENT.format(m=m),
        f"SELECT count(*) FROM records WHERE {condition}",
        f"SELECT body FROM records WHERE {condition} ORDER BY at DESC, id DESC LIMIT {m} OFFSET {m}",
    )


# The event loop's reader while a handler runs on the loop (set by the gateway around the call).
_LOOP: ContextVar[LoopReader | None] = ContextVar("care_sandbox_loop_reader", default=None)


@contextmanager
def loop_reads(reader: LoopReader) -> Iterator[None]:
    """Reads inside use ``reader`` (the event loop's connection) and may raise :class:`WouldBlock`."""
    token = _LOOP.set(reader)
    try:
        yield
    finally:
        _LOOP.reset(token)


class LoopReader:
    """SQLite connections that only an event loop's thread uses, for reads of bounded cost.

    Why reads run on the loop at all: handing a ~0.2 ms read to the handler thread pool and back cost
    more than the read (thread wake-ups, the GIL passed back and forth: bench/README.md). Why it stays
    fair to other workspaces: SQLite in WAL mode never makes a reader wait for a writer, the
    connection does not wait for locks (``busy_timeout`` 0), and a progress handler stops any read
    still running after ``budget_seconds`` (a deep page of a patient with years of vitals); both raise
    :class:`WouldBlock` and the gateway runs the handler again on the pool. So one read never holds
    the loop longer than the budget, whatever a client asks.

    One connection per thread, opened on first use: the loop's thread is the server's main thread,
    but a test client may run the app on a thread of its own.
    """

    def __init__(self, storage: Storage, budget_seconds: float = LOOP_BUDGET_SECONDS) -> None:
        self._engine = storage.engine
        self._budget = budget_seconds
        self._local = threading.local()  # conn, deadline: per thread
        self.interrupted = 0  # reads handed back to the pool, for tests and curiosity

    @classmethod
    def open(cls, storage: Storage, budget_seconds: float = LOOP_BUDGET_SECONDS) -> LoopReader | None:
        """A reader of ``storage``'s SQLite file; None where reads must go through the pool (PostgreSQL,
        and in-memory SQLite, whose every connection is a different database)."""
        url = storage.engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return cls(storage, budget_seconds)

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            fairy = self._engine.raw_connection()  # the engine's pragmas (WAL, mmap, cache) apply
            fairy.detach()  # this thread's for good: it does not count against the pool
            raw = fairy.dbapi_connection
            assert isinstance(raw, sqlite3.Connection)
            conn = raw
            conn.execute("PRAGMA busy_timeout=0")
            conn.set_progress_handler(self._over_budget, _PROGRESS_STEPS)
            self._local.conn = conn
        return conn

    def _over_budget(self) -> int:
        return 1 if time.perf_counter() > self._local.deadline else 0

    def read(self, work: Callable[[Any], T]) -> T:
        """``work(cursor)`` in one read transaction, stopped once over the budget."""
        conn = self._connection()
        self._local.deadline = time.perf_counter() + self._budget
        cursor = conn.cursor()
        try:
            cursor.execute("BEGIN")
            return work(cursor)
        except sqlite3.OperationalError as exc:  # interrupted, or busy/locked
            self.interrupted += 1
            raise WouldBlock from exc
        finally:
            if conn.in_transaction:
                conn.rollback()  # nothing was written: ending the read transaction is all it does
            cursor.close()


def consented_page(
    storage: Storage,
    workspace_id: str,
    anon_id: str,
    check: Callable[[ConsentRow | None], object],
    series: str,
    *,
    at_from: str | None = None,
    at_to: str | None = None,
    kind: str | None = None,
    source: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> ConsentedPage:
    """The latest consent of ``anon_id`` to this workspace, judged by ``check`` (which raises when it
    does not let the caller read), then one page of the patient's ``series`` records, newest first as
    :meth:`RecordRepo.page`, and their total."""
    shape = PageShape(at_from is not None, at_to is not None, kind is not None, source is not None)
    offset = (page - 1) * per_page
    filters = tuple(v for v in (at_from, at_to, kind, source) if v is not None)
    reader = _LOOP.get()
    consent_sql, count_sql, page_sql = _statements(shape, reader is None and storage.is_postgres)

    def work(cursor: Any) -> ConsentedPage:
        cursor.execute(consent_sql, (workspace_id, anon_id))
        found = cursor.fetchone()
        consent = ConsentRow(*found) if found is not None else None
        check(consent)
        assert consent is not None  # check refuses a missing consent
        where = (consent.patient_ref, series, *filters)
        cursor.execute(count_sql, where)
        total = int(cursor.fetchone()[0])
        if total <= offset:
            return ConsentedPage(consent, total, [])
        cursor.execute(page_sql, (*where, per_page, offset))
        return ConsentedPage(consent, total, [row[0] for row in cursor.fetchall()])

    if reader is not None:
        return reader.read(work)
    with storage.read() as conn:
        cursor = conn.connection.cursor()
        try:
            return work(cursor)
        finally:
            cursor.close()
