"""Tenant fairness: the pending clock advance, and a per-workspace index of due deliveries.

``workspaces.clock_target_seconds`` holds where a chunked advance is going while its days are written
(the served clock moves there only once every day is in). ``ix_deliveries_ws_due`` lets the dispatcher
deal free slots round-robin over workspaces without scanning every due delivery.

Revision ID: 0005_tenant_fairness
Revises: 0004_sandbox_manage_scope
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_tenant_fairness"
down_revision = "0004_sandbox_manage_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_target_seconds", sa.Float(), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_ws_due", ["workspace_id", "status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_ws_due")
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("clock_target_seconds")
