"""OAuth 2.0 as RFC 6749, 7636, 8252 and 9700 say, driven by an off-the-shelf client (Authlib's httpx
client) over real HTTP: client_credentials, authorization_code + PKCE, refresh — and the error paths.

Each hole of issue 12 has a test here that failed before the fix: a code redeemed without the
client's secret, string-split redirect matching, deny redirecting anywhere, envelope-shaped token
errors, scope errors not redirected, replayed refresh tokens not revoking their family, failed
exchanges not using the code up, and codes redeemable twice under concurrency.
"""

from __future__ import annotations

import secrets
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from tests.fixtures.sandbox import RunningSandbox

CALLBACK = "http://127.0.0.1:53682/callback"  # loopback: any port matches the registered callback


def _client(sandbox: RunningSandbox, method: str = "client_secret_basic", **kwargs) -> OAuth2Client:
    return OAuth2Client(
        sandbox.alpha.client_id,
        sandbox.alpha.client_secret,
        token_endpoint_auth_method=method,
        base_url=sandbox.base_url,
        timeout=30,
        **kwargs,
    )


def _approve(sandbox: RunningSandbox, authorization_url: str, decision: str = "approve") -> httpx.Response:
    """Play the patient: open the consent page, then submit its form as the browser would."""
    with httpx.Client(base_url=sandbox.base_url, timeout=30) as browser:
        page = browser.get(authorization_url)
        assert page.status_code == 200, page.text
        params = dict(parse_qs(urlsplit(authorization_url).query))
        form = {k: v[0] for k, v in params.items()}
        form["decision"] = decision
        return browser.post("/oauth/authorize", data=form)


def _code_flow(sandbox: RunningSandbox, client: OAuth2Client, scope: str = "patients:read pain:read"):
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        f"{sandbox.base_url}/oauth/authorize", code_verifier=verifier, scope=scope, redirect_uri=CALLBACK
    )
    redirected = _approve(sandbox, url)
    assert redirected.status_code == 302, redirected.text
    location = redirected.headers["location"]
    assert location.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return verifier, location, query["code"][0]


def _token_error(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) <= {"error", "error_description", "error_uri"} and isinstance(body["error"], str), body
    return body["error"]


# --- client_credentials ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_with_either_authentication(sandbox: RunningSandbox, method: str) -> None:
    with _client(sandbox, method, scope="patients:read") as client:
        token = client.fetch_token("/oauth/token", grant_type="client_credentials")
        assert token["token_type"] == "Bearer" and token["scope"] == "patients:read"
        assert "refresh_token" not in token
        assert client.get("/v1/patients").status_code == 200
        assert client.get("/v1/analytics/population").status_code == 403  # narrower than the client


@pytest.mark.parametrize("secret", ["cs_test_wrong", None])
def test_client_credentials_refused_without_the_right_secret(sandbox: RunningSandbox, secret) -> None:
    with OAuth2Client(
        sandbox.alpha.client_id,
        secret,
        base_url=sandbox.base_url,
        timeout=30,
        token_endpoint_auth_method="client_secret_post" if secret else "none",
    ) as client:
        with pytest.raises(OAuthError) as raised:
            client.fetch_token("/oauth/token", grant_type="client_credentials")
    assert raised.value.error == "invalid_client"
    raw = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        auth=(sandbox.alpha.client_id, "cs_test_wrong"),
        data={"grant_type": "client_credentials"},
    )
    assert raw.status_code == 401 and raw.headers["www-authenticate"].startswith("Basic")
    assert raw.headers["cache-control"] == "no-store"
    assert _token_error(raw) == "invalid_client"


def test_token_errors_are_rfc6749_bodies(sandbox: RunningSandbox) -> None:
    url = f"{sandbox.base_url}/oauth/token"
    auth = (sandbox.alpha.client_id, sandbox.alpha.client_secret)
    assert (
        _token_error(httpx.post(url, auth=auth, data={"grant_type": "password"})) == "unsupported_grant_type"
    )
    missing = httpx.post(url, auth=auth, data={"scope": "pain:read"})  # no grant_type: gateway validation
    assert missing.status_code == 400 and _token_error(missing) == "invalid_request"
    bad_code = httpx.post(
        url, auth=auth, data={"grant_type": "authorization_code", "code": "ac_nope", "redirect_uri": CALLBACK}
    )
    assert bad_code.status_code == 400 and _token_error(bad_code) == "invalid_grant"
    scope = httpx.post(url, auth=auth, data={"grant_type": "client_credentials", "scope": "nope:read"})
    assert _token_error(scope) == "invalid_scope"


