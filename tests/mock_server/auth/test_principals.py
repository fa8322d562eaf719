"""``auth.principals`` on its own: which credential wins, the refusals, and the short cache."""

from __future__ import annotations

import pytest

from mock_server.auth import principals as principals_mod
from mock_server.auth.principals import PrincipalResolver
from mock_server.context import Principal

KEY_PRINCIPAL = Principal("ws_key", frozenset({"pain:read"}), "key_1", "api_key", 100)
TOKEN_PRINCIPAL = Principal("ws_tok", frozenset({"vitals:read"}), "tok_1", "oauth", 100)


class Lookups:
    """Counting stand-ins for the two database lookups."""

    def __init__(self, token_expires: float = 1e12) -> None:
        self.calls: list[str] = []
        self.token_expires = token_expires

    def by_key(self, key: str) -> Principal | None:
        self.calls.append(f"k:{key}")
        return KEY_PRINCIPAL if key == "good" else None

    def by_token(self, token: str) -> tuple[Principal, float] | None:
        self.calls.append(f"t:{token}")
        return (TOKEN_PRINCIPAL, self.token_expires) if token == "good" else None


def resolver(lookups: Lookups) -> PrincipalResolver:
    return PrincipalResolver(lookups.by_key, lookups.by_token)


def test_a_key_and_a_bearer_token_resolve_to_their_principals() -> None:
    r = resolver(Lookups())
    assert r.resolve({"x-api-key": "good"}) == (KEY_PRINCIPAL, None)
    assert r.resolve({"authorization": "Bearer good"}) == (TOKEN_PRINCIPAL, None)
    assert r.resolve({"authorization": "bearer   good  "}) == (TOKEN_PRINCIPAL, None)  # scheme is case-free


def test_the_api_key_wins_when_both_are_sent() -> None:
    assert (
        resolver(Lookups()).resolve({"x-api-key": "good", "authorization": "Bearer good"})[0] == KEY_PRINCIPAL
    )


def test_no_credential_is_anonymous_not_an_error() -> None:
    assert resolver(Lookups()).resolve({}) == (None, None)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"x-api-key": "wrong"}, "invalid_api_key"),
        ({"authorization": "Bearer wrong"}, "invalid_token"),
        ({"authorization": "Basic Zm9vOmJhcg=="}, "invalid_token"),
        ({"authorization": "Bearer "}, "invalid_token"),
    ],
)
def test_bad_credentials_are_401s(headers: dict[str, str], code: str) -> None:
    principal, error = resolver(Lookups()).resolve(headers)
    assert principal is None and error is not None and (error.status, error.code) == (401, code)


def test_an_invalid_token_says_so_in_www_authenticate() -> None:
    _, error = resolver(Lookups()).resolve({"authorization": "Bearer wrong"})
    assert error is not None and error.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_results_are_cached_until_forgotten() -> None:
    lookups = Lookups()
    r = resolver(lookups)
    for _ in range(3):
        r.resolve({"x-api-key": "good"})
        r.resolve({"x-api-key": "wrong"})  # a miss is cached too: a flood of bad keys costs one lookup
    assert lookups.calls == ["k:good", "k:wrong"]
    r.forget()
    r.resolve({"x-api-key": "good"})
    assert lookups.calls[-1] == "k:good" and len(lookups.calls) == 3


def test_a_token_is_never_cached_past_its_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000.0]
    monkeypatch.setattr(principals_mod.time, "time", lambda: now[0])
    lookups = Lookups(token_expires=1_001.0)  # expires in one second, well inside the cache period
    r = resolver(lookups)
    r.resolve({"authorization": "Bearer good"})
    r.resolve({"authorization": "Bearer good"})
    assert lookups.calls == ["t:good"]
    now[0] = 1_001.5  # past the token's expiry, not past CACHE_SECONDS
    assert principals_mod.CACHE_SECONDS > 1.5
    r.resolve({"authorization": "Bearer good"})
    assert lookups.calls == ["t:good", "t:good"]
