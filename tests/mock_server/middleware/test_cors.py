"""CORS: a browser app on another origin can call the sandbox and read the headers it needs."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.middleware.cors import EXPOSED_HEADERS, parse_origins
from tests.fixtures.sandbox import RunningSandbox

ORIGIN = "http://localhost:3000"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "x-api-key, content-type, idempotency-key",
}
# one concrete path per kind of route: data, sandbox control, OAuth, FHIR, operations, unknown
PATHS = [
    "/v1/patients",
    "/v1/sandbox/reset",
    "/oauth/token",
    "/fhir/r4/metadata",
    "/healthz",
    "/no/such/path",
    "/v1/webhooks/wh_x/test",
]


def test_preflight_is_answered_on_every_path(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        for path in PATHS:
            resp = client.options(path, headers=PREFLIGHT)
            assert resp.status_code == 200, (path, resp.status_code, resp.text)
            assert resp.headers["access-control-allow-origin"] == "*"
            assert "POST" in resp.headers["access-control-allow-methods"]
            allowed = resp.headers["access-control-allow-headers"].lower()
            assert {"x-api-key", "content-type", "idempotency-key"} <= {h.strip() for h in allowed.split(",")}


def test_responses_and_errors_expose_the_api_headers(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers={"Origin": ORIGIN}) as client:
        ok = client.get("/v1/patients", headers={"X-API-Key": sandbox.api_key})
        unauthorized = client.get("/v1/patients")
        missing = client.get("/no/such/path")
    for resp, status in ((ok, 200), (unauthorized, 401), (missing, 404)):
        assert resp.status_code == status
        assert resp.headers["access-control-allow-origin"] == "*"
        exposed = {h.strip().lower() for h in resp.headers["access-control-expose-headers"].split(",")}
        assert {
            "x-request-id",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after",
            "location",
        } <= exposed
        assert resp.headers["x-request-id"]


def test_a_plain_options_without_preflight_headers_is_still_405(sandbox: RunningSandbox) -> None:
    resp = httpx.options(f"{sandbox.base_url}/v1/patients")
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "method_not_allowed"


def test_cors_origins_list_and_off(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    listed = sandbox_factory(cors_origins="http://localhost:3000, https://app.example")
    resp = httpx.options(f"{listed.base_url}/v1/patients", headers=PREFLIGHT)
    assert resp.status_code == 200 and resp.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.options(
        f"{listed.base_url}/v1/patients", headers={**PREFLIGHT, "Origin": "https://evil.example"}
    )
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    off = sandbox_factory(cors_origins="")
    resp = httpx.options(f"{off.base_url}/v1/patients", headers=PREFLIGHT)
    assert resp.status_code == 405 and "access-control-allow-origin" not in resp.headers
    resp = httpx.get(f"{off.base_url}/healthz", headers={"Origin": ORIGIN})
    assert resp.status_code == 200 and "access-control-allow-origin" not in resp.headers


def test_exposed_headers_name_every_header_the_contract_promises() -> None:
    assert {"X-Request-Id", "Retry-After", "Location"} <= set(EXPOSED_HEADERS)
    assert {h for h in EXPOSED_HEADERS if h.startswith("X-RateLimit-")} == {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.from_regex(r"https?://[a-z0-9.]{1,20}(:[0-9]{1,5})?", fullmatch=True), max_size=5),
    st.sampled_from([",", ", ", " , "]),
)
def test_parse_origins_round_trips_any_list(origins: list[str], separator: str) -> None:
    assert parse_origins(separator.join(origins)) == tuple(origins)
    assert parse_origins("") == () and parse_origins(" , ") == ()
