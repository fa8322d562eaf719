"""Per-workspace quotas answer one clear 409 ``quota_exceeded`` naming the quota, before any write.

Driven over HTTP with the sandbox's real client path, with quotas set low in ``Settings``; every
refusal is validated against the contract's ``Error`` schema by the sandbox itself (response
validation is on) and checked here for the quota it names. The other workspace is unaffected.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.sandbox import RunningSandbox


def _refused(resp: httpx.Response, quota: str) -> dict[str, Any]:
    assert resp.status_code == 409, resp.text
    error = resp.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["quota"] == quota and quota in error["message"]
    assert error["request_id"] == resp.headers["x-request-id"]
    details: dict[str, Any] = error["details"]
    return details


def test_webhook_endpoints_quota(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box: RunningSandbox = sandbox_factory(quota_webhook_endpoints=2)
    hook = {"url": "http://127.0.0.1:9/hooks", "events": ["pain_entry.created"]}
    with box.client() as alpha, box.client(box.second_api_key) as beta:
        assert alpha.post("/v1/webhooks", json=hook).status_code == 201
        assert alpha.post("/v1/webhooks", json=hook).status_code == 201
        details = _refused(alpha.post("/v1/webhooks", json=hook), "webhook_endpoints")
        assert details == {"quota": "webhook_endpoints", "limit": 2, "current": 2, "requested": 1}
        assert beta.post("/v1/webhooks", json=hook).status_code == 201  # per workspace
        assert len(alpha.get("/v1/webhooks").json()["data"]) == 2  # nothing was written


def test_clock_range_quota(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box: RunningSandbox = sandbox_factory(quota_clock_days=10)
    with box.client() as alpha:
        assert alpha.post("/v1/sandbox/clock/advance", json={"days": 6}).status_code == 200
        details = _refused(alpha.post("/v1/sandbox/clock/advance", json={"days": 5}), "clock_days")
        assert details["limit"] == 10 and details["requested"] == 5
        assert alpha.get("/v1/sandbox/clock").json()["offset_seconds"] == 6 * 86_400  # unchanged
        assert alpha.post("/v1/sandbox/clock/advance", json={"days": 4}).status_code == 200


def test_records_quota_refuses_advances_patients_and_check_ins(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box: RunningSandbox = sandbox_factory(quota_records=1)  # the seeded data is already over it
    with box.client() as alpha:
        before = alpha.get("/v1/sandbox/clock").json()
        _refused(alpha.post("/v1/sandbox/clock/advance", json={"days": 1}), "records")
        assert alpha.get("/v1/sandbox/clock").json()["offset_seconds"] == before["offset_seconds"]
        _refused(alpha.post("/v1/sandbox/patients", json={"history_days": 5}), "records")
        patient = alpha.get("/v1/patients").json()["data"][0]["id"]  # a consented patient's anonymized id
        check_in = {"pain_level": 4, "areas": [{"id": "left_knee", "max_intensity": 4}]}
        _refused(alpha.post(f"/v1/sandbox/patients/{patient}/pain-entries", json=check_in), "records")
