"""Revision 0003 numbers existing consents per patient in the order the old query used (issue 12);
0004 gives ``sandbox:manage`` to credentials that held every scope before it existed."""

from __future__ import annotations

import json

import sqlalchemy
from alembic import command
from sqlalchemy import inspect, select

from mock_server.storage import schema
from mock_server.storage.engine import build_engine
from mock_server.storage.migrations import _revisions_between, alembic_config, head_revision, migrate
from mock_server.timeutil import iso, utcnow

SCOPES_BEFORE_SANDBOX_MANAGE = {
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
LATER = _revisions_between("0003_consent_sequence", head_revision())


def test_existing_consents_get_a_sequence_in_their_old_order(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        with engine.begin() as conn:  # a database at revision 0002, before consents.seq
            command.upgrade(alembic_config(conn), "0002_oauth_hygiene")
            consents = sqlalchemy.table(
                "consents",
                *(sqlalchemy.column(n) for n in ("id", "workspace_id", "patient_ref", "anon_id", "scopes")),
                *(sqlalchemy.column(n) for n in ("status", "granted_at")),
            )
            conn.execute(
                sqlalchemy.text(
                    "INSERT INTO workspaces (id, name, tier, scopes, seed, clock_offset_seconds, salt, created_at)"
                    " VALUES ('ws', 'w', 'standard', :all, 1, 0, 'salt', :now),"
                    " ('ws_narrow', 'n', 'standard', :narrow, 2, 0, 'salt', :now)"
                ),
                {
                    "all": json.dumps(sorted(SCOPES_BEFORE_SANDBOX_MANAGE)),
                    "narrow": '["pain:read"]',
                    "now": iso(utcnow()),
                },
            )
            same_second = "2026-06-01T12:00:00Z"
            conn.execute(
                consents.insert(),
                [
                    # (granted_at, id) order: cns_a (earlier second), then cns_b, cns_c (tie → by id)
                    dict(
                        id="cns_c",
                        workspace_id="ws",
                        patient_ref="p1",
                        anon_id="a1",
                        scopes="[]",
                        status="active",
                        granted_at=same_second,
                    ),
                    dict(
                        id="cns_a",
                        workspace_id="ws",
                        patient_ref="p1",
                        anon_id="a1",
                        scopes="[]",
                        status="revoked",
                        granted_at="2026-06-01T11:00:00Z",
                    ),
                    dict(
                        id="cns_b",
                        workspace_id="ws",
                        patient_ref="p1",
                        anon_id="a1",
                        scopes="[]",
                        status="revoked",
                        granted_at=same_second,
                    ),
                    dict(
                        id="cns_z",
                        workspace_id="ws",
                        patient_ref="p2",
                        anon_id="a2",
                        scopes="[]",
                        status="active",
                        granted_at=same_second,
                    ),
                ],
            )
        assert migrate(engine) == ["0003_consent_sequence", *LATER]
        with engine.connect() as conn:
            rows = conn.execute(select(schema.consents.c.id, schema.consents.c.seq).order_by("id")).all()
            indexes = {i["name"] for i in inspect(conn).get_indexes("consents")}
        assert dict(rows) == {"cns_a": 1, "cns_b": 2, "cns_c": 3, "cns_z": 1}
        assert "ux_consents_ws_anon_seq" in indexes
        with engine.connect() as conn:
            scopes = dict(conn.execute(sqlalchemy.text("SELECT id, scopes FROM workspaces")).all())
        assert "sandbox:manage" in json.loads(scopes["ws"])
        assert json.loads(scopes["ws_narrow"]) == ["pain:read"]
        assert migrate(engine) == []
    finally:
        engine.dispose()


def test_a_fresh_database_has_the_sequence_from_the_start(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        assert migrate(engine)[-1] == head_revision()
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("consents")}
        assert "seq" in columns
    finally:
        engine.dispose()
