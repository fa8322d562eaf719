"""Migration 2 on a database that ran only migration 1 the way it looked before: the events API's
column is backfilled, the request log's table appears, and full-scope credentials gain the new scopes."""

from __future__ import annotations

import orjson
from sqlalchemy import create_engine, inspect, select, text

from mock_server.storage import schema
from mock_server.storage.engine import build_engine
from mock_server.storage.migrations import MIGRATIONS, migrate

V1_SCOPES = [
    "patients:read", "pain:read", "wellbeing:read", "vitals:read", "vitals:write",
    "gauges:read", "reports:read", "analytics:read", "webhooks:manage", "fhir:read",
]  # fmt: skip


def _as_v1(database_url: str) -> None:
    """Build the schema as migration 1 left it before migration 2 existed, with some rows."""
    engine = build_engine(database_url)
    with engine.begin() as conn:
        tables = [t for t in schema.metadata.sorted_tables if t.name != "request_log"]
        schema.metadata.create_all(conn, tables=tables)
        conn.execute(text("DROP INDEX ix_events_ws_occurred"))
        conn.execute(text("ALTER TABLE events DROP COLUMN occurred_at"))
        conn.execute(
            schema.schema_version.insert().values(
                version=1, applied_at="2026-01-01T00:00:00Z", description="initial"
            )
        )
        full, narrow = orjson.dumps(V1_SCOPES).decode(), orjson.dumps(["patients:read"]).decode()
        conn.execute(
            schema.workspaces.insert().values(
                id="ws_1", name="one", tier="standard", scopes=full, seed=1, clock_offset_seconds=0.0,
                salt="s", created_at="2026-01-01T00:00:00Z",
            )
        )  # fmt: skip
        for key_id, scopes in (("key_full", full), ("key_narrow", narrow)):
            conn.execute(
                schema.api_keys.insert().values(
                    id=key_id, workspace_id="ws_1", key_hash=key_id, display_prefix="p2c_test_x", scopes=scopes,
                    created_at="2026-01-01T00:00:00Z",
                )
            )  # fmt: skip
        payload = {"id": "evt_old1", "event": "webhook.test", "patient_id": None,
                   "timestamp": "2026-03-04T05:06:07Z", "data": {"message": "hi"}}  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO events (id, workspace_id, type, patient_id, payload, created_at) "
                "VALUES ('evt_old1', 'ws_1', 'webhook.test', NULL, :payload, '2026-03-04T05:06:08Z')"
            ),
            {"payload": orjson.dumps(payload).decode()},
        )
    engine.dispose()


def test_migration_2_upgrades_a_version_1_database(database_url: str) -> None:
    _as_v1(database_url)
    engine = build_engine(database_url)
    assert migrate(engine) == [number for number, _, _ in MIGRATIONS if number > 1]
    with engine.connect() as conn:
        assert "request_log" in inspect(conn).get_table_names()
        occurred = conn.execute(
            select(schema.events.c.occurred_at).where(schema.events.c.id == "evt_old1")
        ).scalar()
        assert occurred == "2026-03-04T05:06:07Z"  # the payload's sandbox-clock time, not created_at
        scopes = dict(conn.execute(select(schema.api_keys.c.id, schema.api_keys.c.scopes)).all())
        workspace_scopes = conn.execute(select(schema.workspaces.c.scopes)).scalar_one()
    assert {"events:read", "sandbox:manage"} <= set(orjson.loads(scopes["key_full"]))
    assert {"events:read", "sandbox:manage"} <= set(orjson.loads(workspace_scopes))
    assert orjson.loads(scopes["key_narrow"]) == ["patients:read"]  # narrower keys are not widened
    assert migrate(engine) == []  # and it runs once
    engine.dispose()


def test_migration_2_on_a_fresh_database_is_a_no_op_after_migration_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    engine = build_engine(url)
    assert migrate(engine) == [number for number, _, _ in MIGRATIONS]
    with create_engine(url).connect() as conn:
        assert {c["name"] for c in inspect(conn).get_columns("events")} >= {"occurred_at"}
    engine.dispose()
