"""The events API over real HTTP: the same ids as the deliveries, attempts per endpoint, filters,
workspace isolation, the scope, and 30-day retention on the sandbox clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from mock_server.storage.workspaces import WorkspaceRepo
from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.webhooks.receiver import running_receiver


def _free_patient(client: httpx.Client) -> dict[str, Any]:
    patients = client.get("/v1/sandbox/patients", params={"per_page": 100}).json()["data"]
    linked = {
        r["patient_email"] for r in client.get("/v1/link-requests", params={"per_page": 100}).json()["data"]
    }
    return next(p for p in patients[5:] if p["email"] not in linked)


def _grant(client: httpx.Client) -> str:
    """Link a fresh patient and accept; returns the anonymized patient id (fires consent.granted)."""
    patient = _free_patient(client)
    made = client.post("/v1/link-requests", json={"patient_email": patient["email"], "scopes": ["pain:read"]})
    assert made.status_code == 201, made.text
    accepted = client.post(f"/v1/sandbox/link-requests/{made.json()['request_id']}/accept")
    assert accepted.status_code == 200, accepted.text
    return str(accepted.json()["consent"]["patient_id"])


def _wait(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_events_carry_the_delivery_ids_and_attempts(sandbox: RunningSandbox) -> None:
    with running_receiver() as receiver, sandbox.client() as client:
        hook = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["consent.granted"]})
        assert hook.status_code == 201, hook.text
        patient_id = _grant(client)
        delivered = receiver.wait_for(1)[0]
        webhook_id = delivered.headers["webhook-id"]

        listed = client.get("/v1/events", params={"type": "consent.granted", "patient_id": patient_id})
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert [e["id"] for e in page["data"]] == [webhook_id]
        event = page["data"][0]
        assert event["payload"] == orjson.loads(delivered.body)  # the exact body the receiver got
        assert event["type"] == "consent.granted" and event["patient_id"] == patient_id

        def succeeded() -> dict[str, Any] | None:
            detail = client.get(f"/v1/events/{webhook_id}").json()
            ours = [d for d in detail["deliveries"] if d["webhook_id"] == hook.json()["id"]]
            # the attempt and the delivery's final status are recorded in one batch after the receiver
            # answered: wait for the status, not only for an attempt row
            return detail if ours and ours[0]["attempts"] and ours[0]["status"] != "delivering" else None

        detail = _wait(succeeded)
        assert detail, "the attempt was never recorded"
        (delivery,) = [d for d in detail["deliveries"] if d["webhook_id"] == hook.json()["id"]]
        assert delivery["url"] == receiver.url and delivery["status"] == "succeeded"
        assert delivery["attempts"][0]["status_code"] == 200 and delivery["attempts"][0]["attempt"] == 1
        client.delete(f"/v1/webhooks/{hook.json()['id']}")


def test_events_list_newest_first_filters_and_paging(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        first = _grant(client)
        time.sleep(1.1)  # timestamps have whole seconds; events within one second have no defined order
        second = _grant(client)
        page = client.get("/v1/events", params={"type": "consent.granted", "per_page": 100}).json()
        ids = [e["patient_id"] for e in page["data"]]
        assert ids.index(second) < ids.index(first)  # newest first
        stamps = [e["timestamp"] for e in page["data"]]
        assert stamps == sorted(stamps, reverse=True)
        assert {e["type"] for e in page["data"]} == {"consent.granted"}
        only = client.get("/v1/events", params={"patient_id": first}).json()
        assert only["data"] and {e["patient_id"] for e in only["data"]} == {first}

        today = datetime.now(UTC).date()
        same_day = client.get(
            "/v1/events", params={"patient_id": first, "from": str(today), "to": str(today)}
        )
        assert same_day.json()["pagination"]["total"] == only["pagination"]["total"]
        before = client.get("/v1/events", params={"patient_id": first, "to": str(today - timedelta(days=1))})
        assert before.json()["pagination"]["total"] == 0
        backwards = client.get(
            "/v1/events", params={"from": str(today), "to": str(today - timedelta(days=1))}
        )
        assert backwards.status_code == 400 and backwards.json()["error"]["code"] == "invalid_parameter"

        one = client.get("/v1/events", params={"per_page": 1, "page": 2}).json()
        assert one["pagination"] == {"total": one["pagination"]["total"], "page": 2, "per_page": 1}
        assert len(one["data"]) == 1
        bad = client.get("/v1/events", params={"type": "no.such_event"})
        assert bad.status_code == 400 and "request_id" in bad.json()["error"]


def test_another_workspace_sees_none_of_the_events(sandbox: RunningSandbox) -> None:
    with sandbox.client() as alpha, sandbox.client(sandbox.second_api_key) as beta:
        patient_id = _grant(alpha)
        event_id = alpha.get("/v1/events", params={"patient_id": patient_id}).json()["data"][0]["id"]
        missing = beta.get(f"/v1/events/{event_id}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert beta.get("/v1/events", params={"patient_id": patient_id}).json()["pagination"]["total"] == 0
        assert event_id not in {
            e["id"] for e in beta.get("/v1/events", params={"per_page": 100}).json()["data"]
        }


def test_events_need_the_events_read_scope(sandbox: RunningSandbox) -> None:
    repo: WorkspaceRepo = sandbox.services.workspaces
    narrow = repo.add_api_key(sandbox.alpha.workspace.id, ("webhooks:manage", "patients:read"))
    with sandbox.client(narrow) as client:
        refused = client.get("/v1/events")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"
    with sandbox.client() as client:  # workspace keys hold it
        assert client.get("/v1/events").status_code == 200
    metadata = httpx.get(f"{sandbox.base_url}/.well-known/oauth-authorization-server").json()
    assert {"events:read", "sandbox:manage"} <= set(metadata["scopes_supported"])


def test_events_are_kept_thirty_days_on_the_sandbox_clock(sandbox_factory: Any) -> None:
    fresh: RunningSandbox = sandbox_factory()
    with fresh.client() as client:
        patient_id = _grant(client)
        event_id = client.get("/v1/events", params={"patient_id": patient_id}).json()["data"][0]["id"]
        assert client.post("/v1/sandbox/clock/advance", json={"days": 29}).status_code == 200
        assert client.get(f"/v1/events/{event_id}").status_code == 200  # 29 days: still kept
        assert client.post("/v1/sandbox/clock/advance", json={"days": 2}).status_code == 200
        gone = client.get(f"/v1/events/{event_id}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
        listed = client.get("/v1/events", params={"patient_id": patient_id, "type": "consent.granted"}).json()
        assert listed["pagination"]["total"] == 0
