"""``auth.oauth`` on its own: PKCE (S256) on the code exchange, and refresh-token rotation.

The HTTP tests (tests/mock_server/handlers/test_oauth.py) drive the whole flow; these call the
service directly, one rule per test, on SQLite and PostgreSQL (``storage``).
"""

from __future__ import annotations

import pytest

from mock_server.auth.oauth import OAuthService, pkce_s256
from mock_server.errors import ApiError
from mock_server.settings import Settings
from mock_server.storage import Storage
from mock_server.storage.workspaces import WorkspaceRepo

CALLBACK = "http://127.0.0.1:4000/callback"
VERIFIER = "v" * 43 + "-._~" + "9" * 10


@pytest.fixture
def oauth(storage: Storage) -> tuple[OAuthService, str, str]:
    made = WorkspaceRepo(storage).create("pkce", seed=1)
    return OAuthService(storage, Settings()), made.client_id, made.client_secret


def _code(service: OAuthService, client_id: str, challenge: str | None) -> str:
    return service.create_code(service.client(client_id), CALLBACK, ["pain:read"], challenge)


def _refused(call: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == "invalid_grant"
    return caught.value


def test_pkce_s256_is_rfc_7636s_example() -> None:
    # RFC 7636, appendix B
    assert (
        pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_the_matching_verifier_redeems_the_code(oauth: tuple[OAuthService, str, str]) -> None:
    service, client_id, secret = oauth
    body = service.exchange_code(
        client_id, secret, _code(service, client_id, pkce_s256(VERIFIER)), CALLBACK, VERIFIER
    )
    principal = service.principal_for_token(body["access_token"])
    assert principal is not None and principal[0].scopes == frozenset({"pain:read"})
    assert body["refresh_token"] and body["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("verifier", "reason"),
    [
        ("w" * 64, "does not match"),
        (None, "required"),
        ("short", "required"),  # under 43 characters
        ("v" * 42 + " ", "required"),  # a character outside the unreserved set
    ],
)
def test_a_wrong_or_missing_verifier_is_refused(
    oauth: tuple[OAuthService, str, str], verifier: str | None, reason: str
) -> None:
    service, client_id, secret = oauth
    code = _code(service, client_id, pkce_s256(VERIFIER))
    assert (
        reason in _refused(lambda: service.exchange_code(client_id, secret, code, CALLBACK, verifier)).message
    )
    # the code is used up by the failed attempt: the right verifier cannot redeem it afterwards
    _refused(lambda: service.exchange_code(client_id, secret, code, CALLBACK, VERIFIER))


def test_a_verifier_without_a_challenge_is_refused(oauth: tuple[OAuthService, str, str]) -> None:
    service, client_id, secret = oauth
    code = _code(service, client_id, None)
    _refused(lambda: service.exchange_code(client_id, secret, code, CALLBACK, VERIFIER))


def test_refresh_rotates_the_token_and_may_narrow_but_not_widen(oauth: tuple[OAuthService, str, str]) -> None:
    service, client_id, secret = oauth
    code = service.create_code(service.client(client_id), CALLBACK, ["pain:read", "vitals:read"], None)
    first = service.exchange_code(client_id, secret, code, CALLBACK, None)
    second = service.refresh(client_id, secret, first["refresh_token"], "pain:read")
    assert second["refresh_token"] != first["refresh_token"] and second["scope"] == "pain:read"
    assert second["access_token"] != first["access_token"]
    third = service.refresh(client_id, secret, second["refresh_token"], None)
    assert third["scope"] == "pain:read"  # the narrowed grant is what the rotated token carries
    with pytest.raises(ApiError) as widened:
        service.refresh(client_id, secret, third["refresh_token"], "pain:read vitals:read")
    assert widened.value.code == "invalid_scope"


def test_a_refresh_token_of_another_client_is_refused(
    oauth: tuple[OAuthService, str, str], storage: Storage
) -> None:
    service, client_id, secret = oauth
    other = WorkspaceRepo(storage).create("pkce-other", seed=2)
    code = _code(service, client_id, None)
    token = service.exchange_code(client_id, secret, code, CALLBACK, None)["refresh_token"]
    assert (
        "another client"
        in _refused(lambda: service.refresh(other.client_id, other.client_secret, token, None)).message
    )
    assert service.refresh(client_id, secret, token, None)["access_token"]  # not burnt by the refusal
