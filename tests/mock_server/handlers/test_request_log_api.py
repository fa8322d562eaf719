"""The request log over real HTTP: what was sent and answered, redaction, filters, isolation, bounds."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from mock_server.storage.request_log import RequestLogRepo
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.webhooks.outbox import precise_iso
from tests.fixtures.sandbox import RunningSandbox


def _logged(client: httpx.Client, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The log's entry for ``request_id``, once the background writer has stored it."""
    deadline = time.monotonic() + timeout
    while True:
        found = client.get(f"/v1/sandbox/requests/{request_id}")
        if found.status_code == 200:
            return dict(found.json())
        assert found.status_code == 404, found.text
        if time.monotonic() > deadline:
            raise AssertionError(f"{request_id} never appeared in the request log")
        time.sleep(0.05)


def _rid() -> str:
    return f"req_test_{secrets.token_hex(8)}"


def test_a_read_of_the_log_shows_every_request_answered_before_it(sandbox: RunningSandbox) -> None:
    """No polling: the log's reads wait for its writer, so two pages of one listing agree on the total."""
    with sandbox.client() as client:
        for _ in range(3):
            rid = _rid()
            assert client.get("/v1/patients", headers={"X-Request-Id": rid}).status_code == 200
            assert client.get(f"/v1/sandbox/requests/{rid}").status_code == 200  # at once, not eventually
        totals = {
            client.get("/v1/sandbox/requests", params={"page": page, "per_page": 1}).json()["pagination"][
                "total"
            ]
            for page in (1, 2, 3)
        }
        assert len(totals) == 1


def test_a_failed_call_is_logged_with_its_error_code(sandbox: RunningSandbox) -> None:
    rid = _rid()
    with sandbox.client() as client:
        refused = client.post(
            "/v1/link-requests", json={"scopes": ["pain:read"]}, headers={"X-Request-Id": rid}
        )
        assert refused.status_code in (400, 422)
        entry = _logged(client, rid)
        assert entry["method"] == "POST" and entry["path"] == "/v1/link-requests"
        assert entry["operation_id"] == "link_requests.create"
        assert entry["status"] == refused.status_code
        assert entry["error_code"] == refused.json()["error"]["code"]
        assert entry["credential"]["kind"] == "api_key" and entry["credential"]["id"].startswith("key_")
        assert entry["duration_ms"] >= 0
        assert orjson.loads(entry["request_body"]) == {"scopes": ["pain:read"]}
        assert orjson.loads(entry["response_body"]) == refused.json()
        assert entry["request_headers"]["x-request-id"] == rid
        assert entry["response_headers"]["content-type"].startswith("application/json")

        listed = client.get("/v1/sandbox/requests", params={"status": "4xx", "per_page": 100}).json()
        assert rid in {e["request_id"] for e in listed["data"]}
        assert all(400 <= e["status"] < 500 for e in listed["data"])
        stamps = [e["created_at"] for e in listed["data"]]
        assert stamps == sorted(stamps, reverse=True)  # newest first


def test_secrets_and_tokens_never_reach_the_log(sandbox: RunningSandbox) -> None:
    token_reply = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.alpha.client_id,
            "client_secret": sandbox.alpha.client_secret,
        },
    )
    assert token_reply.status_code == 200, token_reply.text
    token = token_reply.json()["access_token"]
    rids = [_rid() for _ in range(5)]
    with httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {token}"}) as bearer:
        assert bearer.get("/v1/patients", headers={"X-Request-Id": rids[0]}).status_code == 200
    with sandbox.client() as client:
        hook = client.post(
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9/hooks", "events": ["consent.granted"]},
            headers={"X-Request-Id": rids[1]},
        )
        assert hook.status_code == 201
        whsec = hook.json()["secret"]
        rotated = client.post(
            f"/v1/webhooks/{hook.json()['id']}/rotate-secret", headers={"X-Request-Id": rids[2]}
        )
        new_whsec = rotated.json()["secret"]
        # secrets echoed in a body the client sent, and the key itself in a query string
        echoed = client.post(
            "/v1/link-requests",
            json={
                "patient_email": "a@example.com",
                "scopes": ["pain:read"],
                "client_secret": sandbox.alpha.client_secret,
                "message": f"{token} {whsec}",
            },
            headers={"X-Request-Id": rids[3]},
        )
        assert echoed.status_code in (400, 422)
        client.get("/v1/patients", params={"api_key": sandbox.api_key}, headers={"X-Request-Id": rids[4]})
        entries = [_logged(client, rid) for rid in rids]
        everything = orjson.dumps(
            [entries, client.get("/v1/sandbox/requests", params={"per_page": 100}).json()]
        ).decode()
        client.delete(f"/v1/webhooks/{hook.json()['id']}")
    for secret in (token, sandbox.api_key, sandbox.alpha.client_secret, whsec, new_whsec):
        assert secret not in everything
    assert entries[0]["credential"] == {"kind": "oauth", "id": sandbox.alpha.client_id}
    assert entries[0]["request_headers"]["authorization"] == "[REDACTED]"
    assert entries[1]["request_headers"]["x-api-key"] == "[REDACTED]"
    assert orjson.loads(entries[1]["response_body"])["secret"] == "[REDACTED]"
    assert orjson.loads(entries[1]["response_body"])["url"] == "http://127.0.0.1:9/hooks"  # the rest kept
    assert orjson.loads(entries[3]["request_body"])["client_secret"] == "[REDACTED]"
    assert entries[4]["query"] == "api_key=[REDACTED]"


