"""The console's session: the workspace API key in an HttpOnly, SameSite=Strict cookie, and CSRF.

Why the key itself: it is the credential the integrator signs in with and the console calls the API
with; the cookie is HttpOnly (no script reads it), SameSite=Strict (no other site sends it) and scoped
to ``/console``. Every form also carries a CSRF token, an HMAC of the key, checked on every POST —
defence in depth for browsers that ignore SameSite.

Signing in has no session yet, so its form is bound to a pre-session cookie instead (double submit):
the sign-in page sets a random token in an HttpOnly, SameSite=Strict cookie and repeats it in the
form; the POST must carry both, equal. Another site can neither read the token nor make the browser
send the cookie, so it cannot sign the browser into the attacker's workspace (login CSRF).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE = "care_console"
CSRF_FIELD = "csrf"
PRE_COOKIE = "care_console_signin"
_PRE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_FLAGS = "Path=/console; HttpOnly; SameSite=Strict"


def csrf_token(api_key: str) -> str:
    return hmac.new(api_key.encode(), b"care-console-csrf-v1", hashlib.sha256).hexdigest()[:40]


def _same(expected: str, sent: str) -> bool:
    """Constant-time equality of the text as UTF-8 (``compare_digest`` refuses non-ASCII ``str``, which
    a forged form may well send: a TypeError would be a 500 instead of the 403)."""
    return hmac.compare_digest(expected.encode(), sent.encode())


def csrf_ok(api_key: str, sent: str | None) -> bool:
    return bool(sent) and _same(csrf_token(api_key), str(sent))


def cookie_header(api_key: str, *, secure: bool) -> str:
    return f"{COOKIE}={api_key}; {_FLAGS}; Max-Age=43200{'; Secure' if secure else ''}"


def clear_cookie_header() -> str:
    return f"{COOKIE}=; {_FLAGS}; Max-Age=0"


def sign_in_token(cookie: str | None) -> str:
    """The pre-session token the sign-in form repeats: the browser's own if it has a well-formed one
    (several open sign-in tabs keep working), else a new one (set it with :func:`pre_cookie_header`)."""
    return cookie if cookie and _PRE_TOKEN.fullmatch(cookie) else secrets.token_urlsafe(32)


def sign_in_ok(cookie: str | None, sent: str | None) -> bool:
    """Whether the sign-in POST carries the pre-session cookie and the same token in its form."""
    return bool(cookie and sent and _PRE_TOKEN.fullmatch(cookie)) and _same(str(cookie), str(sent))


def pre_cookie_header(token: str, *, secure: bool) -> str:
    return f"{PRE_COOKIE}={token}; {_FLAGS}; Max-Age=43200{'; Secure' if secure else ''}"


def clear_pre_cookie_header() -> str:
    return f"{PRE_COOKIE}=; {_FLAGS}; Max-Age=0"
