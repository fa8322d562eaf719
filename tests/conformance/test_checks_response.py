"""Per-response checks: each fires on a crafted bad response and stays quiet on a good one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.response import (
    error_envelope,
    rate_limit_headers,
    request_id_header,
    retry_after_on_429,
)
from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange

GOOD_HEADERS = {
    "x-request-id": "req_1",
    "x-ratelimit-limit": "100",
    "x-ratelimit-remaining": "99",
    "x-ratelimit-reset": "60",
    "content-type": "application/json",
}


def exchange(status: int = 200, body: Any = None, path: str = "/v1/patients", **headers: str) -> Exchange:
    merged = {**GOOD_HEADERS, **{k.replace("_", "-"): v for k, v in headers.items()}}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange("GET", f"http://t{path}", status, merged, raw, operation=f"GET {path}")


def envelope(code: str = "not_found", request_id: str = "req_1", **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": "nope", "request_id": request_id, **extra}}


def test_error_envelope_quiet_on_success_and_on_good_errors() -> None:
    assert error_envelope(exchange(200, {"data": []})) is False
    assert error_envelope(exchange(404, envelope()), {"not_found"}) is True
    assert error_envelope(exchange(422, envelope("validation_error", details={"errors": []}))) is True


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"message": "nope"}, "with body"),
        (b"<html>500</html>", "with body"),
        ({"error": {"code": "not_found", "request_id": "req_1"}}, "error.message"),
        (envelope(details="oops"), "error.details"),
        (envelope(request_id="req_other"), "X-Request-Id"),
        (envelope("teapot"), "error.code"),
    ],
)
def test_error_envelope_fires(body: Any, fragment: str) -> None:
    with pytest.raises(ConformanceFailure) as info:
        error_envelope(exchange(404, body), {"not_found"})
    assert info.value.check == "error_envelope"
    assert fragment in info.value.message
    assert "Received:" in info.value.message and "Documented:" in info.value.message


def test_fhir_errors_are_operation_outcomes() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
    assert error_envelope(exchange(404, outcome, path="/fhir/r4/Patient/x")) is True
    with pytest.raises(ConformanceFailure, match="OperationOutcome"):
        error_envelope(exchange(404, envelope(), path="/fhir/r4/Patient/x"))
    with pytest.raises(ConformanceFailure):
        error_envelope(
            exchange(404, {"resourceType": "OperationOutcome", "issue": []}, path="/fhir/r4/Patient/x")
        )


def test_head_responses_have_no_body_to_judge() -> None:
    head = Exchange("HEAD", "http://t/v1/patients", 404, GOOD_HEADERS, b"")
    assert error_envelope(head) is False


def test_request_id_header() -> None:
    assert request_id_header(exchange()) is True
    with pytest.raises(ConformanceFailure, match="X-Request-Id"):
        request_id_header(exchange(x_request_id=""))


@pytest.mark.parametrize(
    "headers",
    [{"x_ratelimit_limit": "ten"}, {"x_ratelimit_remaining": "-1"}, {"x_ratelimit_remaining": "101"}],
)
def test_rate_limit_headers_fire(headers: dict[str, str]) -> None:
    with pytest.raises(ConformanceFailure) as info:
        rate_limit_headers(exchange(**headers))
    assert info.value.check == "rate_limit_headers"


def test_rate_limit_headers_missing() -> None:
    bare = Exchange("GET", "http://t/healthz", 200, {"x-request-id": "r"}, b"{}")
    with pytest.raises(ConformanceFailure, match="X-RateLimit-Limit"):
        rate_limit_headers(bare)


@given(limit=st.integers(0, 10**9), data=st.data())
def test_rate_limit_headers_accept_any_consistent_triple(limit: int, data: st.DataObject) -> None:
    remaining = data.draw(st.integers(0, limit))
    reset = data.draw(st.integers(0, 10**10))
    ok = exchange(
        x_ratelimit_limit=str(limit), x_ratelimit_remaining=str(remaining), x_ratelimit_reset=str(reset)
    )
    assert rate_limit_headers(ok) is True


def test_retry_after_on_429() -> None:
    assert retry_after_on_429(exchange(200)) is False
    assert retry_after_on_429(exchange(429, envelope("rate_limit_exceeded"), retry_after="30")) is True
    assert retry_after_on_429(exchange(429, envelope(), retry_after="Wed, 21 Oct 2026 07:28:00 GMT")) is True
    for bad in ("", "soon"):
        with pytest.raises(ConformanceFailure, match="Retry-After"):
            retry_after_on_429(exchange(429, envelope(), retry_after=bad))


# --- RFC 6749 section 5.2 bodies on the OAuth endpoints ------------------------------------------


def test_oauth_errors_judged_as_rfc6749_where_documented_so() -> None:
    good = exchange(
        400, {"error": "invalid_grant", "error_description": "the code was already used"}, path="/oauth/token"
    )
    assert error_envelope(good, rfc6749=True) is True
    challenged = exchange(401, {"error": "invalid_client"}, path="/oauth/token", www_authenticate="Basic")
    assert error_envelope(challenged, rfc6749=True) is True
    with pytest.raises(ConformanceFailure):  # the OAuth body is not the envelope elsewhere
        error_envelope(good)


@pytest.mark.parametrize(
    ("status", "body", "fragment"),
    [
        (400, envelope("invalid_grant"), "with body"),  # the project envelope where RFC 6749 is documented
        (400, {"error": 'invalid"grant'}, "error ="),
        (400, {"error": "invalid_grant", "error_description": "caf\u00e9"}, "error_description"),
        (401, {"error": "invalid_client"}, "WWW-Authenticate"),
    ],
)
def test_oauth_error_body_fires(status: int, body: Any, fragment: str) -> None:
    with pytest.raises(ConformanceFailure) as info:
        error_envelope(exchange(status, body, path="/oauth/token"), rfc6749=True)
    assert fragment in info.value.message and "RFC 6749" in info.value.message


def test_spec_finds_the_rfc6749_paths_by_shape() -> None:
    from pathlib import Path

    from conformance.spec import Spec

    paths = Spec.load(Path(__file__).resolve().parents[2] / "openapi.yaml").rfc6749_error_paths
    assert paths == {"/oauth/token", "/oauth/authorize"}
