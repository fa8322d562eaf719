"""OAuth 2.0 endpoints: token, the sandbox consent page, and RFC 8414 metadata."""

from __future__ import annotations

import base64
import binascii
import html
from urllib.parse import urlencode

from mock_server.auth.oauth import OAuthService, oauth_error
from mock_server.context import ApiRequest, Reply, ok
from mock_server.scopes import ALL_SCOPES


def _service(req: ApiRequest) -> OAuthService:
    service: OAuthService = req.services.extras["oauth"]
    return service


def _client_auth(req: ApiRequest) -> tuple[str | None, str | None]:
    """Client credentials from HTTP Basic (preferred by RFC 6749) or the form body."""
    header = req.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise oauth_error("invalid_client", "malformed Basic credentials", 401) from exc
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return req.body.get("client_id"), req.body.get("client_secret")


def token(req: ApiRequest) -> Reply:
    form = req.body
    client_id, secret = _client_auth(req)
    grant = form.get("grant_type")
    service = _service(req)
    if grant == "client_credentials":
        body = service.client_credentials(client_id, secret, form.get("scope"))
    elif grant == "authorization_code":
        body = service.exchange_code(
            client_id, secret, form.get("code"), form.get("redirect_uri"), form.get("code_verifier")
        )
    elif grant == "refresh_token":
        body = service.refresh(client_id, secret, form.get("refresh_token"), form.get("scope"))
    else:
        raise oauth_error(
            "unsupported_grant_type",
            "grant_type must be client_credentials, authorization_code or refresh_token",
        )
    return Reply(200, body, {"Cache-Control": "no-store"})


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>care-sandbox · authorize</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;color:#1d2330}}
.card{{border:1px solid #d0d5dd;border-radius:12px;padding:1.5rem}}li{{margin:.2rem 0}}
button{{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:8px;border:1px solid #888}}
.approve{{background:#1b6ef3;color:#fff;border-color:#1b6ef3}}</style></head><body><div class="card">
<h1>Authorize {client}</h1><p>This sandbox application asks for:</p><ul>{scopes}</ul>
<form method="post" action="/oauth/authorize">{hidden}
<button class="approve" name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></form>
<p><small>care-sandbox consent page: no real account is involved.</small></p></div></body></html>"""


def authorize(req: ApiRequest) -> Reply:
    params = req.params
    if params.get("response_type", "code") != "code":
        raise oauth_error("unsupported_response_type", "response_type must be code")
    service = _service(req)
    client = service.client(params["client_id"])
    if client is None:
        raise oauth_error("invalid_client", "unknown client_id", 401)
    service.check_redirect(client, params["redirect_uri"])
    fields = {
        k: params[k]
        for k in (
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "response_type",
        )
        if params.get(k)
    }
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
        for k, v in fields.items()
    )
    scopes = "".join(
        f"<li>{html.escape(s)}</li>" for s in (params.get("scope") or " ".join(ALL_SCOPES)).split()
    )
    page = _PAGE.format(client=html.escape(params["client_id"]), scopes=scopes, hidden=hidden)
    return Reply(200, page, media_type="text/html; charset=utf-8")


def approve(req: ApiRequest) -> Reply:
    form = req.body
    redirect = form["redirect_uri"]
    extra: dict[str, str] = {"state": form["state"]} if form.get("state") else {}
    if form["decision"] != "approve":
        query = urlencode({"error": "access_denied", **extra})
    else:
        code = _service(req).create_code(
            form["client_id"],
            redirect,
            form.get("scope"),
            form.get("code_challenge"),
            form.get("code_challenge_method"),
        )
        query = urlencode({"code": code, **extra})
    separator = "&" if "?" in redirect else "?"
    return Reply(302, None, {"Location": f"{redirect}{separator}{query}", "Cache-Control": "no-store"})


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
