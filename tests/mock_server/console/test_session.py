"""The console's CSRF checks answer yes or no to any posted text, never raise."""

from __future__ import annotations

from mock_server.console import session


def test_a_csrf_token_is_checked_against_the_sessions_key() -> None:
    token = session.csrf_token("p2c_test_a")
    assert session.csrf_ok("p2c_test_a", token)
    assert not session.csrf_ok("p2c_test_b", token)
    assert not session.csrf_ok("p2c_test_a", "")
    assert not session.csrf_ok("p2c_test_a", None)


def test_a_non_ascii_token_is_refused_not_an_error() -> None:
    """``hmac.compare_digest`` raises TypeError on non-ASCII str; a forged form is a 403, not a 500."""
    assert not session.csrf_ok("p2c_test_a", "é" * 40)


def test_the_sign_in_token_is_the_browsers_cookie_when_well_formed() -> None:
    fresh = session.sign_in_token(None)
    assert len(fresh) == 43 and session.sign_in_token(fresh) == fresh
    assert session.sign_in_token("short") != "short"
    assert session.sign_in_token(fresh + "x") != fresh + "x"


def test_sign_in_needs_the_cookie_and_the_same_token_in_the_form() -> None:
    token = session.sign_in_token(None)
    assert session.sign_in_ok(token, token)
    assert not session.sign_in_ok(None, token)  # another site's post: SameSite keeps the cookie back
    assert not session.sign_in_ok(token, None)
    assert not session.sign_in_ok(token, session.sign_in_token(None))
    assert not session.sign_in_ok("", "")
    assert not session.sign_in_ok("a", "a")  # a cookie this console never set
    assert not session.sign_in_ok(token, "é" * 43)


def test_the_sign_in_cookie_is_http_only_strict_and_the_consoles() -> None:
    header = session.pre_cookie_header("t" * 43, secure=True)
    assert header.startswith(f"{session.PRE_COOKIE}={'t' * 43};")
    assert {"Path=/console", "HttpOnly", "SameSite=Strict", "Secure"} <= set(header.split("; "))
    assert "Max-Age=0" in session.clear_pre_cookie_header()
