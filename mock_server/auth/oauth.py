"""OAuth 2.0 for partners: client_credentials, authorization_code with PKCE, refresh_token (seed 002).

Tokens are opaque random strings stored as hashes with their scopes and expiry; a refresh rotates
the refresh token (the old one is revoked), as current OAuth security advice recommends. Scopes
granted are always a subset of the client's, so a narrower token can be minted for tests of scope
enforcement.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select, update

from mock_server.auth.credentials import digest
from mock_server.context import Principal
from mock_server.errors import ApiError
from mock_server.scopes import TIERS
from mock_server.settings import Settings
from mock_server.storage import Storage, schema
from mock_server.timeutil import iso, parse_iso, utcnow

G = schema.oauth_grants
C = schema.oauth_clients
CODE_TTL_SECONDS = 600


def oauth_error(code: str, message: str, status: int = 400) -> ApiError:
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else {}
    return ApiError(status, code, message, headers=headers)


class OAuthService:
    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings

    # --- clients -----------------------------------------------------------------------------
    def client(self, client_id: str) -> Any:
        with self.storage.connect() as conn:
            return conn.execute(select(C).where(C.c.client_id == client_id)).first()

    def authenticate_client(
        self, client_id: str | None, client_secret: str | None, *, allow_public: bool = False
    ) -> Any:
        if not client_id:
            raise oauth_error("invalid_client", "client_id is required", 401)
        row = self.client(client_id)
        if row is None:
            raise oauth_error("invalid_client", "unknown client", 401)
        if client_secret is None and allow_public:
            return row
        if client_secret is None or not hmac.compare_digest(row.secret_hash, digest(client_secret)):
            raise oauth_error("invalid_client", "client authentication failed", 401)
        return row

    def _scopes(self, client_row: Any, requested: str | None) -> list[str]:
        allowed = orjson.loads(client_row.scopes)
        if not requested:
            return list(allowed)
        wanted = requested.split()
        extra = sorted(set(wanted) - set(allowed))
        if extra:
            raise oauth_error("invalid_scope", f"scope not allowed for this client: {' '.join(extra)}")
        return [s for s in allowed if s in wanted]

    # --- grants ------------------------------------------------------------------------------
    def _issue(
        self, conn: Any, kind: str, client_row: Any, scopes: list[str], ttl: int, **extra: Any
    ) -> tuple[str, str]:
        prefix = {"access": "at_", "refresh": "rt_", "code": "ac_"}[kind]
        token = prefix + secrets.token_urlsafe(32)
        now = utcnow()
        expires = iso(now + timedelta(seconds=ttl))
        conn.execute(
            G.insert().values(
                token_hash=digest(token),
                kind=kind,
                client_id=client_row.client_id,
                workspace_id=client_row.workspace_id,
                scopes=orjson.dumps(scopes).decode(),
                expires_at=expires,
                revoked=False,
                created_at=iso(now),
                **extra,
            )
        )
        return token, expires

    def _token_response(self, client_row: Any, scopes: list[str], *, with_refresh: bool) -> dict[str, Any]:
        with self.storage.begin() as conn:
            access, _ = self._issue(conn, "access", client_row, scopes, self.settings.token_ttl_seconds)
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.settings.token_ttl_seconds,
                "scope": " ".join(scopes),
            }
            if with_refresh:
                refresh, _ = self._issue(
                    conn, "refresh", client_row, scopes, self.settings.refresh_token_ttl_seconds
                )
                body["refresh_token"] = refresh
        return body

    def client_credentials(
        self, client_id: str | None, secret: str | None, scope: str | None
    ) -> dict[str, Any]:
        client_row = self.authenticate_client(client_id, secret)
        return self._token_response(client_row, self._scopes(client_row, scope), with_refresh=False)

    def create_code(
        self,
        client_id: str,
        redirect_uri: str,
        scope: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> str:
        client_row = self.client(client_id)
        if client_row is None:
            raise oauth_error("invalid_client", "unknown client_id", 401)
        self.check_redirect(client_row, redirect_uri)
        if code_challenge is not None and (code_challenge_method or "plain") != "S256":
            raise oauth_error("invalid_request", "code_challenge_method must be S256")
        scopes = self._scopes(client_row, scope)
        with self.storage.begin() as conn:
            code, _ = self._issue(
                conn,
                "code",
                client_row,
                scopes,
                CODE_TTL_SECONDS,
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
            )
        return code

    @staticmethod
    def check_redirect(client_row: Any, redirect_uri: str) -> None:
        """Loopback redirect URIs on any port are allowed (RFC 8252 §7.3), like the registered ones."""
        registered = orjson.loads(client_row.redirect_uris)
        base = redirect_uri.split("?", 1)[0]
        host_part = base.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
        if base in registered or host_part in {"localhost", "127.0.0.1", "[::1]"}:
            return
        raise oauth_error("invalid_request", "redirect_uri is not registered for this client")

    def _consume(self, token: str, kind: str) -> Any:
        with self.storage.begin() as conn:
            row = conn.execute(select(G).where(G.c.token_hash == digest(token), G.c.kind == kind)).first()
            if row is None or row.revoked or row.expires_at <= iso(utcnow()):
                raise oauth_error(
                    "invalid_grant",
                    f"the {kind.replace('code', 'authorization code')} is invalid, expired or already used",
                )
            conn.execute(update(G).where(G.c.token_hash == row.token_hash).values(revoked=True))
        return row

    def exchange_code(
        self,
        client_id: str | None,
        secret: str | None,
        code: str | None,
        redirect_uri: str | None,
        verifier: str | None,
    ) -> dict[str, Any]:
        if not code or not redirect_uri:
            raise oauth_error("invalid_request", "code and redirect_uri are required")
        client_row = self.authenticate_client(client_id, secret, allow_public=verifier is not None)
        row = self._consume(code, "code")
        if row.client_id != client_row.client_id or row.redirect_uri != redirect_uri:
            raise oauth_error("invalid_grant", "the code was issued to another client or redirect_uri")
        if row.code_challenge is not None:
            if not verifier:
                raise oauth_error("invalid_grant", "code_verifier is required (PKCE)")
            computed = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            )
            if not hmac.compare_digest(computed, row.code_challenge):
                raise oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
        elif secret is None:
            raise oauth_error("invalid_client", "client authentication failed", 401)
        return self._token_response(client_row, orjson.loads(row.scopes), with_refresh=True)

    def refresh(
        self, client_id: str | None, secret: str | None, refresh_token: str | None, scope: str | None
    ) -> dict[str, Any]:
        if not refresh_token:
            raise oauth_error("invalid_request", "refresh_token is required")
        client_row = self.authenticate_client(client_id, secret)
        row = self._consume(refresh_token, "refresh")
        if row.client_id != client_row.client_id:
            raise oauth_error("invalid_grant", "the refresh token was issued to another client")
        granted = orjson.loads(row.scopes)
        scopes = granted if not scope else [s for s in granted if s in scope.split()]
        if scope and set(scope.split()) - set(granted):
            raise oauth_error("invalid_scope", "a refresh cannot widen the granted scopes")
        return self._token_response(client_row, scopes, with_refresh=True)

    # --- resource side -----------------------------------------------------------------------
    def principal_for_token(self, token: str) -> tuple[Principal, float] | None:
        W = schema.workspaces
        with self.storage.connect() as conn:
            row = conn.execute(
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
                .where(G.c.token_hash == digest(token), G.c.kind == "access")
            ).first()
        if row is None or row.revoked or row.expires_at <= iso(utcnow()):
            return None
        limit = row.rate_limit_per_hour or TIERS.get(row.tier, TIERS["standard"])
        principal = Principal(row.ws, frozenset(orjson.loads(row.scopes)), row.client_id, "oauth", int(limit))
        return principal, parse_iso(row.expires_at).timestamp()
