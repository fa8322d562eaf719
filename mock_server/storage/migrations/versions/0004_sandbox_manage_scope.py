"""Sandbox controls need ``sandbox:manage``: credentials that held every scope before it existed get it.

The demo key and keys made by ``workspace create`` without ``--scopes`` held all ten scopes; they keep
working. Credentials made deliberately narrow stay narrow. A data migration only: no DDL.

Revision ID: 0004_sandbox_manage_scope
Revises: 0003_consent_sequence
Create Date: 2026-12-06
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004_sandbox_manage_scope"
down_revision = "0003_consent_sequence"
branch_labels = None
depends_on = None

# frozen here: the scope list as it was when sandbox:manage arrived
SCOPES_BEFORE_SANDBOX_MANAGE = frozenset(
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
CREDENTIAL_TABLES = (("workspaces", "id"), ("api_keys", "id"), ("oauth_clients", "client_id"))


def upgrade() -> None:
    conn = op.get_bind()
    for name, key_name in CREDENTIAL_TABLES:
        table = sa.table(name, sa.column(key_name), sa.column("scopes", sa.Text()))
        key = table.c[key_name]
        for row_key, scopes_json in conn.execute(sa.select(key, table.c.scopes)).all():
            scopes = list(json.loads(scopes_json))
            if set(scopes) >= SCOPES_BEFORE_SANDBOX_MANAGE and "sandbox:manage" not in scopes:
                new = json.dumps([*scopes, "sandbox:manage"], separators=(",", ":"))
                conn.execute(sa.update(table).where(key == row_key).values(scopes=new))


def downgrade() -> None:
    conn = op.get_bind()
    for name, key_name in CREDENTIAL_TABLES:
        table = sa.table(name, sa.column(key_name), sa.column("scopes", sa.Text()))
        key = table.c[key_name]
        for row_key, scopes_json in conn.execute(sa.select(key, table.c.scopes)).all():
            scopes = [s for s in json.loads(scopes_json) if s != "sandbox:manage"]
            conn.execute(sa.update(table).where(key == row_key).values(scopes=json.dumps(scopes)))
