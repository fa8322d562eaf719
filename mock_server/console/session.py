"""The console's session: the workspace API key in an HttpOnly, SameSite=Strict cookie, and CSRF.

Why the key itself: it is the credential the integrator signs in with and the console calls the API
with; the cookie is HttpOnly (no script reads it), SameSite=Strict (no other site sends it) and scoped
to ``/console``. Every form also carries a CSRF token, an HMAC of the key, checked on every POST —
defence in depth for browsers that ignore SameSite.
"""

from __future__ import annotations

import hashlib
import hmac

COOKIE = "care_console"
CSRF_FIELD = "csrf"


def csrf_token(api_key: str) -> str:
    return hmac.new(api_key.encode(), b"care-console-csrf-v1", hashlib.sha256).hexdigest()[:40]


def _same(expected: str, sent: str) -> bool:
    """Constant-time equality of the text as UTF-8 (``compare_digest`` refuses non-ASCII ``str``, which
    a forged form may well send: a TypeError would be a 500 instead of the 403)."""
    return hmac.compare_digest(expected.encode(), sent.encode())


def csrf_ok(api_key: str, sent: str | None) -> bool:
    return bool(sent) and _same(csrf_token(api_key), str(sent))


def cookie_header(api_key: str, *, secure: bool) -> str:
    flags = "Path=/console; HttpOnly; SameSite=Strict; Max-Age=43200"
    return f"{COOKIE}={api_key}; {flags}{'; Secure' if secure else ''}"


def clear_cookie_header() -> str:
    return f"{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
