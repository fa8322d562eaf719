"""The subscriptions API over HTTP: shapes, workspace isolation, validation, test events, rotation,
the delivery log and redelivery — against a running sandbox and a real local receiver."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
import pytest
from standardwebhooks import Webhook

from tests.fixtures.sandbox import RunningSandbox

from .helpers import wait_until
from .receiver import Reply, running_receiver
from .sandbox_helpers import check_in, consented_patient, subscribed
from .schemas import assert_valid_component, assert_valid_event


def test_endpoint_lifecycle(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        resp = client.post(
            "/v1/webhooks",
            json={
                "url": "http://127.0.0.1:9/hooks",
                "events": ["consent.granted", "consent.granted", "pain_entry.created"][1:],
                "description": "dashboard",
            },
        )
        assert resp.status_code == 201, resp.text
        created = resp.json()
        assert_valid_component("WebhookEndpoint", created)
        assert created["secret"].startswith("whsec_") and created["enabled"] is True
        assert created["events"] == ["consent.granted", "pain_entry.created"]
        endpoint_id = created["id"]

        fetched = client.get(f"/v1/webhooks/{endpoint_id}").json()
        assert "secret" not in fetched and fetched["url"] == "http://127.0.0.1:9/hooks"
        listed = client.get("/v1/webhooks", params={"per_page": 100}).json()
        assert endpoint_id in [e["id"] for e in listed["data"]]
        assert listed["pagination"]["per_page"] == 100
        assert all("secret" not in e for e in listed["data"])

        patched = client.patch(f"/v1/webhooks/{endpoint_id}", json={"enabled": False, "description": None})
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (body["enabled"], body["disabled_reason"], body["description"]) == (
            False,
            "disabled by partner",
            None,
        )
        assert client.post(f"/v1/webhooks/{endpoint_id}/test").status_code == 409
        body = client.patch(f"/v1/webhooks/{endpoint_id}", json={"enabled": True}).json()
        assert (body["enabled"], body["disabled_reason"]) == (True, None)

        assert client.delete(f"/v1/webhooks/{endpoint_id}").status_code == 204
        gone = client.get(f"/v1/webhooks/{endpoint_id}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


def test_another_workspace_sees_nothing(sandbox: RunningSandbox) -> None:
    with (
        subscribed(sandbox, "http://127.0.0.1:9/hooks") as endpoint,
        sandbox.client(sandbox.second_api_key) as other,
    ):
        base = f"/v1/webhooks/{endpoint['id']}"
        calls = [
            ("GET", base, None),
            ("PATCH", base, {"enabled": False}),
            ("DELETE", base, None),
            ("POST", f"{base}/test", None),
            ("POST", f"{base}/rotate-secret", {}),
            ("GET", f"{base}/deliveries", None),
            ("POST", f"{base}/deliveries/dlv_000000000000000000000000/redeliver", None),
        ]
        for method, path, body in calls:
            resp = other.request(method, path, json=body)
            assert resp.status_code == 404, (method, path, resp.text)
            assert resp.json()["error"]["code"] == "not_found"
        assert endpoint["id"] not in [e["id"] for e in other.get("/v1/webhooks").json()["data"]]
    with sandbox.client() as client:
        assert client.get(f"/v1/webhooks/{endpoint['id']}").status_code == 404  # and it was really deleted


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"url": "ftp://partner.example/hooks", "events": ["consent.granted"]}, {400, 422}),
        ({"url": "https://partner.example/hooks", "events": ["consent.exploded"]}, {400, 422}),
        ({"url": "https://partner.example/hooks", "events": []}, {400, 422}),
        ({"url": "http://169.254.169.254/latest", "events": ["consent.granted"]}, {400}),
    ],
)
def test_invalid_subscriptions_are_refused_in_the_envelope(
    sandbox: RunningSandbox, body: dict[str, Any], status: set[int]
) -> None:
    with sandbox.client() as client:
        resp = client.post("/v1/webhooks", json=body)
    assert resp.status_code in status, resp.text
    error = resp.json()["error"]
    assert error["code"] in {"validation_error", "unprocessable_entity"} and error["request_id"]


def test_strict_mode_refuses_private_targets_at_subscription(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    strict = sandbox_factory(webhook_allow_private_targets=False)
    with strict.client() as client:
        resp = client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:8000/hooks", "events": ["consent.granted"]}
        )
        assert resp.status_code == 400, resp.text
        error = resp.json()["error"]
        assert error["code"] == "validation_error"
        assert error["details"]["reason"] == "loopback_address" and error["details"]["field"] == "url"
        resp = client.post(
            "/v1/webhooks", json={"url": "http://localhost:8000/hooks", "events": ["consent.granted"]}
        )
        assert resp.status_code == 400 and resp.json()["error"]["details"]["reason"] == "loopback_address"


def test_send_test_reaches_only_that_endpoint_and_verifies(sandbox: RunningSandbox) -> None:
    with (
        running_receiver() as rx,
        running_receiver() as bystander,
        subscribed(sandbox, rx.url, ["consent.revoked"]) as endpoint,
        subscribed(sandbox, bystander.url, ["consent.revoked"]),
        sandbox.client() as client,
    ):
        resp = client.post(f"/v1/webhooks/{endpoint['id']}/test")
        assert resp.status_code == 202, resp.text
        scheduled = resp.json()
        assert_valid_component("DeliveryScheduled", scheduled)
        (got,) = rx.wait_for(1)
        payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
        assert payload["event"] == "webhook.test" and payload["id"] == scheduled["event_id"]
        assert got.headers["webhook-id"] == scheduled["event_id"]
        assert_valid_event(payload)
        assert bystander.requests == []


def test_rotation_signs_with_both_secrets_during_the_grace_period(sandbox: RunningSandbox) -> None:
    with running_receiver() as rx, subscribed(sandbox, rx.url) as endpoint, sandbox.client() as client:
        resp = client.post(
            f"/v1/webhooks/{endpoint['id']}/rotate-secret", json={"grace_period_seconds": 3600}
        )
        assert resp.status_code == 200, resp.text
        rotated = resp.json()
        assert_valid_component("SecretRotation", rotated)
        assert rotated["secret"] != endpoint["secret"]
        client.post(f"/v1/webhooks/{endpoint['id']}/test")
        (got,) = rx.wait_for(1)
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        Webhook(endpoint["secret"]).verify(got.body, got.headers)
        Webhook(rotated["secret"]).verify(got.body, got.headers)
        expected = hmac.new(rotated["secret"].encode(), got.body, hashlib.sha256).hexdigest()
        assert got.headers["x-p2c-signature"] == f"sha256={expected}"
        # rotating without a grace period drops the old secret at once
        again = client.post(
            f"/v1/webhooks/{endpoint['id']}/rotate-secret", json={"grace_period_seconds": 0}
        ).json()
        client.post(f"/v1/webhooks/{endpoint['id']}/test")
        rx.wait_for(2)
        assert len(rx.requests[1].headers["webhook-signature"].split(" ")) == 1
        Webhook(again["secret"]).verify(rx.requests[1].body, rx.requests[1].headers)


def test_two_failures_then_success_show_in_the_delivery_log(sandbox: RunningSandbox) -> None:
    script = [Reply(500, b"database down"), Reply(500, b"still down"), Reply(200, b"thanks")]
    with running_receiver(script) as rx, subscribed(sandbox, rx.url) as endpoint, sandbox.client() as client:
        entry = check_in(client, consented_patient(client))
        got = rx.wait_for(3)
        assert len({r.headers["webhook-id"] for r in got}) == 1
        assert orjson.loads(got[-1].body)["data"]["id"] == entry["id"]

        def logged() -> list[dict[str, Any]]:
            resp = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries")
            assert resp.status_code == 200, resp.text
            return list(resp.json()["data"])

        wait_until(
            lambda: len(logged()) == 3 and logged()[0]["status"] == "succeeded", what="three logged attempts"
        )
        log = logged()
        for item in log:
            assert_valid_component("WebhookDelivery", item)
        assert [(d["attempt"], d["status"], d["status_code"]) for d in log] == [
            (3, "succeeded", 200),
            (2, "failed", 500),
            (1, "failed", 500),
        ]
        assert {d["event_id"] for d in log} == {got[0].headers["webhook-id"]}
        assert {d["id"] for d in log} == {log[0]["id"]} and log[0]["webhook_id"] == endpoint["id"]
        assert log[2]["response_snippet"] == "database down" and log[2]["next_retry_at"] is not None
        assert log[0]["next_retry_at"] is None and log[0]["latency_ms"] >= 0
        failed = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries", params={"status": "failed"}).json()
        assert failed["pagination"]["total"] == 2

        resp = client.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{log[0]['id']}/redeliver")
        assert resp.status_code == 202, resp.text
        again = resp.json()
        assert again["event_id"] == log[0]["event_id"] and again["delivery_id"] != log[0]["id"]
        rx.wait_for(4)
        assert rx.requests[3].headers["webhook-id"] == log[0]["event_id"]  # same id: the receiver can dedupe
        missing = client.post(
            f"/v1/webhooks/{endpoint['id']}/deliveries/dlv_000000000000000000000000/redeliver"
        )
        assert missing.status_code == 404
