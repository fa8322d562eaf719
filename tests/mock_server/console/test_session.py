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
