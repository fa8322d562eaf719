"""OAuth 2.0 for partners: client_credentials, authorization_code with PKCE, refresh_token (seed 002),
held to RFC 6749, RFC 7636 (PKCE), RFC 8252 (loopback redirects) and RFC 9700 (current security BCP).

Why each rule:

- Confidential clients authenticate at the token endpoint on every grant (HTTP Basic or form
  fields); a PKCE verifier is not client authentication. Only a client registered as *public*
  sends no secret, and it must use PKCE.
- The authorization endpoint checks the client and its redirect URI before anything else, and
  nothing redirects until both are good (:mod:`mock_server.auth.redirects`); after that every error
  is a redirect with ``error=…&state=…`` (:class:`RedirectError`), as clients expect.
- Codes and refresh tokens are single-use under concurrency: redeeming is one conditional
  ``UPDATE … WHERE used_at IS NULL`` whose row count decides, so two workers cannot both win. A
  failed exchange still uses the code up, and the refusal commits (the handler returns it instead of
  raising), so a stolen code cannot be retried with other guesses.
- Every token descending from one authorization code shares a ``family_id``. Presenting a code or a
  rotated refresh token a second time is a sign of theft: the whole family is revoked (RFC 6749
  section 4.1.2, RFC 9700 section 4.14.2), the legitimate client included — it must re-authorize.

Tokens are opaque random strings stored as SHA-256 hashes with their scopes and expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

import orjson

from mock_server.auth.credentials import digest
from mock_server.auth.redirects import RedirectRefused, check_redirect_uri
from mock_server.context import Principal
from mock_server.errors import ApiError
from mock_server.scopes import ALL_SCOPES, TIERS
from mock_server.settings import Settings
from mock_server.storage import Connection, Storage
from mock_server.storage.oauth import OAuthRepo
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.timeutil import iso, parse_iso, utcnow

CODE_TTL_SECONDS = 600
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
_PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def oauth_error(code: str, message: str, status: int = 400) -> ApiError:
    """An RFC 6749 error; rendered as ``{"error", "error_description"}`` on the OAuth paths."""
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="care-sandbox", charset="UTF-8"'
    return ApiError(status, code, message, headers=headers)


class RedirectError(Exception):
    """An authorization error to send back to the (already validated) redirect URI (section 4.1.2.1)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def pkce_s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OAuthService:
    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings
        self.grants = OAuthRepo()
        self.workspaces = WorkspaceRepo(storage)

    # --- clients -----------------------------------------------------------------------------
    def client(self, client_id: str | None) -> Any:
        if not client_id:
            return None
        with self.storage.read() as conn:
            return self.grants.client(conn, client_id)

    def client_name(self, client_row: Any) -> str:
        """What the consent page calls the client: its workspace's display name."""
        with self.storage.read() as conn:
            name = self.workspaces.name_of(conn, client_row.workspace_id)
        return str(name or client_row.client_id)

    def authenticate_client(self, client_id: str | None, client_secret: str | None) -> Any:
        """The client, authenticated as its registration demands; 401 ``invalid_client`` otherwise."""
        if not client_id:
            raise oauth_error("invalid_client", "client authentication required: send client_id", 401)
        row = self.client(client_id)
        if row is None:
            raise oauth_error("invalid_client", "unknown client", 401)
        if row.public:
            if client_secret:
                raise oauth_error("invalid_client", "a public client has no secret to send", 401)
            return row
        if not client_secret:
            raise oauth_error(
                "invalid_client",
                "client authentication required: send client_secret (HTTP Basic or form field)",
                401,
            )
        if not hmac.compare_digest(row.secret_hash, digest(client_secret)):
            raise oauth_error("invalid_client", "client authentication failed", 401)
        return row

    @staticmethod
    def _scopes(client_row: Any, requested: str | None) -> list[str]:
        allowed = orjson.loads(client_row.scopes)
        if not requested:
            return list(allowed)
        wanted = requested.split()
        unknown = sorted(set(wanted) - set(ALL_SCOPES))
        if unknown:
            raise oauth_error("invalid_scope", f"unknown scope: {' '.join(unknown)}")
        extra = sorted(set(wanted) - set(allowed))
        if extra:
            raise oauth_error("invalid_scope", f"scope not allowed for this client: {' '.join(extra)}")
        return [s for s in allowed if s in wanted]

    # --- authorization endpoint ----------------------------------------------------------------
    def redirect_target(self, client_id: str | None, redirect_uri: str | None) -> Any:
        """The client, once it exists and ``redirect_uri`` is registered for it; before any redirect."""
        client_row = self.client(client_id)
        if client_row is None:
            raise oauth_error("invalid_client", "unknown client_id; nothing was redirected")
        if not redirect_uri:
            raise oauth_error("invalid_request", "redirect_uri is required")
        try:
            check_redirect_uri(redirect_uri, orjson.loads(client_row.redirect_uris))
        except RedirectRefused as refused:
            raise oauth_error("invalid_request", f"{refused}; nothing was redirected") from refused
        return client_row

    def authorization_request(
        self,
        client_row: Any,
        response_type: str | None,
        scope: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> list[str]:
        """The scopes to ask the patient for; :class:`RedirectError` for anything else wrong."""
        if response_type != "code":
            raise RedirectError("unsupported_response_type", "response_type must be code")
        try:
            scopes = self._scopes(client_row, scope)
        except ApiError as error:
            raise RedirectError(error.code, error.message) from error
        if code_challenge is None:
            if client_row.public:
                raise RedirectError("invalid_request", "a public client must send a code_challenge (S256)")
        elif (code_challenge_method or "plain") != "S256":
            raise RedirectError("invalid_request", "code_challenge_method must be S256")
        elif not _PKCE_CHALLENGE.fullmatch(code_challenge):
            raise RedirectError("invalid_request", "code_challenge must be 43-128 of [A-Za-z0-9_-]")
        return scopes

    def create_code(
        self, client_row: Any, redirect_uri: str, scopes: list[str], code_challenge: str | None
    ) -> str:
        with self.storage.unit_of_work() as conn:
            code, _ = self._issue(
                conn,
                "code",
                client_row,
                scopes,
                CODE_TTL_SECONDS,
                family_id=f"fam_{secrets.token_hex(12)}",
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
            )
        return code

    # --- token endpoint ------------------------------------------------------------------------
    def _issue(
        self, conn: Connection, kind: str, client_row: Any, scopes: list[str], ttl: int, **extra: Any
    ) -> tuple[str, str]:
        prefix = {"access": "at_", "refresh": "rt_", "code": "ac_"}[kind]
        token = prefix + secrets.token_urlsafe(32)
        now = utcnow()
        expires = iso(now + timedelta(seconds=ttl))
        self.grants.insert_grant(
            conn,
            token_hash=digest(token),
            kind=kind,
            client_id=client_row.client_id,
            workspace_id=client_row.workspace_id,
            scopes_json=orjson.dumps(scopes).decode(),
            expires_at=expires,
            created_at=iso(now),
            **extra,
        )
        return token, expires

    def _token_response(self, client_row: Any, scopes: list[str], *, family_id: str | None) -> dict[str, Any]:
        """An access token, plus a refresh token of the same family when there is a family."""
        with self.storage.unit_of_work() as conn:
            access, _ = self._issue(
                conn, "access", client_row, scopes, self.settings.token_ttl_seconds, family_id=family_id
            )
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.settings.token_ttl_seconds,
                "scope": " ".join(scopes),
            }
            if family_id is not None:
                refresh, _ = self._issue(
                    conn,
                    "refresh",
                    client_row,
                    scopes,
                    self.settings.refresh_token_ttl_seconds,
                    family_id=family_id,
                )
                body["refresh_token"] = refresh
        return body

    def client_credentials(
        self, client_id: str | None, secret: str | None, scope: str | None
    ) -> dict[str, Any]:
        client_row = self.authenticate_client(client_id, secret)
        if client_row.public:
            raise oauth_error("unauthorized_client", "a public client cannot use client_credentials")
        return self._token_response(client_row, self._scopes(client_row, scope), family_id=None)

    def _redeem(self, token: str, kind: str) -> Any:
        """Mark a code or refresh token used, exactly once; returns its row.

        The conditional UPDATE is the whole decision: of two concurrent redemptions one updates a row
        and the other none (PostgreSQL re-checks ``used_at IS NULL`` after the first commits). A
        second presentation revokes the token's family before it is refused.
        """
        name = "authorization code" if kind == "code" else "refresh token"
        token_hash = digest(token)
        refusal: ApiError | None = None
        # left normally even when refusing: the writes must stick
        with self.storage.unit_of_work() as conn:
            row = self.grants.grant(conn, token_hash, kind)
            if row is None:
                raise oauth_error("invalid_grant", f"the {name} is invalid")
            if not self.grants.mark_used(conn, token_hash, iso(utcnow())):
                if row.family_id is not None:
                    self.grants.revoke_family(conn, row.family_id)
                refusal = oauth_error(
                    "invalid_grant",
                    f"the {name} was already used; every token issued from it has been revoked",
                )
            elif row.revoked or row.expires_at <= iso(utcnow()):
                refusal = oauth_error("invalid_grant", f"the {name} is expired or revoked")
        if refusal is not None:
            raise refusal
        return row

    def exchange_code(
        self,
        client_id: str | None,
        secret: str | None,
        code: str | None,
        redirect_uri: str | None,
        verifier: str | None,
    ) -> dict[str, Any]:
        client_row = self.authenticate_client(client_id, secret)
        if not code or not redirect_uri:
            raise oauth_error("invalid_request", "code and redirect_uri are required")
        row = self._redeem(code, "code")  # used up from here on, whatever follows
        if row.client_id != client_row.client_id:
            raise oauth_error("invalid_grant", "the code was issued to another client")
        if row.redirect_uri != redirect_uri:
            raise oauth_error("invalid_grant", "redirect_uri differs from the authorization request's")
        if row.code_challenge is not None:
            if not verifier or not _PKCE_VERIFIER.fullmatch(verifier):
                raise oauth_error("invalid_grant", "a code_verifier of 43-128 characters is required (PKCE)")
            if not hmac.compare_digest(pkce_s256(verifier), row.code_challenge):
                raise oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
        elif verifier:
            raise oauth_error("invalid_grant", "the authorization request carried no code_challenge")
        return self._token_response(client_row, orjson.loads(row.scopes), family_id=row.family_id)

    def refresh(
        self, client_id: str | None, secret: str | None, refresh_token: str | None, scope: str | None
    ) -> dict[str, Any]:
        client_row = self.authenticate_client(client_id, secret)
        if not refresh_token:
            raise oauth_error("invalid_request", "refresh_token is required")
        with self.storage.read() as conn:
            owner = self.grants.refresh_owner(conn, digest(refresh_token))
        if owner is not None and owner != client_row.client_id:
            raise oauth_error("invalid_grant", "the refresh token was issued to another client")
        row = self._redeem(refresh_token, "refresh")
        granted = orjson.loads(row.scopes)
        if scope and set(scope.split()) - set(granted):
            raise oauth_error("invalid_scope", "a refresh cannot widen the granted scopes")
        scopes = granted if not scope else [s for s in granted if s in scope.split()]
        return self._token_response(client_row, scopes, family_id=row.family_id)

    # --- resource side -----------------------------------------------------------------------
    def principal_for_token(self, token: str) -> tuple[Principal, float] | None:
        with self.storage.read() as conn:
            row = self.grants.access_token(conn, digest(token))
        if row is None or row.revoked or row.expires_at <= iso(utcnow()):
            return None
        limit = row.rate_limit_per_hour or TIERS.get(row.tier, TIERS["standard"])
        principal = Principal(row.ws, frozenset(orjson.loads(row.scopes)), row.client_id, "oauth", int(limit))
        return principal, parse_iso(row.expires_at).timestamp()
