"""OAuth hygiene: public clients, single-use codes and refresh-token families (RFC 6749, 7636, 9700).

Clients registered with the old default redirect URIs (any path on a loopback host) get the exact
loopback callbacks that exact redirect matching now requires, so existing sandboxes keep signing in.

Revision ID: 0002_oauth_hygiene
Revises: 0001_baseline
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_oauth_hygiene"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

# frozen here: a revision must not change when the application's defaults change later
OLD_DEFAULT_REDIRECTS = '["http://localhost","http://127.0.0.1"]'
NEW_DEFAULT_REDIRECTS = '["http://127.0.0.1/callback","http://localhost/callback","http://[::1]/callback"]'


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_at", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("family_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_oauth_grants_family", ["family_id"], unique=False)
    clients = sa.table("oauth_clients", sa.column("redirect_uris", sa.Text()))
    op.execute(
        clients.update()
        .where(clients.c.redirect_uris == OLD_DEFAULT_REDIRECTS)
        .values(redirect_uris=NEW_DEFAULT_REDIRECTS)
    )


def downgrade() -> None:
    with op.batch_alter_table("oauth_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_grants_family")
        batch_op.drop_column("family_id")
        batch_op.drop_column("used_at")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("public")
