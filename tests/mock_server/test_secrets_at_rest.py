"""No secret or token is stored in plaintext anywhere (issue 12), on SQLite and PostgreSQL.

A full scenario issues every kind of secret the sandbox knows — API keys, client secrets, OAuth
codes, access and refresh tokens of every grant, webhook signing secrets and their rotations — with
idempotent replays of the secret-bearing requests; then every row of every table is searched for
every secret issued. Before the fix, the idempotency table held tokens and ``whsec_`` secrets, and
``webhook_endpoints`` held the signing secrets as issued.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from tests.fixtures.sandbox import RunningSandbox

CALLBACK = "http://127.0.0.1:8765/callback"


def _code_tokens(sandbox: RunningSandbox, issued: list[str]) -> dict:
    with OAuth2Client(
        sandbox.alpha.client_id,
        sandbox.alpha.client_secret,
        base_url=sandbox.base_url,
        code_challenge_method="S256",
        redirect_uri=CALLBACK,
        timeout=30,
    ) as client:
        verifier = generate_token(48)
        url, _ = client.create_authorization_url(
            f"{sandbox.base_url}/oauth/authorize", code_verifier=verifier, scope="patients:read pain:read"
        )
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} | {"decision": "approve"}
        keyed = {"Idempotency-Key": "approve-once", "X-API-Key": sandbox.api_key}  # the code is a secret too
        location = httpx.post(f"{sandbox.base_url}/oauth/authorize", data=form, headers=keyed).headers[
            "location"
        ]
        issued.append(parse_qs(urlsplit(location).query)["code"][0])
        token = client.fetch_token("/oauth/token", authorization_response=location, code_verifier=verifier)
        refreshed = client.refresh_token("/oauth/token", refresh_token=token["refresh_token"])
    issued += [
        token["access_token"],
        token["refresh_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
    ]
    return refreshed


def _scenario(sandbox: RunningSandbox) -> list[str]:
    repo = sandbox.services.workspaces
    issued = [
        sandbox.alpha.api_key,
        sandbox.beta.api_key,
        sandbox.alpha.client_secret,
        sandbox.beta.client_secret,
    ]
    issued.append(repo.add_api_key(sandbox.alpha.workspace.id, ("patients:read",)))
    _, public_none = repo.add_client(sandbox.alpha.workspace.id, public=True)
    assert public_none is None
    _, confidential = repo.add_client(sandbox.alpha.workspace.id)
    issued.append(confidential)

    token_url = f"{sandbox.base_url}/oauth/token"
    auth = (sandbox.alpha.client_id, sandbox.alpha.client_secret)
    # a token request with an Idempotency-Key (and an API key, so the gateway would key it): never stored
    keyed = {"Idempotency-Key": "token-once", "X-API-Key": sandbox.api_key}
    first = httpx.post(token_url, auth=auth, data={"grant_type": "client_credentials"}, headers=keyed)
    again = httpx.post(token_url, auth=auth, data={"grant_type": "client_credentials"}, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in again.headers
    assert first.json()["access_token"] != again.json()["access_token"]
    issued += [first.json()["access_token"], again.json()["access_token"]]
    _code_tokens(sandbox, issued)

    with sandbox.client(**{"Idempotency-Key": "hook-create"}) as client:
        body = {"url": "http://127.0.0.1:9/hooks", "events": ["consent.granted"]}
        created = client.post("/v1/webhooks", json=body)
        assert created.status_code == 201, created.text
        issued.append(created.json()["secret"])
        replay = client.post("/v1/webhooks", json=body)
        assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["id"] == created.json()["id"] and "secret" not in replay.json()
    hook = created.json()["id"]
    with sandbox.client(**{"Idempotency-Key": "hook-rotate"}) as client:
        rotated = client.post(f"/v1/webhooks/{hook}/rotate-secret", json={"grace_period_seconds": 3600})
        assert rotated.status_code == 200, rotated.text
        issued.append(rotated.json()["secret"])
        replay = client.post(f"/v1/webhooks/{hook}/rotate-secret", json={"grace_period_seconds": 3600})
        assert replay.headers["idempotent-replayed"] == "true" and "secret" not in replay.json()
    with sandbox.client() as client:
        issued.append(client.post(f"/v1/webhooks/{hook}/rotate-secret", json={}).json()["secret"])
    assert len(set(issued)) == len(issued) and all(len(s) >= 20 for s in issued)
    return issued


def _every_stored_text(storage) -> dict[str, str]:
    """table name → every value of every row, as text (binary columns decoded both ways)."""
    found: dict[str, str] = {}
    with storage.engine.connect() as conn:
        for table in sqlalchemy.inspect(conn).get_table_names():
            parts = []
            for row in conn.execute(sqlalchemy.text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        raw = bytes(value)
                        parts += [raw.decode("utf-8", "replace"), raw.decode("latin-1")]
                    else:
                        parts.append(str(value))
            found[table] = "\n".join(parts)
    return found


def test_no_secret_is_stored_in_plaintext(sandbox_factory, database_url: str) -> None:
    sandbox = sandbox_factory(database_url=database_url)
    issued = _scenario(sandbox)
    # the request log is written off the request path (on SQLite into a side file): flush it first, then
    # scan it too
    sandbox.services.request_log.close()
    stored = _every_stored_text(sandbox.services.storage)
    log_storage = sandbox.services.request_log_storage
    if log_storage is not sandbox.services.storage:
        stored.update({f"side:{t}": text for t, text in _every_stored_text(log_storage).items()})
    logged = stored.get("request_log", "") + stored.get("side:request_log", "")
    assert "/v1/webhooks" in logged  # the scan does see the logged requests
    assert {"idempotency_keys", "webhook_endpoints", "oauth_grants", "api_keys"} <= set(stored)
    assert "hook-create" in stored["idempotency_keys"]  # the scan does see the replay rows
    leaks = [
        (table, secret[:12] + "…") for secret in issued for table, text in stored.items() if secret in text
    ]
    assert leaks == []


def test_sealed_webhook_secrets_still_sign_deliveries(sandbox_factory, database_url: str) -> None:
    """Encryption at rest must not break signing: the dispatcher decrypts the secret it signs with,
    before and after a rotation (both signatures during the grace period)."""
    from standardwebhooks import Webhook

    from mock_server.webhooks.signing import verify_p2c
    from tests.mock_server.webhooks.receiver import running_receiver

    sandbox = sandbox_factory(database_url=database_url)
    with running_receiver() as receiver, sandbox.client() as client:
        created = client.post(
            "/v1/webhooks", json={"url": receiver.url, "events": ["consent.granted"]}
        ).json()
        assert client.post(f"/v1/webhooks/{created['id']}/test").status_code == 202
        first = receiver.wait_for(1)[0]
        rotated = client.post(f"/v1/webhooks/{created['id']}/rotate-secret", json={}).json()
        assert client.post(f"/v1/webhooks/{created['id']}/test").status_code == 202
        second = receiver.wait_for(2)[1]
    for delivery, secrets_ in (
        (first, [created["secret"]]),
        (second, [rotated["secret"], created["secret"]]),
    ):
        assert verify_p2c(secrets_[:1], delivery.body, delivery.headers["x-p2c-signature"])
        for secret in secrets_:
            Webhook(secret).verify(delivery.body, delivery.headers)
