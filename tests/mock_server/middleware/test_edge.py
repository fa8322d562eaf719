"""``middleware.edge`` on its own, around toy ASGI apps: the one error path and the common headers.

Why unit tests besides the HTTP ones: each refusal (405 with ``Allow``, HEAD without a body, 503 when
the database is away, 429) is one branch here, and a toy app raises exactly what the branch needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from mock_server.auth.principals import PrincipalResolver
from mock_server.context import Principal
from mock_server.middleware.edge import EdgeMiddleware, allowed_methods_from
from mock_server.middleware.rate_limit import MemoryRateLimiter

DOCUMENT: dict[str, Any] = {
    "paths": {
        "/v1/webhooks/{webhook_id}": {"get": {}, "delete": {}, "patch": {}, "parameters": []},
        "/v1/webhooks": {"get": {}, "post": {}},
        "/healthz": {"get": {}},
    }
}
KEY = "sk_test_edge"
PRINCIPAL = Principal("ws_1", frozenset({"pain:read"}), "key_1", "api_key", 2)


def raising(exc: BaseException) -> Callable[[Scope, Receive, Send], Any]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("hello")(scope, receive, send)


def client(
    app: Any, *, by_key: Callable[[str], Principal | None] | None = None, limit: int = 1000
) -> TestClient:
    resolver = PrincipalResolver(
        by_key or (lambda key: PRINCIPAL if key == KEY else None), lambda token: None
    )
    edge = EdgeMiddleware(
        app,
        resolver=resolver,
        limiter=MemoryRateLimiter(),
        default_limit=limit,
        allowed_methods=allowed_methods_from(DOCUMENT),
    )
    return TestClient(edge, raise_server_exceptions=False)


def assert_common_headers(headers: Any) -> None:
    assert headers["x-request-id"]
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert headers[name].isdigit(), name


def test_allow_lists_every_method_the_contract_has_for_the_path() -> None:
    allowed = allowed_methods_from(DOCUMENT)
    assert allowed("/v1/webhooks/wh_1") == ["DELETE", "GET", "HEAD", "PATCH"]
    assert allowed("/v1/webhooks") == ["GET", "HEAD", "POST"]
    assert allowed("/v1/webhooks/wh_1/extra") == []


def test_a_405_carries_allow_from_the_contract_and_the_envelope() -> None:
    resp = client(raising(HTTPException(405, headers={"Allow": "GET"}))).put("/v1/webhooks/wh_1")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "DELETE, GET, HEAD, PATCH"  # not only the first route's GET
    error = resp.json()["error"]
    assert error["code"] == "method_not_allowed" and error["details"] == {
        "allowed": "DELETE, GET, HEAD, PATCH"
    }
    assert error["request_id"] == resp.headers["x-request-id"]
    assert_common_headers(resp.headers)


def test_a_405_on_a_path_outside_the_contract_keeps_the_routers_allow() -> None:
    resp = client(raising(HTTPException(405, headers={"Allow": "GET"}))).put("/elsewhere")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET"


def test_head_gets_the_error_status_and_headers_without_a_body() -> None:
    resp = client(raising(HTTPException(404))).head("/v1/nothing")
    assert resp.status_code == 404 and resp.content == b""
    assert int(resp.headers["content-length"]) > 0  # the length of the body a GET would get
    assert_common_headers(resp.headers)


@pytest.mark.parametrize(
    "exc",
    [
        sa_exc.OperationalError("SELECT 1", {}, Exception("connection refused")),
        sa_exc.TimeoutError("QueuePool limit reached"),
    ],
)
def test_an_unavailable_database_is_a_503_with_retry_after(exc: BaseException) -> None:
    resp = client(raising(exc)).get("/v1/webhooks", headers={"X-API-Key": KEY})
    assert resp.status_code == 503 and resp.headers["retry-after"] == "1"
    assert resp.json()["error"]["code"] == "service_unavailable"


def test_a_database_outage_during_authentication_still_serves_public_operations() -> None:
    def down(key: str) -> Principal | None:
        raise sa_exc.OperationalError("SELECT", {}, Exception("down"))

    resp = client(hello, by_key=down).get("/healthz", headers={"X-API-Key": KEY})
    assert resp.status_code == 200 and resp.text == "hello"


def test_an_unexpected_error_is_a_500_without_its_message() -> None:
    resp = client(raising(RuntimeError("secret internals"))).get("/v1/webhooks")
    assert resp.status_code == 500 and "secret internals" not in resp.text
    assert resp.json()["error"]["code"] == "internal_error"


def test_the_rate_limit_refuses_with_one_consistent_wait() -> None:
    api = client(hello)
    for _ in range(PRINCIPAL.rate_limit_per_hour):
        assert api.get("/v1/webhooks", headers={"X-API-Key": KEY}).status_code == 200
    refused = api.get("/v1/webhooks", headers={"X-API-Key": KEY})
    assert refused.status_code == 429 and refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.json()["error"]["details"]["retry_after"] == int(refused.headers["retry-after"])


def test_a_well_formed_request_id_is_echoed_and_a_bad_one_replaced() -> None:
    api = client(hello)
    assert api.get("/healthz", headers={"X-Request-Id": "trace-42"}).headers["x-request-id"] == "trace-42"
    replaced = api.get("/healthz", headers={"X-Request-Id": "bad id with spaces"}).headers["x-request-id"]
    assert replaced.startswith("req_")
