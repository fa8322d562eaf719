"""One storage interface over SQLAlchemy 2 Core; SQLite (embedded default) or PostgreSQL by URL.

``Storage.open(url)`` is the factory: it builds the engine for the URL's scheme and applies pending
migrations. Repositories are small classes, one per area, each taking the storage; callers that
must write several areas atomically (a data change plus its outbox event) open one transaction with
``storage.begin()`` and pass the connection to repository methods that accept ``conn``.

``storage.unit_of_work()`` makes every ``begin()`` and ``connect()`` inside it — however deep in the
handler — share one transaction. The gateway wraps a POST carrying an ``Idempotency-Key`` in one, so
the key's stored response commits together with the write it describes: a crash, a killed worker or
a lost database connection (even during ``COMMIT``) leaves either both or neither, and a client's
retry with the same key either replays the response or runs the request for the first time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from mock_server.storage.engine import DEFAULT_WAL_LIMIT_BYTES, build_engine, checkpoint, is_postgres
from mock_server.storage.migrations import migrate


@dataclass
class _Unit:
    storage: Storage
    conn: Connection
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    active: bool = True


_UNIT: ContextVar[_Unit | None] = ContextVar("care_sandbox_unit_of_work", default=None)


@dataclass
class Storage:
    engine: Engine
    url: str

    @classmethod
    def open(
        cls,
        url: str,
        *,
        run_migrations: bool = True,
        pool_size: int = 5,
        wal_limit_bytes: int = DEFAULT_WAL_LIMIT_BYTES,
    ) -> Storage:
        engine = build_engine(url, pool_size=pool_size, wal_limit_bytes=wal_limit_bytes)
        if run_migrations:
            migrate(engine)
        return cls(engine=engine, url=url)

    @property
    def is_postgres(self) -> bool:
        return is_postgres(self.engine)

    def _unit(self) -> _Unit | None:
        unit = _UNIT.get()
        return unit if unit is not None and unit.active and unit.storage is self else None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction: the unit of work's, or a new one committed on exit."""
        unit = self._unit()
        if unit is not None:
            yield unit.conn
            return
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads: the unit of work's (it sees the unit's own writes) or a pooled one."""
        unit = self._unit()
        if unit is not None:
            yield unit.conn
            return
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def unit_of_work(self) -> Iterator[Connection]:
        """One transaction for everything inside; committed on a clean exit, rolled back otherwise.

        Inside another unit of work it joins that one (the outer owner commits).

        Callbacks registered with :meth:`after_commit` inside run only once the commit succeeded,
        so nothing outside the database (a dispatcher wake-up, a background job) runs ahead of data
        that might still roll back.
        """
        joined = self._unit()
        if joined is not None:  # already inside one (a keyed POST): join it, its owner commits
            yield joined.conn
            return
        with self.engine.begin() as conn:
            unit = _Unit(self, conn)
            token = _UNIT.set(unit)
            try:
                yield conn
            finally:
                unit.active = False  # tasks that copied this context must not reuse a closed unit
                _UNIT.reset(token)
        for callback in unit.after_commit:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the current unit of work commits, or now when there is none."""
        unit = self._unit()
        if unit is None:
            callback()
        else:
            unit.after_commit.append(callback)

    def checkpoint(self) -> tuple[int, int, int] | None:
        """Checkpoint and truncate SQLite's WAL (see :func:`engine.checkpoint`); None on PostgreSQL."""
        return checkpoint(self.engine)

    def close(self) -> None:
        self.engine.dispose()
