"""Versioned schema migrations, applied once whatever the number of processes starting at once.

Each migration is a numbered function; ``schema_version`` records what has run. On PostgreSQL a
transaction-level advisory lock serializes concurrent ``migrate`` calls (several workers booting
together); on SQLite the write transaction itself does. New migrations are appended, never edited.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text

from mock_server.storage import schema
from mock_server.timeutil import iso, utcnow

_LOCK_KEY = 7_201_911  # arbitrary, constant: the advisory lock id for migrations


def _v1_initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _v2_tenant_fairness(conn: Connection) -> None:
    """The pending clock advance (chunked advances, issue 13) and a per-workspace delivery index.

    Fresh databases already have both from ``_v1_initial`` (it creates the current metadata), so
    each step checks first.
    """
    columns = {c["name"] for c in inspect(conn).get_columns("workspaces")}
    if "clock_target_seconds" not in columns:
        conn.execute(text("ALTER TABLE workspaces ADD COLUMN clock_target_seconds FLOAT"))
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS ix_deliveries_ws_due "
            "ON deliveries (workspace_id, status, next_attempt_at)"
        )
    )


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _v1_initial),
    (2, "pending clock advances, per-workspace delivery index", _v2_tenant_fairness),
]


def current_version(conn: Connection) -> int:
    schema.schema_version.create(conn, checkfirst=True)
    value = conn.execute(
        select(schema.schema_version.c.version).order_by(schema.schema_version.c.version.desc()).limit(1)
    ).scalar()
    return int(value or 0)


def migrate(engine: Engine) -> list[int]:
    """Apply pending migrations; returns the versions applied by this call."""
    applied: list[int] = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        else:
            conn.exec_driver_sql("SELECT 1")  # opens the transaction before reading the version
        version = current_version(conn)
        for number, description, apply in MIGRATIONS:
            if number <= version:
                continue
            apply(conn)
            conn.execute(
                schema.schema_version.insert().values(
                    version=number, applied_at=iso(utcnow()), description=description
                )
            )
            applied.append(number)
    return applied
