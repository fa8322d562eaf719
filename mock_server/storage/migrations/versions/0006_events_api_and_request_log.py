"""Events API and request log: ``events.occurred_at``, the ``request_log`` tables, the ``events:read`` scope.

Existing events get ``occurred_at`` from their payload's ``timestamp`` (the events API filters, orders
and expires by it). Credentials that held every scope before ``events:read`` existed (the demo key,
``workspace create`` keys and clients) gain it, so upgrading a sandbox does not lock its own keys out
of the new operations; narrower ones stay narrow. On SQLite the server writes the request log to a side
file (``storage.request_log``); the tables exist in the main database too, so one schema serves both.

Revision ID: 0006_events_api_and_request_log
Revises: 0005_tenant_fairness
Create Date: 2026-12-06
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006_events_api_and_request_log"
down_revision = "0005_tenant_fairness"
branch_labels = None
depends_on = None

# frozen here: every scope a full credential held when events:read arrived
SCOPES_BEFORE_EVENTS_READ = frozenset(
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
        "sandbox:manage",
    }
)
CREDENTIAL_TABLES = (("workspaces", "id"), ("api_keys", "id"), ("oauth_clients", "client_id"))


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurred_at", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_events_ws_occurred", ["workspace_id", "occurred_at"], unique=False)
    op.create_table(
        "request_log",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("operation_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("credential_kind", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("request_headers", sa.Text(), nullable=False),
        sa.Column("request_body_ref", sa.String(length=32), nullable=True),
        sa.Column("request_truncated", sa.Boolean(), nullable=False),
        sa.Column("response_headers", sa.Text(), nullable=False),
        sa.Column("response_body_ref", sa.String(length=32), nullable=True),
        sa.Column("response_truncated", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.create_index("ix_request_log_ws_created", ["workspace_id", "created_at"], unique=False)
        batch_op.create_index("ix_request_log_ws_request", ["workspace_id", "request_id"], unique=False)
    op.create_table(
        "request_log_bodies",
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("ref"),
    )
    conn = op.get_bind()
    events = sa.table(
        "events", sa.column("id"), sa.column("payload", sa.Text()), sa.column("occurred_at", sa.String())
    )
    for event_id, payload in conn.execute(sa.select(events.c.id, events.c.payload)).all():
        stamp = json.loads(payload).get("timestamp")
        conn.execute(sa.update(events).where(events.c.id == event_id).values(occurred_at=stamp))
    for name, key_name in CREDENTIAL_TABLES:
        table = sa.table(name, sa.column(key_name), sa.column("scopes", sa.Text()))
        key = table.c[key_name]
        for row_key, scopes_json in conn.execute(sa.select(key, table.c.scopes)).all():
            scopes = list(json.loads(scopes_json))
            if set(scopes) >= SCOPES_BEFORE_EVENTS_READ and "events:read" not in scopes:
                new = json.dumps([*scopes, "events:read"], separators=(",", ":"))
                conn.execute(sa.update(table).where(key == row_key).values(scopes=new))


def downgrade() -> None:
    op.drop_table("request_log_bodies")
    with op.batch_alter_table("request_log", schema=None) as batch_op:
        batch_op.drop_index("ix_request_log_ws_request")
        batch_op.drop_index("ix_request_log_ws_created")
    op.drop_table("request_log")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_ws_occurred")
        batch_op.drop_column("occurred_at")
