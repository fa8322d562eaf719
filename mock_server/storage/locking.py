"""How the dispatcher waits for SQLite's write lock: briefly and often, instead of SQLite's way.

Why: SQLite has one writer at a time, and a connection that finds the lock taken sleeps by SQLite's
built-in busy handler — 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, … — checking only between
sleeps. With the API committing a check-in every few milliseconds, a dispatcher claim could sleep
80 to 100 ms for a lock that was free again after one; measured at 200 check-ins/s, about 1 claim in 300
took 20 to 97 ms this way, which alone decided the delivery p99. The dispatcher's own connections
therefore give up after a few milliseconds (``busy_timeout``) and this module retries the whole
(short, atomic) transaction within a millisecond or two, for up to ``LOCK_WAIT_SECONDS``.

Retrying a whole function is safe because every dispatcher transaction either commits entirely or
not at all, and a busy error can only come before its first write. PostgreSQL locks rows, not the
database, and needs none of this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from mock_server.storage import Storage
from mock_server.storage.engine import build_engine
from mock_server.storage.outbox import DeliveryQueue

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 3
LOCK_WAIT_SECONDS = 30.0  # the same patience as the server's own connections
FIRST_PAUSE, LONGEST_PAUSE = 0.0002, 0.002

DatabaseError = SQLAlchemyError
"""What a failing database raises, for callers outside storage that must outlive it (the dispatcher)."""


def dispatcher_engine(storage: Storage) -> Engine:
    """The engine the dispatcher uses: the shared one on PostgreSQL, an impatient one on SQLite."""
    if storage.is_postgres:
        return storage.engine
    engine = build_engine(storage.url, pool_size=3)
    event.listen(engine, "connect", _impatient)  # after build_engine's own pragmas, so it wins
    return engine


def dispatcher_queue(storage: Storage) -> DeliveryQueue:
    """The dispatcher's :class:`DeliveryQueue` over :func:`dispatcher_engine` (closing it disposes
    of the impatient engine, never of the server's shared one)."""
    engine = dispatcher_engine(storage)
    return DeliveryQueue(engine, owns_engine=engine is not storage.engine)


def _impatient(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def is_busy(error: OperationalError) -> bool:
    text = str(error.orig).lower()
    return "database is locked" in text or "database is busy" in text or "locked" in text


def retrying(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``fn`` until it does not fail on a busy database, pausing 0.2 to 2 ms between tries."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = FIRST_PAUSE
    while True:
        try:
            return fn(*args, **kwargs)
        except OperationalError as exc:
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
