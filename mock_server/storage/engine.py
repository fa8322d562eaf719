"""Build the SQLAlchemy engine for a database URL — the one place the backend is chosen.

SQLite (the embedded default) gets WAL journaling so readers never block the writer, a busy
timeout so concurrent writers wait instead of failing, and foreign keys on. PostgreSQL gets a bounded
pool (so N workers times pool size stays under the server's connection limit) and pre-ping, so a
restarted database is survived without errors reaching clients.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_WAL_LIMIT_BYTES = 32 * 1024 * 1024
CHECKPOINT_BUSY_MS = 50  # how long a checkpoint may wait for readers/the writer before it gives up


def build_engine(url: str, *, pool_size: int = 5, wal_limit_bytes: int = DEFAULT_WAL_LIMIT_BYTES) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", partial(_wal_limit, wal_limit_bytes))
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(
            parsed,
            pool_size=pool_size,
            max_overflow=2,
            pool_pre_ping=True,
            pool_recycle=1800,
        )
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r} (use sqlite:/// or postgresql://)"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # reads come from memory-mapped pages and a 64 MB page cache instead of read() calls into a 2 MB one
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _wal_limit(limit: int, dbapi_connection: Any, _record: Any) -> None:
    """Why: SQLite's WAL file never shrinks by itself. After a checkpoint resets it, a connection with
    ``journal_size_limit`` truncates the file to the limit, so a burst (a 365-day advance, a fuzzer)
    does not leave gigabytes behind. See also :func:`checkpoint`."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA journal_size_limit={int(limit)}")
    cursor.close()


def checkpoint(engine: Engine) -> tuple[int, int, int] | None:
    """``PRAGMA wal_checkpoint(TRUNCATE)`` on SQLite, briefly: ``(busy, wal pages, checkpointed)``.

    Why: SQLite's automatic checkpoints are PASSIVE and never finish while a reader holds an old
    snapshot, so under steady reads the WAL grows without bound (7 minutes of fuzzing left a 1.6 GB
    WAL). The server calls this every ``sqlite_checkpoint_seconds``. A TRUNCATE checkpoint holds
    the writer lock while it waits for readers, so this connection waits at most
    ``CHECKPOINT_BUSY_MS`` and reports busy instead; the next period tries again. None on PostgreSQL.
    """
    if engine.dialect.name != "sqlite":
        return None
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cursor.fetchone()
        busy, pages, done = row if row is not None else (1, -1, -1)
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
    finally:
        raw.close()
    return int(busy), int(pages), int(done)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def shareable(url: str) -> bool:
    """Can another process open this database? Any but an in-memory SQLite one."""
    parsed = make_url(url)
    return parsed.get_backend_name() != "sqlite" or parsed.database not in (None, "", ":memory:")
