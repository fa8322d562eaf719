"""OAuth 2.0 endpoints: token, the sandbox consent page, and RFC 8414 metadata.

Errors on these paths are RFC 6749 bodies (``mock_server.errors.render``). The token endpoint returns
its refusals instead of raising them, so what a refusal wrote — a code used up, a refresh-token family
revoked — commits with the answer instead of rolling back.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote, urlencode

from mock_server.auth.consent_page import render_consent_page
from mock_server.auth.oauth import RedirectError, oauth_error
from mock_server.context import ApiRequest, RawJSON, Reply, ok
from mock_server.errors import ApiError, render, rfc6749_text
from mock_server.scopes import ALL_SCOPES

_NO_STORE = {"Cache-Control": "no-store"}
_ECHOED = ("client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")


def _client_auth(req: ApiRequest) -> tuple[str | None, str | None]:
    """Client credentials from HTTP Basic (client_secret_basic) or the form (client_secret_post).

    RFC 6749 section 2.3.1: Basic credentials are form-urlencoded before encoding, hence the
    unquoting; using both methods at once is an ``invalid_request``.
    """
    header = req.headers.get("authorization", "")
    form_id, form_secret = req.body.get("client_id"), req.body.get("client_secret")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise oauth_error("invalid_client", "malformed Basic credentials", 401) from exc
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise oauth_error("invalid_client", "malformed Basic credentials", 401)
        if form_secret:
            raise oauth_error("invalid_request", "authenticate with HTTP Basic or form fields, not both")
        if form_id and form_id != unquote(client_id):
            raise oauth_error("invalid_request", "client_id in the form differs from HTTP Basic")
        return unquote(client_id), unquote(secret)
    return form_id, form_secret


def token(req: ApiRequest) -> Reply:
    try:
        body = _grant(req)
    except ApiError as error:
        if error.code == "invalid_grant":  # a family may just have been revoked: drop cached tokens
            req.services.principals.forget()
        data, media = render(error, req.request_id, req.path)
        return Reply(error.status, RawJSON(data), {**error.headers, **_NO_STORE}, media, replayable=False)
    return Reply(200, body, {**_NO_STORE, "Pragma": "no-cache"}, replayable=False)


def _grant(req: ApiRequest) -> dict[str, Any]:
    form = req.body
    client_id, secret = _client_auth(req)
    grant = form.get("grant_type")
    service = req.services.oauth
    if grant == "client_credentials":
        return service.client_credentials(client_id, secret, form.get("scope"))
    if grant == "authorization_code":
        return service.exchange_code(
            client_id, secret, form.get("code"), form.get("redirect_uri"), form.get("code_verifier")
        )
    if grant == "refresh_token":
        return service.refresh(client_id, secret, form.get("refresh_token"), form.get("scope"))
    raise oauth_error(
        "unsupported_grant_type",
        "grant_type must be client_credentials, authorization_code or refresh_token",
    )


def _redirect(redirect_uri: str, values: dict[str, str], state: str | None) -> Reply:
    query = urlencode({**values, **({"state": state} if state else {})})
    separator = "&" if "?" in redirect_uri else "?"
    # the Location of an approval carries the authorization code: never stored for an idempotent replay
    location = {"Location": f"{redirect_uri}{separator}{query}", **_NO_STORE}
    return Reply(302, None, location, replayable=False)


def _error_redirect(redirect_uri: str, error: RedirectError, state: str | None) -> Reply:
    described = {"error": error.code, "error_description": rfc6749_text(error.description)}
    return _redirect(redirect_uri, described, state)


def authorize(req: ApiRequest) -> Reply:
    params = req.params
    service = req.services.oauth
    client = service.redirect_target(params.get("client_id"), params.get("redirect_uri"))
    redirect_uri, state = params["redirect_uri"], params.get("state")
    try:
        scopes = service.authorization_request(
            client,
            params.get("response_type"),
            params.get("scope"),
            params.get("code_challenge"),
            params.get("code_challenge_method"),
        )
    except RedirectError as error:
        return _error_redirect(redirect_uri, error, state)
    hidden = {k: str(params[k]) for k in _ECHOED if params.get(k)}
    hidden["response_type"] = "code"
    page = render_consent_page(service.client_name(client), scopes, hidden)
    return Reply(200, page, dict(_NO_STORE), media_type="text/html; charset=utf-8")


def approve(req: ApiRequest) -> Reply:
    form = req.body
    service = req.services.oauth
    client = service.redirect_target(form.get("client_id"), form.get("redirect_uri"))
    redirect_uri, state = form["redirect_uri"], form.get("state")
    if form["decision"] != "approve":
        return _error_redirect(
            redirect_uri, RedirectError("access_denied", "the patient denied the request"), state
        )
    try:
        scopes = service.authorization_request(
            client,
            form.get("response_type", "code"),
            form.get("scope"),
            form.get("code_challenge"),
            form.get("code_challenge_method"),
        )
    except RedirectError as error:
        return _error_redirect(redirect_uri, error, state)
    code = service.create_code(client, redirect_uri, scopes, form.get("code_challenge"))
    return _redirect(redirect_uri, {"code": code}, state)


def metadata(req: ApiRequest) -> Reply:
    base = req.base_url
    return ok(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "scopes_supported": list(ALL_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
        }
    )
