"""Helpers for webhook tests that go through a running sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.fixtures.sandbox import RunningSandbox


@contextmanager
def subscribed(
    sandbox: RunningSandbox, url: str, events: list[str] | None = None, api_key: str | None = None
) -> Iterator[dict[str, Any]]:
    """An endpoint registered through the API for the duration of the block (then deleted)."""
    with sandbox.client(api_key) as client:
        resp = client.post("/v1/webhooks", json={"url": url, "events": events or ["pain_entry.created"]})
        assert resp.status_code == 201, resp.text
        endpoint = resp.json()
        try:
            yield endpoint
        finally:
            client.delete(f"/v1/webhooks/{endpoint['id']}")


def consented_patient(client: httpx.Client, scope: str = "pain:read") -> str:
    """A patient of the client's workspace whose active consent carries ``scope``."""
    resp = client.get("/v1/patients", params={"status": "active", "per_page": 100})
    assert resp.status_code == 200, resp.text
    for patient in resp.json()["data"]:
        if scope in patient["consent"]["scopes"]:
            return str(patient["id"])
    raise AssertionError(f"the seeded workspace has no patient consenting to {scope}")


def check_in(client: httpx.Client, patient_id: str, pain_level: int = 6) -> dict[str, Any]:
    resp = client.post(
        f"/v1/sandbox/patients/{patient_id}/pain-entries",
        json={
            "pain_level": pain_level,
            "areas": [{"id": "left_knee", "max_intensity": pain_level}],
            "qualities": ["burning"],
            "overall_wellbeing": 3.2,
        },
    )
    assert resp.status_code == 201, resp.text
    entry: dict[str, Any] = resp.json()
    return entry
