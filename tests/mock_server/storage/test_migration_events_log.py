"""Revision 0006 on a database made before it (at the baseline, release 0.1.0's schema): the events API's
column is backfilled, the request log's tables appear, and full-scope credentials gain the new scopes
(``sandbox:manage`` by 0004, ``events:read`` by 0006) while narrower ones stay narrow."""

from __future__ import annotations

import orjson
from alembic import command
from sqlalchemy import create_engine, inspect, select, text

from mock_server.storage import schema
from mock_server.storage.engine import build_engine
from mock_server.storage.migrations import BASELINE, alembic_config, head_revision, migrate

V1_SCOPES = [
    "patients:read", "pain:read", "wellbeing:read", "vitals:read", "vitals:write",
    "gauges:read", "reports:read", "analytics:read", "webhooks:manage", "fhir:read",
]  # fmt: skip


def _as_v1(database_url: str) -> None:
    """A database at the baseline revision (release 0.1.0's schema), with some rows."""
    engine = build_engine(database_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), BASELINE)
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


def test_0006_upgrades_a_database_made_before_it(database_url: str) -> None:
    _as_v1(database_url)
    engine = build_engine(database_url)
    assert migrate(engine)[-1] == head_revision()
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


def test_a_fresh_database_has_the_events_column_from_the_revisions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    engine = build_engine(url)
    assert migrate(engine)[-1] == head_revision()
    with create_engine(url).connect() as conn:
        assert {c["name"] for c in inspect(conn).get_columns("events")} >= {"occurred_at"}
    engine.dispose()