# --- authorization_code + PKCE + refresh ---------------------------------------------------------


def test_code_pkce_and_refresh_through_authlib(sandbox: RunningSandbox) -> None:
    with _client(sandbox, code_challenge_method="S256", redirect_uri=CALLBACK) as client:
        verifier, location, _ = _code_flow(sandbox, client)
        token = client.fetch_token("/oauth/token", authorization_response=location, code_verifier=verifier)
        assert token["scope"] == "patients:read pain:read" and token["refresh_token"].startswith("rt_")
        assert client.get("/v1/patients").status_code == 200
        refreshed = client.refresh_token("/oauth/token", refresh_token=token["refresh_token"])
        assert refreshed["access_token"] != token["access_token"]
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert client.get("/v1/patients").status_code == 200


def test_code_without_the_client_secret_is_refused(sandbox: RunningSandbox) -> None:
    """Issue 12: a PKCE verifier is not client authentication for a confidential client."""
    with _client(sandbox, code_challenge_method="S256", redirect_uri=CALLBACK) as client:
        verifier, _, code = _code_flow(sandbox, client)
    answer = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": sandbox.alpha.client_id,
        },
    )
    assert answer.status_code == 401 and _token_error(answer) == "invalid_client"


def test_replayed_code_is_refused_and_revokes_what_it_issued(sandbox: RunningSandbox) -> None:
    with _client(sandbox, code_challenge_method="S256", redirect_uri=CALLBACK) as client:
        verifier, location, _ = _code_flow(sandbox, client)
        token = client.fetch_token("/oauth/token", authorization_response=location, code_verifier=verifier)
        with pytest.raises(OAuthError) as raised:
            client.fetch_token("/oauth/token", authorization_response=location, code_verifier=verifier)
        assert raised.value.error == "invalid_grant"
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(f"{sandbox.base_url}/v1/patients", headers=bearer).status_code == 401
    with _client(sandbox) as client, pytest.raises(OAuthError):
        client.refresh_token("/oauth/token", refresh_token=token["refresh_token"])


def test_failed_exchange_uses_the_code_up(sandbox: RunningSandbox) -> None:
    with _client(sandbox, code_challenge_method="S256", redirect_uri=CALLBACK) as client:
        verifier, location, _ = _code_flow(sandbox, client)
        with pytest.raises(OAuthError) as wrong:
            client.fetch_token(
                "/oauth/token", authorization_response=location, code_verifier=generate_token(48)
            )
        assert wrong.value.error == "invalid_grant"
        with pytest.raises(OAuthError) as again:  # the right verifier comes too late
            client.fetch_token("/oauth/token", authorization_response=location, code_verifier=verifier)
        assert again.value.error == "invalid_grant"


def test_replayed_refresh_token_revokes_the_family(sandbox: RunningSandbox) -> None:
    with _client(sandbox, code_challenge_method="S256", redirect_uri=CALLBACK) as client:
        verifier, location, _ = _code_flow(sandbox, client)
        first = client.fetch_token("/oauth/token", authorization_response=location, code_verifier=verifier)
        second = client.refresh_token("/oauth/token", refresh_token=first["refresh_token"])
        with pytest.raises(OAuthError) as reused:  # the rotated token again: a thief, or a confused client
            client.refresh_token("/oauth/token", refresh_token=first["refresh_token"])
        assert reused.value.error == "invalid_grant"
        with pytest.raises(OAuthError):  # the legitimate successor is revoked with its family
            client.refresh_token("/oauth/token", refresh_token=second["refresh_token"])
    bearer = {"Authorization": f"Bearer {second['access_token']}"}
    assert httpx.get(f"{sandbox.base_url}/v1/patients", headers=bearer).status_code == 401


def test_code_is_redeemed_once_under_concurrency(sandbox_factory, database_url: str) -> None:
    """Eight simultaneous redemptions of one code: exactly one token (SQLite and PostgreSQL)."""
    running = sandbox_factory(database_url=database_url)
    with _client(running, code_challenge_method="S256", redirect_uri=CALLBACK) as client:
        verifier, _, code = _code_flow(running, client)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def redeem() -> None:
        barrier.wait()
        answer = httpx.post(
            f"{running.base_url}/oauth/token",
            auth=(running.alpha.client_id, running.alpha.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": verifier,
            },
            timeout=60,
        )
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 7


