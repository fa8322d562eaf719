"""OAuth error shapes at the token endpoint (RFC 6749 section 5.2), seen from outside.

OAuth client libraries parse token-endpoint errors as ``{"error": "<code>", "error_description"}``
and read ``invalid_client`` from a 401 with ``WWW-Authenticate``. The probe provokes the errors any
client meets — an unknown grant type, a wrong client secret, a code that was never issued — and
checks the codes; every response's body shape is judged by the per-response checks as well.
"""

from __future__ import annotations

import base64
import uuid

from conformance.context import Context
from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange

CHECK = "oauth_error_codes"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _expect(exchange: Exchange, status: int, code: str, operation: str) -> None:
    body = exchange.json()
    got = body.get("error") if isinstance(body, dict) else None
    if exchange.status != status or got != code:
        raise ConformanceFailure(
            CHECK,
            f"{exchange.describe()} with error {got!r}",
            f"{status} with error {code!r} (RFC 6749 section 5.2)",
            operation=operation,
        )
    if status == 401 and not exchange.header("www-authenticate"):
        raise ConformanceFailure(
            CHECK,
            f"{exchange.describe()} without WWW-Authenticate",
            "401 with WWW-Authenticate",
            operation=operation,
        )


def oauth_error_codes(ctx: Context) -> None:
    """Provoke unsupported_grant_type, invalid_client and invalid_grant at the token endpoint."""
    path = ctx.spec.token_path()
    operation = f"POST {path}"
    if not ctx.documented("POST", path):
        return
    options = ctx.options
    if not (options.client_id and options.client_secret):
        ctx.skip(operation, CHECK, "needs --client-id/--client-secret to reach past client authentication")
        return
    client_id, secret = options.client_id, options.client_secret
    try:
        unknown = ctx.target.request(
            "POST",
            path,
            form={"grant_type": "urn:care-conformance:unknown"},
            headers=_basic(client_id, secret),
            credentials={},
        )
        _expect(unknown, 400, "unsupported_grant_type", operation)
        wrong = ctx.target.request(
            "POST",
            path,
            form={"grant_type": "client_credentials"},
            headers=_basic(client_id, secret + "-wrong"),
            credentials={},
        )
        _expect(wrong, 401, "invalid_client", operation)
        never_issued = ctx.target.request(
            "POST",
            path,
            form={
                "grant_type": "authorization_code",
                "code": f"never-issued-{uuid.uuid4().hex}",
                "redirect_uri": "http://127.0.0.1/callback",
            },
            headers=_basic(client_id, secret),
            credentials={},
        )
        _expect(never_issued, 400, "invalid_grant", operation)
    except ConformanceFailure as failure:
        ctx.fail(failure, operation)
    else:
        ctx.passed(operation, CHECK)
