"""Migration 2 numbers existing consents per patient in the order the old query used (issue 12)."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table, Text, inspect, select

from mock_server.storage import schema
from mock_server.storage.engine import build_engine
from mock_server.storage.migrations import migrate
from mock_server.timeutil import iso, utcnow


def _old_consents(metadata: MetaData) -> Table:
    """``consents`` as version 1 created it, before ``seq``."""
    return Table(
        "consents",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("workspace_id", String(64), nullable=False),
        Column("patient_ref", String(64), nullable=False),
        Column("anon_id", String(64), nullable=False),
        Column("scopes", Text, nullable=False),
        Column("status", String(16), nullable=False),
        Column("granted_at", String(20), nullable=False),
        Column("revoked_at", String(20), nullable=True),
        Column("link_request_id", String(64), nullable=True),
    )


def test_existing_consents_get_a_sequence_in_their_old_order(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        old = MetaData()
        consents = _old_consents(old)
        with engine.begin() as conn:
            others = [t for t in schema.metadata.sorted_tables if t.name != "consents"]
            schema.metadata.create_all(conn, tables=others)
            old.create_all(conn)
            conn.execute(
                schema.schema_version.insert().values(
                    version=1, applied_at=iso(utcnow()), description="initial"
                )
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
        assert migrate(engine) == [2, 3]
        with engine.connect() as conn:
            rows = conn.execute(select(schema.consents.c.id, schema.consents.c.seq).order_by("id")).all()
            indexes = {i["name"] for i in inspect(conn).get_indexes("consents")}
        assert dict(rows) == {"cns_a": 1, "cns_b": 2, "cns_c": 3, "cns_z": 1}
        assert "ux_consents_ws_anon_seq" in indexes
        assert migrate(engine) == []
    finally:
        engine.dispose()


def test_a_fresh_database_has_the_sequence_from_the_start(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        assert migrate(engine) == [1, 2, 3]
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("consents")}
        assert "seq" in columns
    finally:
        engine.dispose()
