"""One storage interface over SQLAlchemy 2 Core; SQLite (embedded default) or PostgreSQL by URL.

The only package of the sandbox that holds SQL (``tests/test_architecture.py`` keeps it so). Outside
it, modules hold a :class:`Connection` as an opaque handle on a unit of work and pass it on.

``Storage.open(url)`` is the factory: it builds the engine for the URL's scheme and applies pending
migrations.

**Repositories**: one class per aggregate, in a module named for it (``consents``, ``oauth``,
``idempotency``, ``reports``, ``rate_limits``, ``workspaces``, …); each class docstring names the
tables it owns. **The rule of the unit of work**: a repository method takes the caller's
:class:`Connection` as its first argument and never opens, commits or joins a transaction itself.
The caller — a service, a handler, the gateway — chooses the unit of work, by name:

- ``storage.unit_of_work()``: a transaction for a write, committed on a clean exit. Inside another
  unit of work it *joins* that one (the outer owner commits): that is the one place joining happens,
  and the name says so. The gateway wraps a POST carrying an ``Idempotency-Key`` in one, so the key's
  stored response commits together with the write it describes: a crash, a killed worker or a lost
  database connection (even during ``COMMIT``) leaves either both or neither, and a client's retry
  with the same key either replays the response or runs the request for the first time.
- ``storage.transaction()``: a transaction of its own that never joins, for what must commit
  whatever the request does (rate-limit counts, a background job's progress, the refusal an
  idempotency key keeps after its request rolled back).
- ``storage.read()``: a connection for reads; inside a unit of work, the unit's (so a read sees the
  unit's own writes), otherwise a pooled one.

There is no other way in: the older ``begin()``/``connect()``, which joined an enclosing unit
silently, are gone (``tests/test_architecture.py`` keeps them gone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy import Connection as Connection
from sqlalchemy import Engine

from mock_server.storage.engine import (
    DEFAULT_WAL_LIMIT_BYTES,
    build_engine,
    checkpoint,
    is_postgres,
    shareable,
)
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

    @property
    def shareable(self) -> bool:
        """Can another process (a worker, the request log's writer) open this database?"""
        return shareable(self.url)

    def _unit(self) -> _Unit | None:
        unit = _UNIT.get()
        return unit if unit is not None and unit.active and unit.storage is self else None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads: the current unit of work's, so a read sees the unit's own writes,
        or a pooled connection outside any transaction of ours."""
        unit = self._unit()
        if unit is not None:
            yield unit.conn
            return
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction of its own, committed on a clean exit, that never joins a unit of work.

        For writes that must stick whatever the surrounding request does: rate-limit counts, a
        background job's progress, a refusal recorded after the request's own transaction rolled back.
        """
        with self.engine.begin() as conn:
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