# --- the authorization endpoint ----------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:1@evil.example/cb",
        "http://127.0.0.1:53682@evil.example/callback",
        "javascript://127.0.0.1/callback%0aalert(1)",
        "https://evil.example/callback",
        "http://127.0.0.1.evil.example/callback",
        "http://127.0.0.1/other-path",
        "http://127.0.0.1/callback#fragment",
        "http://127.0.0.1\\@evil.example/callback",
        "https://127.0.0.1/callback",
    ],
)
@pytest.mark.parametrize("decision", ["approve", "deny", None])
def test_bad_redirect_uris_never_redirect(sandbox: RunningSandbox, redirect_uri: str, decision) -> None:
    params = {
        "response_type": "code",
        "client_id": sandbox.alpha.client_id,
        "redirect_uri": redirect_uri,
        "state": "xyz",
    }
    if decision is None:
        answer = httpx.get(f"{sandbox.base_url}/oauth/authorize", params=params)
    else:
        answer = httpx.post(f"{sandbox.base_url}/oauth/authorize", data={**params, "decision": decision})
    assert answer.status_code == 400, (answer.status_code, answer.headers.get("location"))
    assert "location" not in answer.headers
    assert _token_error(answer) == "invalid_request"


def test_unknown_client_on_deny_does_not_redirect(sandbox: RunningSandbox) -> None:
    answer = httpx.post(
        f"{sandbox.base_url}/oauth/authorize",
        data={
            "client_id": "cli_doesnotexist",
            "redirect_uri": "https://evil.example/phish",
            "decision": "deny",
        },
    )
    assert answer.status_code == 400 and "location" not in answer.headers
    assert _token_error(answer) == "invalid_client"


def test_deny_redirects_with_access_denied(sandbox: RunningSandbox) -> None:
    with _client(sandbox, code_challenge_method="S256", redirect_uri=CALLBACK) as client:
        url, state = client.create_authorization_url(
            f"{sandbox.base_url}/oauth/authorize", code_verifier=generate_token(48), scope="pain:read"
        )
    answer = _approve(sandbox, url, decision="deny")
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [state]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"scope": "pain:read nonsense:read"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        (
            {
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "plain",
            },
            "invalid_request",
        ),
        ({"code_challenge": "short"}, "invalid_request"),
    ],
)
def test_authorization_errors_redirect_with_state(sandbox: RunningSandbox, params: dict, error: str) -> None:
    query = {
        "response_type": "code",
        "client_id": sandbox.alpha.client_id,
        "redirect_uri": CALLBACK,
        "state": "s-42",
        **params,
    }
    answer = httpx.get(f"{sandbox.base_url}/oauth/authorize", params=query)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    got = parse_qs(urlsplit(location).query)
    assert got["error"] == [error] and got["state"] == ["s-42"] and got["error_description"]


def test_consent_page_names_the_workspace_and_describes_scopes(sandbox: RunningSandbox) -> None:
    page = httpx.get(
        f"{sandbox.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.alpha.client_id,
            "redirect_uri": CALLBACK,
            "scope": "pain:read vitals:read",
        },
    )
    assert page.status_code == 200
    assert (
        sandbox.alpha.workspace.name in page.text
        and sandbox.alpha.client_id not in page.text.split("<form")[0]
    )
    assert "pain levels, body areas" in page.text and "heart rate" in page.text
    assert 'name="viewport"' in page.text


# --- public clients -----------------------------------------------------------------------------


def test_public_client_uses_pkce_without_a_secret(sandbox: RunningSandbox) -> None:
    repo = sandbox.services.workspaces
    client_id, secret = repo.add_client(sandbox.alpha.workspace.id, public=True)
    assert secret is None
    with OAuth2Client(
        client_id,
        None,
        token_endpoint_auth_method="none",
        base_url=sandbox.base_url,
        code_challenge_method="S256",
        redirect_uri=CALLBACK,
        timeout=30,
    ) as client:
        verifier, location, _ = _code_flow(sandbox, client, scope="pain:read")
        token = client.fetch_token("/oauth/token", authorization_response=location, code_verifier=verifier)
        assert token["scope"] == "pain:read"
        refreshed = client.refresh_token("/oauth/token", refresh_token=token["refresh_token"])
        assert refreshed["access_token"]
        with pytest.raises(OAuthError) as raised:
            client.fetch_token("/oauth/token", grant_type="client_credentials")
        assert raised.value.error == "unauthorized_client"
    no_pkce = httpx.get(
        f"{sandbox.base_url}/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "state": secrets.token_hex(4),
        },
    )
    assert no_pkce.status_code == 302 and "error=invalid_request" in no_pkce.headers["location"]
