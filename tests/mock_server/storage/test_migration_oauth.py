"""Revision 0002 (OAuth hygiene) upgrades a database made at the baseline, on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import sqlalchemy
from alembic import command
from sqlalchemy import select

from mock_server.auth.redirects import DEFAULT_REDIRECT_URIS
from mock_server.storage.engine import build_engine
from mock_server.storage.migrations import BASELINE, alembic_config, migrate
from mock_server.timeutil import iso, utcnow


def test_0002_adds_columns_and_moves_old_default_redirects(database_url: str) -> None:
    engine = build_engine(database_url)
    now = iso(utcnow())
    with engine.begin() as conn:  # a database at the baseline, with a client on the old default redirects
        command.upgrade(alembic_config(conn), BASELINE)
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO workspaces (id, name, tier, scopes, seed, clock_offset_seconds, salt, created_at)"
                " VALUES ('ws_1', 'upgraded', 'standard', '[]', 1, 0, 'salt', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO oauth_clients (client_id, workspace_id, secret_hash, redirect_uris, scopes,"
                " created_at) VALUES ('cli_old', 'ws_1', 'x', :uris, '[]', :now)"
            ),
            {"uris": '["http://localhost","http://127.0.0.1"]', "now": now},
        )
    assert "0002_oauth_hygiene" in migrate(engine)
    columns = {c["name"] for c in sqlalchemy.inspect(engine).get_columns("oauth_grants")}
    assert {"used_at", "family_id"} <= columns
    clients = sqlalchemy.table(
        "oauth_clients",
        sqlalchemy.column("client_id"),
        sqlalchemy.column("redirect_uris"),
        sqlalchemy.column("public"),
    )
    with engine.connect() as conn:
        row = conn.execute(
            select(clients.c.redirect_uris, clients.c.public).where(clients.c.client_id == "cli_old")
        ).one()
    assert orjson.loads(row.redirect_uris) == list(DEFAULT_REDIRECT_URIS) and not row.public
    assert migrate(engine) == []  # applied once
    engine.dispose()
