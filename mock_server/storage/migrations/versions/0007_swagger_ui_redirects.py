"""Clients on the default loopback redirects also get Swagger UI's redirect page (/ui/...).

Exact redirect matching (revision 0002) left the sandbox's own interactive docs unable to sign in with the
authorization code flow: their redirect page was not registered. Clients still on the defaults get it;
clients with their own registered URIs are left as they are.

Revision ID: 0007_swagger_ui_redirects
Revises: 0006_events_api_and_request_log
Create Date: 2026-12-06
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0007_swagger_ui_redirects"
down_revision = "0006_events_api_and_request_log"
branch_labels = None
depends_on = None

# frozen here: the defaults before and after this revision
CALLBACKS = ["http://127.0.0.1/callback", "http://localhost/callback", "http://[::1]/callback"]
SWAGGER_UI = [
    "http://127.0.0.1/ui/oauth2-redirect.html",
    "http://localhost/ui/oauth2-redirect.html",
    "http://[::1]/ui/oauth2-redirect.html",
]


def _replace(old: list[str], new: list[str]) -> None:
    clients = sa.table("oauth_clients", sa.column("redirect_uris", sa.Text()))
    op.execute(
        clients.update()
        .where(clients.c.redirect_uris == json.dumps(old, separators=(",", ":")))
        .values(redirect_uris=json.dumps(new, separators=(",", ":")))
    )


def upgrade() -> None:
    _replace(CALLBACKS, CALLBACKS + SWAGGER_UI)


def downgrade() -> None:
    _replace(CALLBACKS + SWAGGER_UI, CALLBACKS)
