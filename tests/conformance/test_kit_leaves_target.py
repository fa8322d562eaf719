"""The kit leaves a workspace as it found it, and `--read-only` sends nothing but safe methods.

A partner's staging workspace holds webhooks, consents, a pending link request and a moved test clock
before the kit runs; after a full default run all of them are exactly as they were. A read-only run goes
through a recording proxy that counts every method the target received.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.results import RunReport
from tests.conformance.faults import FaultProxy
from tests.conformance.kit_helpers import describe, run_kit
from tests.conformance.servers import serve
from tests.fixtures.sandbox import RunningSandbox, running_sandbox

SAFE = {"GET", "HEAD", "OPTIONS"}


async def accept_all(scope: Any, receive: Any, send: Any) -> None:
    """A partner's webhook endpoint that acknowledges everything (so no endpoint gets disabled)."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


class RecordingProxy(FaultProxy):
    """A transparent proxy that notes the method and path of every request the target receives."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, set())
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
        await super().__call__(scope, receive, send)


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("leave-target")) as running:
        yield running


def _all(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in range(1, 50):
        body = client.get(path, params={"page": page, "per_page": 100}).json()
        items += body["data"]
        if len(body["data"]) < 100:
            return items
    return items


def state(client: httpx.Client) -> dict[str, Any]:
    """What a partner would miss: webhooks, consents, link requests (by id) and the clock offset."""
    return {
        "webhooks": {hook["id"]: hook for hook in _all(client, "/v1/webhooks")},
        "consents": {p["id"]: p["consent"] for p in _all(client, "/v1/patients")},
        "link_requests": {lr["request_id"]: lr["status"] for lr in _all(client, "/v1/link-requests")},
        "clock_offset": client.get("/v1/sandbox/clock").json()["offset_seconds"],
    }


def prepare(client: httpx.Client, hook_url: str) -> None:
    """A lived-in workspace: two webhooks, a newly consented patient, a pending request, a moved clock."""
    for events in (["pain_entry.created", "consent.granted"], ["consent.revoked"]):
        made = client.post("/v1/webhooks", json={"url": hook_url, "events": events, "description": "partner"})
        assert made.status_code == 201, made.text
    for accept in (True, False):
        patient = client.post("/v1/sandbox/patients", json={"history_days": 3})
        assert patient.status_code == 201, patient.text
        link = client.post(
            "/v1/link-requests", json={"patient_email": patient.json()["email"], "scopes": ["pain:read"]}
        )
        assert link.status_code == 201, link.text
        if accept:
            answer = client.post(f"/v1/sandbox/link-requests/{link.json()['request_id']}/accept", json={})
            assert answer.status_code == 200, answer.text
    assert client.post("/v1/sandbox/clock/advance", json={"hours": 2}).status_code == 200


def kit(sandbox: RunningSandbox, base_url: str, **kwargs: Any) -> RunReport:
    return run_kit(
        base_url,
        sandbox.api_key,
        second_api_key=sandbox.second_api_key,
        webhook_timeout=5.0,
        **kwargs,
    )


def test_default_run_leaves_pre_existing_state_unchanged(own_sandbox: RunningSandbox) -> None:
    with serve(accept_all) as hooks, own_sandbox.client() as client:
        prepare(client, f"{hooks}/partner")
        before = state(client)
        assert len(before["webhooks"]) == 2 and before["clock_offset"] == 7200
        assert "pending" in before["link_requests"].values()
        report = kit(own_sandbox, own_sandbox.base_url)
        after = state(client)
    assert not report.kit_errors, report.kit_errors
    assert report.failures == [], describe(report)
    assert after["clock_offset"] == before["clock_offset"]
    assert {key: after["webhooks"].get(key) for key in before["webhooks"]} == before["webhooks"]
    assert {key: after["consents"].get(key) for key in before["consents"]} == before["consents"]
    assert {key: after["link_requests"].get(key) for key in before["link_requests"]} == before[
        "link_requests"
    ]
    # what the kit made itself is gone again where the contract allows it
    assert set(after["webhooks"]) == set(before["webhooks"])
    mine = set(after["link_requests"]) - set(before["link_requests"])
    assert "pending" not in {after["link_requests"][key] for key in mine}
    clock = next(r for r in report.results if r.check == "sandbox_clock")
    assert clock.outcome.value == "skipped" and "--allow-clock" in (clock.skip_reason or "")
    assert "POST /v1/sandbox/clock/advance" in report.deliberately_skipped


def test_read_only_run_sends_only_safe_methods(own_sandbox: RunningSandbox) -> None:
    recorder = RecordingProxy(own_sandbox.base_url)
    with serve(recorder) as url:
        report = kit(own_sandbox, url, read_only=True)
    assert not report.kit_errors, report.kit_errors
    methods = {method for method, _ in recorder.seen}
    writes = [(method, path) for method, path in recorder.seen if method not in SAFE]
    assert recorder.seen and writes == [], writes[:10]
    assert "GET" in methods
    skipped = {r.check: r.skip_reason for r in report.results if r.outcome.value == "skipped"}
    assert "--read-only" in (skipped.get("consent_lifecycle") or "")
    assert "--read-only" in (skipped.get("idempotent_replay") or "")
    assert report.deliberately_skipped["POST /v1/link-requests"].endswith("--read-only")
