"""Migration 2 (OAuth hygiene) upgrades a database made before it, on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import sqlalchemy
from sqlalchemy import delete, select

from mock_server.auth.redirects import DEFAULT_REDIRECT_URIS
from mock_server.storage import Storage, schema
from mock_server.storage.migrations import migrate
from mock_server.storage.workspaces import WorkspaceRepo


def test_v2_adds_columns_and_moves_old_default_redirects(storage: Storage) -> None:
    made = WorkspaceRepo(storage).create("upgraded", seed=1)
    C = schema.oauth_clients
    with storage.engine.begin() as conn:  # back to what a v1 database looked like
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_oauth_grants_family")
        for table, column in (
            ("oauth_grants", "used_at"),
            ("oauth_grants", "family_id"),
            ("oauth_clients", "public"),
        ):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.exec_driver_sql(
            'UPDATE oauth_clients SET redirect_uris = \'["http://localhost","http://127.0.0.1"]\''
        )
        conn.execute(delete(schema.schema_version).where(schema.schema_version.c.version >= 2))
    assert migrate(storage.engine) == [2]
    columns = {c["name"] for c in sqlalchemy.inspect(storage.engine).get_columns("oauth_grants")}
    assert {"used_at", "family_id"} <= columns
    with storage.engine.connect() as conn:
        row = conn.execute(select(C.c.redirect_uris, C.c.public).where(C.c.client_id == made.client_id)).one()
    assert orjson.loads(row.redirect_uris) == list(DEFAULT_REDIRECT_URIS) and row.public is False
    assert migrate(storage.engine) == []  # applied once
