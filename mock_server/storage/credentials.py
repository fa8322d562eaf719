"""What the console shows of a workspace: its name, tier, and its credentials *without* secrets.

Keys and client secrets are stored hashed, so there is nothing secret to leak here; only the
display prefix of a key (``p2c_test_ab12``) is shown, as in every other place keys are named.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mock_server.storage import Storage, schema


def workspace_overview(db: Storage, workspace_id: str) -> dict[str, Any]:
    W, K, C = schema.workspaces, schema.api_keys, schema.oauth_clients
    with db.read() as conn:
        ws = conn.execute(select(W.c.name, W.c.tier).where(W.c.id == workspace_id)).one()
        keys = conn.execute(
            select(K.c.id, K.c.display_prefix, K.c.created_at, K.c.revoked_at)
            .where(K.c.workspace_id == workspace_id)
            .order_by(K.c.created_at, K.c.id)
        ).all()
        clients = conn.execute(
            select(C.c.client_id, C.c.created_at)
            .where(C.c.workspace_id == workspace_id)
            .order_by(C.c.created_at)
        ).all()
    return {
        "name": ws.name,
        "tier": ws.tier,
        "api_keys": [dict(k._mapping) for k in keys],
        "oauth_clients": [dict(c._mapping) for c in clients],
    }
