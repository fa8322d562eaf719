"""Small helpers shared by webhook tests: subscribe an endpoint, emit an event, read the queue."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from mock_server.secretbox import SecretBox
from mock_server.settings import Settings
from mock_server.storage import Storage, schema
from mock_server.timeutil import iso, utcnow
from mock_server.webhooks import subscriptions
from mock_server.webhooks.outbox import emit_event

PAIN_ENTRY: dict[str, Any] = {
    "id": "pe_0001",
    "pain_level": 6,
    "areas": [{"id": "left_knee", "max_intensity": 6}],
    "qualities": ["burning", "throbbing"],
    "overall_wellbeing": 3.2,
    "vitals": {"source": "polar", "metrics": {"hrv": 42, "sleep_duration": 7.1, "resting_heart_rate": 61}},
    "notes": None,
    "logged_at": "2026-05-04T09:00:00Z",
}


def sealing_box(settings: Settings | None = None) -> SecretBox:
    """The box the dispatcher under ``settings`` (default: the tests' defaults) seals and opens with."""
    settings = settings or Settings()
    return SecretBox.from_settings(settings.secrets_key, settings.secrets_key_file)


def subscribe(
    storage: Storage,
    url: str,
    events: list[str] | None = None,
    workspace_id: str = "ws_test",
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Subscribe ``url``; its secret is sealed with the key the dispatcher under ``settings`` opens it with."""
    box = sealing_box(settings)
    with storage.engine.begin() as conn:
        return subscriptions.create_endpoint(
            conn,
            workspace_id=workspace_id,
            url=url,
            events=events or ["*"],
            description="test receiver",
            box=box,
        )


def emit(
    storage: Storage,
    event_type: str = "pain_entry.created",
    data: dict[str, Any] | None = None,
    workspace_id: str = "ws_test",
    patient_id: str | None = "p2c_anon_0123456789",
) -> str:
    with storage.engine.begin() as conn:
        return emit_event(
            conn,
            workspace_id=workspace_id,
            event_type=event_type,
            patient_id=patient_id,
            data=PAIN_ENTRY if data is None else data,
            timestamp=iso(utcnow()),
        )


def deliveries(storage: Storage) -> list[Any]:
    with storage.engine.connect() as conn:
        return list(conn.execute(select(schema.deliveries)).all())


def attempts(storage: Storage, delivery_id: str | None = None) -> list[Any]:
    query = select(schema.delivery_attempts).order_by(schema.delivery_attempts.c.attempt)
    if delivery_id is not None:
        query = query.where(schema.delivery_attempts.c.delivery_id == delivery_id)
    with storage.engine.connect() as conn:
        return list(conn.execute(query).all())


def endpoint_row(storage: Storage, endpoint_id: str) -> Any:
    with storage.engine.connect() as conn:
        return conn.execute(
            select(schema.webhook_endpoints).where(schema.webhook_endpoints.c.id == endpoint_id)
        ).one()


def wait_until(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def settled(storage: Storage) -> bool:
    """No delivery is waiting or in flight."""
    return all(d.status not in ("pending", "delivering") for d in deliveries(storage))
