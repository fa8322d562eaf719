"""Redirect URI matching for the authorization endpoint (RFC 6749 section 3.1.2, RFC 8252, RFC 9700).

Why parsed, exact matching: comparing strings by pieces let ``http://localhost:1@evil.example/cb``
through (the part before ``@`` is userinfo; the browser goes to evil.example). A requested URI is
parsed once and compared field by field with each registered one — scheme, host, port, path and
query exactly — with one relaxation, RFC 8252 section 7.3: a loopback redirect (``127.0.0.1``,
``[::1]``, ``localhost``) matches on any port, because native apps listen on an ephemeral one.
Userinfo, fragments, backslashes and control characters are refused outright, as are schemes that
run code in the browser, whatever is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import orjson

DEFAULT_REDIRECT_URIS: tuple[str, ...] = (
    "http://127.0.0.1/callback",
    "http://localhost/callback",
    "http://[::1]/callback",
    # Swagger UI's own redirect page at /ui/, so "Authorize" (authorization code + PKCE) works from the docs
    "http://127.0.0.1/ui/oauth2-redirect.html",
    "http://localhost/ui/oauth2-redirect.html",
    "http://[::1]/ui/oauth2-redirect.html",
)
"""What a new workspace's client is registered with: loopback callbacks and the sandbox's Swagger UI
redirect page, usable on any port (RFC 8252)."""

DEFAULT_REDIRECTS_JSON = orjson.dumps(list(DEFAULT_REDIRECT_URIS)).decode()

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_NEVER_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob", "about"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RedirectRefused(ValueError):
    """The redirect URI is malformed, unsafe or not registered; the message says which."""


@dataclass(frozen=True)
class _Parts:
    scheme: str
    host: str
    port: int | None
    path: str
    query: str


def _parse(uri: str) -> _Parts:
    if any(ord(ch) <= 0x20 or ord(ch) >= 0x7F or ch == "\\" for ch in uri):
        raise RedirectRefused("redirect_uri must not contain spaces, control characters or backslashes")
    try:
        parts: SplitResult = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise RedirectRefused(f"redirect_uri is not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise RedirectRefused("redirect_uri must be an absolute URL")
    if scheme in _NEVER_SCHEMES:
        raise RedirectRefused(f"redirect_uri scheme {scheme!r} is never allowed")
    if "@" in parts.netloc:
        raise RedirectRefused("redirect_uri must not carry userinfo (user@host)")
    if parts.fragment or "#" in uri:
        raise RedirectRefused("redirect_uri must not carry a fragment (RFC 6749 section 3.1.2)")
    host = (parts.hostname or "").lower()
    if not host:
        raise RedirectRefused("redirect_uri must name a host")
    effective = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return _Parts(scheme, host, effective, parts.path or "/", parts.query)


def check_redirect_uri(uri: str, registered: list[str]) -> None:
    """Return if ``uri`` matches a registered redirect URI; raise :class:`RedirectRefused` otherwise."""
    wanted = _parse(uri)
    for candidate in registered:
        try:
            known = _parse(candidate)
        except RedirectRefused:
            continue
        if (known.scheme, known.host, known.path, known.query) != (
            wanted.scheme,
            wanted.host,
            wanted.path,
            wanted.query,
        ):
            continue
        if known.port == wanted.port or (known.host in LOOPBACK_HOSTS and known.scheme == "http"):
            return
    raise RedirectRefused(
        "redirect_uri is not registered for this client (registered: " + ", ".join(registered) + ")"
    )
