"""``consents.seq``: which consent is a patient's latest, deterministically.

A revoke and a re-grant in the same second tie on ``granted_at``; a random id must not break the tie.
Existing consents are numbered per (workspace, patient) in ``(granted_at, id)`` order, the order the old
query used, so nobody's latest consent changes by upgrading.

Revision ID: 0003_consent_sequence
Revises: 0002_oauth_hygiene
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_consent_sequence"
down_revision = "0002_oauth_hygiene"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE consents SET seq = (SELECT count(*) FROM consents c2 "
        "WHERE c2.workspace_id = consents.workspace_id AND c2.anon_id = consents.anon_id "
        "AND (c2.granted_at < consents.granted_at "
        "OR (c2.granted_at = consents.granted_at AND c2.id <= consents.id)))"
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ux_consents_ws_anon_seq", ["workspace_id", "anon_id", "seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ux_consents_ws_anon_seq")
        batch_op.drop_column("seq")
