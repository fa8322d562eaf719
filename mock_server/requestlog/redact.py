"""Redaction of what the request log stores: no credential or secret ever reaches the database.

Three layers, because any one alone leaks something:

1. **Headers** that carry credentials (``X-API-Key``, ``Authorization``, cookies) are replaced whole.
2. **Named fields** in JSON bodies, form bodies and query strings (``client_secret``, ``code``,
   ``refresh_token``, ``access_token``, ``secret``, …) are replaced, whatever their value looks like.
   ``code`` only in what the client sent: in a response it is the error envelope's code.
3. **Values by shape** anywhere in the text: API keys (``p2c_``), client secrets (``cs_``), OAuth tokens
   (``at_``/``rt_``/``ac_``), ``whsec_`` secrets and ``Bearer …``; plus the exact credential the request
   carried, wherever it was echoed.

Bodies are then cut to the size limit; redaction runs first, so a cut never exposes half a secret.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

REDACTED = "[REDACTED]"

SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"})
REQUEST_FIELDS = frozenset(
    {
        "client_secret",
        "code",
        "code_verifier",
        "refresh_token",
        "access_token",
        "id_token",
        "token",
        "secret",
        "previous_secret",
        "api_key",
        "password",
    }
)
RESPONSE_FIELDS = REQUEST_FIELDS - {"code"}

_SHAPES = re.compile(
    r"(?:Bearer\s+[A-Za-z0-9._~+/=-]+"
    r"|whsec_[A-Za-z0-9+/=_-]+"
    r"|\bp2c_(?:test|live)_[A-Za-z0-9_-]+"
    r"|\bcs_(?:test|live)_[A-Za-z0-9_-]+"
    r"|\b(?:at|rt|ac)_[A-Za-z0-9_-]{32,})"
)
# Literal pre-checks (a C-speed scan each) so the common body — a page of pain entries — skips the
# regex and the JSON walk. OAuth tokens (``at_``/``rt_``/``ac_``) are not pre-checked by shape (``at_``
# is in every ``logged_at``): they travel in headers (replaced whole), in named fields, or are the
# request's own credential (replaced exactly); the regex still catches them in any text it runs on.
# ``code=``: an authorization code travels in a redirect's query (the consent form's ``Location``), where
# no field name or credential header gives it away.
_SHAPE_MARKERS = ("whsec_", "p2c_", "cs_test_", "cs_live_", "Bearer", "code=")
_FIELD_MARKERS = ("secret", "token", "password", "api_key")
_REQUEST_FIELD_MARKERS = (*_FIELD_MARKERS, '"code"')


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header name → value (lower-case names; repeated headers joined), credentials replaced."""
    pairs = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in headers]
    # the shape markers are looked for once in all values together (they hold no newline, so none can
    # span two values): the common request, with no marker in any header, then costs one scan
    shaped = _has_marker("\n".join(value for _, value in pairs))
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in SECRET_HEADERS:
            value = REDACTED
        elif shaped:
            value = redact_text(value, ())
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _has_marker(text: str) -> bool:
    return any(marker in text for marker in _SHAPE_MARKERS)


def redact_text(text: str, credentials: tuple[str, ...]) -> str:
    """Replace secrets recognisable by shape, and the request's own credentials, anywhere in ``text``."""
    for credential in credentials:
        if credential and credential in text:
            text = text.replace(credential, REDACTED)
    if not any(marker in text for marker in _SHAPE_MARKERS):
        return text  # the common case: a few scans, no regex
    return _SHAPES.sub(REDACTED, text)


def redact_path(path: str, credentials: tuple[str, ...]) -> str:
    """The path with secrets replaced: the request's own credentials, and every shape (OAuth tokens
    included, which ``redact_text`` only looks for next to another marker). A path is short, so the
    regex always runs; an id of this API never has a secret's shape."""
    for credential in credentials:
        if credential and credential in path:
            path = path.replace(credential, REDACTED)
    return _SHAPES.sub(REDACTED, path)


def _redact_value(value: Any, fields: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if k in fields and v is not None else _redact_value(v, fields)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_value(v, fields) for v in value]
    return value


# 19 digits or more outside a fraction or exponent: maybe beyond 64 bits (a match inside a string only
# costs the slower parser)
_LONG_INTEGER = re.compile(rb"(?<![.\deE])\d{19,}(?![.\deE])")


def _redact_json(data: bytes, fields: frozenset[str]) -> str | None:
    """The JSON document with named fields replaced; None when it is not JSON (still redacted by shape).

    orjson first (fast); the standard library for what orjson refuses but is valid JSON, so such a body
    cannot smuggle a named secret past this layer, and for integers beyond 64 bits, which orjson reads
    as floats (the log would show ``1e+20`` where the client sent ``100000000000000000000``).
    """
    if not _LONG_INTEGER.search(data):
        try:
            return orjson.dumps(_redact_value(orjson.loads(data), fields)).decode()
        except (orjson.JSONDecodeError, TypeError):
            pass
    try:
        return json.dumps(_redact_value(json.loads(data), fields), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return None  # malformed JSON (a 400 in the making)


def redact_query(query: str, credentials: tuple[str, ...], fields: frozenset[str] = REQUEST_FIELDS) -> str:
    # without escapes ('%', '+') every parsed name is a substring of the query: no field name in it
    # means no field to replace, and parsing is skipped (the common ``per_page=50``)
    if "%" in query or "+" in query or any(field in query for field in fields):
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k in fields for k, _ in pairs):
            query = urlencode([(k, REDACTED if k in fields else v) for k, v in pairs], safe="[]")
    return redact_text(query, credentials)


def redact_body(data: bytes, media_type: str, credentials: tuple[str, ...], *, request: bool) -> str | None:
    """The body as text with secrets replaced; a placeholder for binary bodies; None when empty."""
    if not data:
        return None
    fields = REQUEST_FIELDS if request else RESPONSE_FIELDS
    media = media_type.split(";")[0].strip().lower()
    if media.endswith("json"):
        text = data.decode("utf-8", "replace")
        if any(marker in text for marker in (_REQUEST_FIELD_MARKERS if request else _FIELD_MARKERS)):
            text = _redact_json(data, fields) or text
        return redact_text(text, credentials)
    if media == "application/x-www-form-urlencoded":
        return redact_query(data.decode("utf-8", "replace"), credentials, fields)
    if media.startswith("text/") or not media:
        return redact_text(data.decode("utf-8", "replace"), credentials)
    return f"[{len(data)} bytes of {media}]"


def credentials_in(headers: list[tuple[bytes, bytes]]) -> tuple[str, ...]:
    """The secrets the request itself carried (the API key, the bearer token)."""
    found: list[str] = []
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if name == b"x-api-key":
            found.append(raw_value.decode("latin-1").strip())
        elif name in (b"authorization", b"proxy-authorization"):
            value = raw_value.decode("latin-1").strip()
            found.append(value.split(None, 1)[1] if " " in value else value)
    return tuple(v for v in found if len(v) >= 8)


def cut(text: str | None, limit: int) -> tuple[str | None, bool]:
    """At most ``limit`` UTF-8 bytes of ``text`` (not splitting a character), and whether it was cut."""
    if text is None:
        return None, False
    raw = text.encode()
    if len(raw) <= limit:
        return text, False
    return raw[:limit].decode("utf-8", "ignore"), True
