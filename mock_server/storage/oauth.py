"""OAuth clients and the grants issued to them (access tokens, refresh tokens, authorization codes).

The protocol's rules are ``auth/oauth.py``'s; this module only stores and finds. Tokens are never
stored: grants are keyed by the SHA-256 of the token, which the caller computes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from mock_server.storage import schema

G = schema.oauth_grants
C = schema.oauth_clients
W = schema.workspaces


class OAuthRepo:
    """Owns ``oauth_grants`` and reads ``oauth_clients`` (registered with their workspace by
    :class:`~mock_server.storage.workspaces.WorkspaceRepo`).

    Unit of work: every method takes the caller's connection. The token endpoint issues an access
    token and its refresh token in one ``storage.unit_of_work()``; redeeming a code or refresh token
    (:meth:`mark_used`, then maybe :meth:`revoke_family`) runs in one too, committed even when the
    redemption is refused, so a reused code stays used and its family stays revoked.
    """

    def client(self, conn: Connection, client_id: str) -> Any:
        """The registered client, or None."""
        return conn.execute(select(C).where(C.c.client_id == client_id)).first()

    def insert_grant(
        self,
        conn: Connection,
        *,
        token_hash: str,
        kind: str,
        client_id: str,
        workspace_id: str,
        scopes_json: str,
        expires_at: str,
        created_at: str,
        family_id: str | None = None,
        redirect_uri: str | None = None,
        code_challenge: str | None = None,
    ) -> None:
        """Store an access token, refresh token or code (``kind``), live and unused."""
        conn.execute(
            G.insert().values(
                token_hash=token_hash,
                kind=kind,
                client_id=client_id,
                workspace_id=workspace_id,
                scopes=scopes_json,
                expires_at=expires_at,
                revoked=False,
                created_at=created_at,
                family_id=family_id,
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
            )
        )

    def grant(self, conn: Connection, token_hash: str, kind: str) -> Any:
        """The grant of this kind with this hash, or None."""
        return conn.execute(select(G).where(G.c.token_hash == token_hash, G.c.kind == kind)).first()

    def mark_used(self, conn: Connection, token_hash: str, used_at: str) -> bool:
        """Use the grant up, exactly once: whether this call did it.

        One conditional ``UPDATE … WHERE used_at IS NULL`` whose row count decides: of two concurrent
        redemptions one updates the row and the other none (PostgreSQL re-checks the condition after
        the first commits; SQLite serializes the writes).
        """
        used = conn.execute(
            update(G).where(G.c.token_hash == token_hash, G.c.used_at.is_(None)).values(used_at=used_at)
        )
        return used.rowcount == 1

    def revoke_family(self, conn: Connection, family_id: str) -> None:
        """Revoke every grant descending from one authorization code (a reuse was seen)."""
        conn.execute(update(G).where(G.c.family_id == family_id).values(revoked=True))

    def refresh_owner(self, conn: Connection, token_hash: str) -> str | None:
        """The client a refresh token was issued to, or None for an unknown token."""
        owner = conn.execute(
            select(G.c.client_id).where(G.c.token_hash == token_hash, G.c.kind == "refresh")
        ).scalar()
        return None if owner is None else str(owner)

    def access_token(self, conn: Connection, token_hash: str) -> Any:
        """What a bearer token grants: its scopes, expiry, revocation, client and workspace (``ws``,
        ``tier``, ``rate_limit_per_hour``), or None for an unknown token."""
        return conn.execute(
            select(
                G.c.scopes,
                G.c.expires_at,
                G.c.revoked,
                G.c.client_id,
                W.c.id.label("ws"),
                W.c.tier,
                W.c.rate_limit_per_hour,
            )
            .join(W, W.c.id == G.c.workspace_id)
            .where(G.c.token_hash == token_hash, G.c.kind == "access")
        ).first()
