"""Versioned schema migrations, applied once whatever the number of processes starting at once.

Each migration is a numbered function; ``schema_version`` records what has run. On PostgreSQL a
transaction-level advisory lock serializes concurrent ``migrate`` calls (several workers booting
together); on SQLite the write transaction itself does. New migrations are appended, never edited.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from sqlalchemy import Connection, Engine, inspect, select, text, update

from mock_server.storage import schema
from mock_server.timeutil import iso, utcnow

_LOCK_KEY = 7_201_911  # arbitrary, constant: the advisory lock id for migrations


def _v1_initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


NEW_SCOPES_V2 = ("events:read", "sandbox:manage")
_FULL_SCOPES_V1 = frozenset(
    {
        "patients:read",
        "pain:read",
        "wellbeing:read",
        "vitals:read",
        "vitals:write",
        "gauges:read",
        "reports:read",
        "analytics:read",
        "webhooks:manage",
        "fhir:read",
    }
)


def _v2_events_api_and_request_log(conn: Connection) -> None:
    """Events API and request log: ``events.occurred_at``, the ``request_log`` table, two new scopes.

    Idempotent by construction, because migration 1 creates the *current* metadata: on a fresh
    database the column and table already exist and only the checks run. Existing events get
    ``occurred_at`` from their payload's ``timestamp``. Credentials that held every v1 scope (the
    demo key, ``workspace create`` keys and clients) gain ``events:read`` and ``sandbox:manage``, so
    upgrading a sandbox does not lock its own keys out of the new operations; narrower ones do not.
    """
    columns = {c["name"] for c in inspect(conn).get_columns("events")}
    if "occurred_at" not in columns:
        conn.execute(text("ALTER TABLE events ADD COLUMN occurred_at VARCHAR(32)"))
    schema.metadata.create_all(
        conn, tables=[schema.events, schema.request_log, schema.request_log_bodies]
    )  # indexes, table
    ev = schema.events
    missing = conn.execute(select(ev.c.id, ev.c.payload).where(ev.c.occurred_at.is_(None))).all()
    for event_id, payload in missing:
        stamp = orjson.loads(payload).get("timestamp")
        conn.execute(update(ev).where(ev.c.id == event_id).values(occurred_at=stamp))
    for table, key in (
        (schema.workspaces, schema.workspaces.c.id),
        (schema.api_keys, schema.api_keys.c.id),
        (schema.oauth_clients, schema.oauth_clients.c.client_id),
    ):
        for ident, scopes_json in conn.execute(select(key, table.c.scopes)).all():
            scopes = list(orjson.loads(scopes_json))
            if set(scopes) >= _FULL_SCOPES_V1 and not set(NEW_SCOPES_V2) <= set(scopes):
                scopes += [s for s in NEW_SCOPES_V2 if s not in scopes]
                conn.execute(update(table).where(key == ident).values(scopes=orjson.dumps(scopes).decode()))


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _v1_initial),
    (
        2,
        "events API (events.occurred_at) and request log; events:read, sandbox:manage",
        _v2_events_api_and_request_log,
    ),
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
