"""One storage interface over SQLAlchemy 2 Core; SQLite (embedded default) or PostgreSQL by URL.

``Storage.open(url)`` is the factory: it builds the engine for the URL's scheme and applies pending
migrations. Repositories are small classes, one per area, each taking the shared engine; callers that
must write several areas atomically (a data change plus its outbox event) open one transaction with
``storage.engine.begin()`` and pass the connection to repository methods that accept ``conn``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from mock_server.storage.engine import build_engine, is_postgres
from mock_server.storage.migrations import migrate


@dataclass
class Storage:
    engine: Engine
    url: str

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True, pool_size: int = 5) -> Storage:
        engine = build_engine(url, pool_size=pool_size)
        if run_migrations:
            migrate(engine)
        return cls(engine=engine, url=url)

    @property
    def is_postgres(self) -> bool:
        return is_postgres(self.engine)

    def close(self) -> None:
        self.engine.dispose()
