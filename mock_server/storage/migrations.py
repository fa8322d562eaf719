"""Versioned schema migrations, applied once whatever the number of processes starting at once.

Each migration is a numbered function; ``schema_version`` records what has run. On PostgreSQL a
transaction-level advisory lock serializes concurrent ``migrate`` calls (several workers booting
together); on SQLite the write transaction itself does. New migrations are appended, never edited.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select, text, update

from mock_server.auth.redirects import DEFAULT_REDIRECTS_JSON
from mock_server.storage import schema
from mock_server.timeutil import iso, utcnow

_LOCK_KEY = 7_201_911  # arbitrary, constant: the advisory lock id for migrations


def _v1_initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


_OLD_DEFAULT_REDIRECTS = '["http://localhost","http://127.0.0.1"]'


def _v2_oauth_hygiene(conn: Connection) -> None:
    """Public clients, single-use codes and refresh-token families (RFC 6749, 9700).

    Columns are added only where missing: a database created by v1 at this code version already has
    them (v1 creates the current metadata). Clients registered with the old default redirect URIs
    (any path on a loopback host) get the exact loopback callbacks that exact matching now requires.
    """
    present = {
        table: {c["name"] for c in inspect(conn).get_columns(table)}
        for table in ("oauth_clients", "oauth_grants")
    }
    added = [
        ("oauth_clients", "public", "BOOLEAN NOT NULL DEFAULT false"),
        ("oauth_grants", "used_at", "VARCHAR(32)"),
        ("oauth_grants", "family_id", "VARCHAR(64)"),
    ]
    for table, column, ddl in added:
        if column not in present[table]:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_oauth_grants_family ON oauth_grants (family_id)")
    C = schema.oauth_clients
    old_default = C.c.redirect_uris == _OLD_DEFAULT_REDIRECTS
    conn.execute(update(C).where(old_default).values(redirect_uris=DEFAULT_REDIRECTS_JSON))


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _v1_initial),
    (2, "OAuth public clients, single-use codes, refresh-token families", _v2_oauth_hygiene),
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
