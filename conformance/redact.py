"""Secrets never leave the kit: one place decides what is redacted in curl lines and HAR logs.

A reproduction or a HAR file is meant to be pasted into a bug report, so API keys, bearer tokens,
client secrets and webhook signing secrets are replaced before anything is written.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "REDACTED"
SECRET_HEADERS = frozenset(
    {"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie", "x-p2c-signature"}
)
SECRET_FIELDS = frozenset(
    {"client_secret", "access_token", "refresh_token", "secret", "api_key", "password", "token"}
)
# In forms and query strings `code` is an OAuth authorization code; in JSON it is an error code.
FORM_SECRET_FIELDS = SECRET_FIELDS | {"code"}
_WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")
# What a reader must substitute to replay a request: the header keeps its name, the value says which flag.
PLACEHOLDERS = {"x-api-key": "$CARE_API_KEY", "authorization": "Bearer $CARE_TOKEN"}


def header_value(name: str, value: str, *, placeholder: bool = False) -> str:
    """The value to show for a header: secrets become REDACTED (or a shell placeholder for curl)."""
    lowered = name.lower()
    if lowered in SECRET_HEADERS:
        return PLACEHOLDERS.get(lowered, REDACTED) if placeholder else REDACTED
    return _WHSEC.sub("whsec_" + REDACTED, value)


def headers(items: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header pairs with every secret redacted."""
    pairs = items.items() if isinstance(items, Mapping) else items
    return [(name, header_value(name, value)) for name, value in pairs]


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (REDACTED if key.lower() in SECRET_FIELDS and value[key] else _scrub(value[key]))
            for key in value
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, str):
        return _WHSEC.sub("whsec_" + REDACTED, value)
    return value


def body_text(body: bytes, content_type: str) -> str:
    """A request or response body as text, secrets in JSON or form fields redacted."""
    text = body.decode("utf-8", "replace")
    media = content_type.split(";", 1)[0].strip().lower()
    if media.endswith("json"):
        try:
            return json.dumps(_scrub(json.loads(text)))
        except ValueError:
            pass
    elif media == "application/x-www-form-urlencoded":
        pairs = parse_qsl(text, keep_blank_values=True)
        return urlencode([(k, REDACTED if k.lower() in FORM_SECRET_FIELDS else v) for k, v in pairs])
    return _WHSEC.sub("whsec_" + REDACTED, text)


def query_value(name: str, value: str) -> str:
    """A query parameter's value, redacted when it carries a secret."""
    return REDACTED if name.lower() in FORM_SECRET_FIELDS else value


def url(value: str) -> str:
    """A URL with secret query parameters (an OAuth `code`, a token…) redacted."""
    parts = urlsplit(value)
    if not parts.query:
        return value
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(name.lower() in FORM_SECRET_FIELDS for name, _ in pairs):
        return value
    query = urlencode([(name, query_value(name, item)) for name, item in pairs])
    return urlunsplit(parts._replace(query=query))


SKIP_IN_CURL = frozenset({"content-length", "host", "accept-encoding", "connection", "user-agent", "accept"})


def curl(method: str, target: str, request_headers: Mapping[str, str], body: bytes | None = None) -> str:
    """A copy-paste curl line for one request; credentials become $CARE_API_KEY / $CARE_TOKEN."""
    parts = ["curl", "-i", "-X", method.upper()]
    for name, value in request_headers.items():
        if name.lower() in SKIP_IN_CURL:
            continue
        shown = header_value(name, value, placeholder=True)
        quote = '"' if shown.startswith(("$", "Bearer $")) else None
        parts += ["-H", f'"{name}: {shown}"' if quote else shlex.quote(f"{name}: {shown}")]
    if body:
        content_type = next((v for k, v in request_headers.items() if k.lower() == "content-type"), "")
        parts += ["--data-raw", shlex.quote(body_text(body, content_type))]
    parts.append(shlex.quote(url(target)))
    return " ".join(parts)


_CURL_SECRET = re.compile(
    r"""(-H\s+(['"]))(x-api-key|authorization|proxy-authorization|cookie)(:\s*)([^'"]*)(\2)""", re.IGNORECASE
)


# What an auth probe sends instead of the run's credentials. Curl lines keep it as it is: a reproduction
# of "accepts invalid credentials" that swapped it for $CARE_API_KEY would replay a request that is
# meant to succeed.
PROBE_CREDENTIALS = {"x-api-key": "not-a-valid-key", "authorization": "Bearer not-a-valid-token"}
_CURL_CREDENTIAL = re.compile(r"""\s+-H\s+(['"])(x-api-key|authorization)(:\s*)[^'"]*\1""", re.IGNORECASE)


def probe_curl(text: str, *, invalid: bool) -> str:
    """The curl line of an authentication probe: without credentials, or with an invalid one.

    Schemathesis attaches the original, authenticated request to an ``ignored_auth`` failure; what
    the target wrongly accepted was that request with no credential (``invalid=False``) or a bad one.
    """

    def replace(match: re.Match[str]) -> str:
        if not invalid:
            return ""
        name = match.group(2)
        return f" -H '{name}{match.group(3)}{PROBE_CREDENTIALS[name.lower()]}'"

    return _CURL_CREDENTIAL.sub(replace, text)


def scrub_curl(text: str) -> str:
    """Secrets out of a curl line someone else wrote (Schemathesis' code samples)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(3)
        if match.group(5) == PROBE_CREDENTIALS.get(name.lower()):
            return match.group(0)  # an auth probe's known-bad credential is no secret
        value = PLACEHOLDERS.get(name.lower(), REDACTED)
        return f'-H "{name}{match.group(4)}{value}"'

    return _WHSEC.sub("whsec_" + REDACTED, _CURL_SECRET.sub(replace, text))
