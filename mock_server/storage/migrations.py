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


def _v2_consent_sequence(conn: Connection) -> None:
    """``consents.seq``: number existing consents per patient in (granted_at, id) order, the order
    the old query used, so nobody's latest consent changes by upgrading."""
    if "seq" in {c["name"] for c in inspect(conn).get_columns("consents")}:
        return  # created by v1 from today's metadata
    conn.execute(text("ALTER TABLE consents ADD COLUMN seq INTEGER NOT NULL DEFAULT 0"))
    conn.execute(
        text(
            "UPDATE consents SET seq = (SELECT count(*) FROM consents c2 "
            "WHERE c2.workspace_id = consents.workspace_id AND c2.anon_id = consents.anon_id "
            "AND (c2.granted_at < consents.granted_at "
            "OR (c2.granted_at = consents.granted_at AND c2.id <= consents.id)))"
        )
    )
    conn.execute(text("CREATE UNIQUE INDEX ux_consents_ws_anon_seq ON consents (workspace_id, anon_id, seq)"))


_SCOPES_BEFORE_SANDBOX_MANAGE = frozenset(
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


def _v3_sandbox_manage_scope(conn: Connection) -> None:
    """Sandbox controls now need ``sandbox:manage``: credentials that held every scope before it
    existed (the demo key, ``workspace create`` without ``--scopes``) get it, so they keep working;
    credentials made deliberately narrow stay narrow."""
    for table, key in (
        (schema.workspaces, schema.workspaces.c.id),
        (schema.api_keys, schema.api_keys.c.id),
        (schema.oauth_clients, schema.oauth_clients.c.client_id),
    ):
        for row_key, scopes_json in conn.execute(select(key, table.c.scopes)).all():
            scopes = list(orjson.loads(scopes_json))
            if set(scopes) >= _SCOPES_BEFORE_SANDBOX_MANAGE and "sandbox:manage" not in scopes:
                new = orjson.dumps([*scopes, "sandbox:manage"]).decode()
                conn.execute(update(table).where(key == row_key).values(scopes=new))


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema", _v1_initial),
    (2, "consents.seq orders consents deterministically", _v2_consent_sequence),
    (3, "sandbox:manage for credentials that held every scope", _v3_sandbox_manage_scope),
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