def test_another_workspace_sees_none_of_the_log(sandbox: RunningSandbox) -> None:
    rid = _rid()
    with sandbox.client() as alpha, sandbox.client(sandbox.second_api_key) as beta:
        alpha.get("/v1/patients", headers={"X-Request-Id": rid})
        _logged(alpha, rid)
        assert beta.get(f"/v1/sandbox/requests/{rid}").status_code == 404
        seen = beta.get("/v1/sandbox/requests", params={"per_page": 100}).json()["data"]
        assert rid not in {e["request_id"] for e in seen}
        keys = {e["credential"]["id"] for e in seen}
        assert not keys & {e["credential"]["id"] for e in alpha.get("/v1/sandbox/requests").json()["data"]}


def test_filters_by_status_operation_error_code_and_date(sandbox: RunningSandbox) -> None:
    missing, fine = _rid(), _rid()
    with sandbox.client() as client:
        client.get("/v1/patients/p2c_anon_doesnotexist00", headers={"X-Request-Id": missing})
        client.get("/v1/patients", headers={"X-Request-Id": fine})
        _logged(client, missing), _logged(client, fine)

        def ids(**params: Any) -> set[str]:
            reply = client.get("/v1/sandbox/requests", params={"per_page": 100, **params})
            assert reply.status_code == 200, reply.text
            return {e["request_id"] for e in reply.json()["data"]}

        assert missing in ids(status="404") and fine not in ids(status="404")
        assert fine in ids(status="2xx") and missing not in ids(status="2xx")
        assert fine in ids(operation="patients.search") and missing not in ids(operation="patients.search")
        assert missing in ids(error_code="not_found") and fine not in ids(error_code="not_found")
        today = datetime.now(UTC).date()
        assert {missing, fine} <= ids(**{"from": str(today), "to": str(today)})
        assert not ids(**{"from": str(today + timedelta(days=1))}) & {missing, fine}
        bad = client.get("/v1/sandbox/requests", params={"status": "99"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] in (
            "validation_error",
            "invalid_parameter",
        )
        # reads of the log are not logged (the console polls it)
        assert not {e["operation_id"] for e in client.get("/v1/sandbox/requests").json()["data"]} & {
            "sandbox_requests.search",
            "sandbox_requests.get",
        }


def test_the_log_needs_sandbox_manage(sandbox: RunningSandbox) -> None:
    repo: WorkspaceRepo = sandbox.services.workspaces
    narrow = repo.add_api_key(sandbox.alpha.workspace.id, ("patients:read", "events:read"))
    with sandbox.client(narrow) as client:
        refused = client.get("/v1/sandbox/requests")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"


def test_bodies_are_bounded_and_the_log_keeps_the_newest(sandbox_factory: Any) -> None:
    fresh: RunningSandbox = sandbox_factory(request_log_keep=5, request_log_body_bytes=1024)
    with fresh.client() as client:
        big = _rid()
        client.post(
            "/v1/link-requests",
            json={"patient_email": "x@example.com", "scopes": ["pain:read"], "message": "é" * 3000},
            headers={"X-Request-Id": big},
        )
        entry = _logged(client, big)
        assert entry["request_body_truncated"] is True and len(entry["request_body"].encode()) <= 1024
        rids = [_rid() for _ in range(8)]
        for rid in rids:
            client.get("/v1/patients", headers={"X-Request-Id": rid})
        _logged(client, rids[-1])
        deadline = time.monotonic() + 10
        while True:
            page = client.get("/v1/sandbox/requests", params={"per_page": 100}).json()
            if page["pagination"]["total"] <= 5 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert page["pagination"]["total"] == 5
        assert [e["request_id"] for e in page["data"]] == rids[::-1][:5]


def test_entries_older_than_the_retention_are_dropped(sandbox_factory: Any) -> None:
    fresh: RunningSandbox = sandbox_factory(request_log_retention_days=7)
    old_moment = precise_iso(datetime.now(UTC) - timedelta(days=8))
    RequestLogRepo(fresh.services.request_log_storage).insert_many(
        [
            {
                "id": "rql_" + "0" * 20,
                "workspace_id": fresh.alpha.workspace.id,
                "request_id": "req_ancient",
                "method": "GET",
                "path": "/v1/patients",
                "query": None,
                "operation_id": "patients.search",
                "status": 200,
                "error_code": None,
                "duration_ms": 1.0,
                "credential_kind": "api_key",
                "credential_id": "key_x",
                "request_headers": "{}",
                "request_body_ref": None,
                "request_truncated": False,
                "response_headers": "{}",
                "response_body_ref": None,
                "response_truncated": False,
                "created_at": old_moment,
            },
        ]
    )
    with fresh.client() as client:
        assert (
            client.get("/v1/sandbox/requests/req_ancient").status_code == 200
        )  # stored, until a write trims
        rid = _rid()
        client.get("/v1/patients", headers={"X-Request-Id": rid})
        _logged(client, rid)
        assert client.get("/v1/sandbox/requests/req_ancient").status_code == 404
