"""The transactional outbox: record an event, and its pending deliveries, inside the caller's
transaction.

Why: the event row commits or rolls back together with the data change that caused it, so a crash
can never leave a consent granted without its ``consent.granted`` event, or an event for a change that
never happened. The dispatcher later reads ``deliveries`` and does the network work.

After committing, callers call ``req.services.wake_dispatcher()`` so the in-process dispatcher starts
at once instead of at its next poll. On PostgreSQL the event also raises a ``NOTIFY`` (sent by the
database at commit, dropped on rollback), which wakes ``care-sandbox worker`` processes elsewhere.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select, text

from mock_server.storage import schema
from mock_server.timeutil import iso
from mock_server.webhooks.event_types import EVENT_TYPES, WILDCARD

__all__ = ["EVENT_TYPES", "NOTIFY_CHANNEL", "WILDCARD", "emit_event", "new_id", "now_precise", "precise_iso"]

NOTIFY_CHANNEL = "care_sandbox_webhooks"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def precise_iso(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``: the fixed-width, millisecond form of queue times.

    ``deliveries.next_attempt_at`` and ``locked_until`` use it (and only it), so that sub-second retry
    schedules and leases work while text order still equals time order. Served timestamps keep the
    whole-second form of ``timeutil.iso``.
    """
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_precise() -> datetime:
    return datetime.now(UTC)


def emit_event(
    conn: Connection,
    *,
    workspace_id: str,
    event_type: str,
    patient_id: str | None,
    data: dict[str, Any],
    timestamp: str,
    only_endpoint_id: str | None = None,
) -> str:
    """Insert the event and one pending delivery per subscribed, enabled endpoint; returns its id.

    ``timestamp`` is the workspace's (test-clock) time of the change; delivery scheduling uses the
    real clock, because receivers judge ``webhook-timestamp`` against their own. ``only_endpoint_id``
    targets one endpoint whatever it subscribes to (``POST /v1/webhooks/{id}/test``).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    event_id = new_id("evt")
    payload = orjson.dumps(
        {"id": event_id, "event": event_type, "patient_id": patient_id, "timestamp": timestamp, "data": data}
    ).decode()
    moment = now_precise()
    now, due = iso(moment), precise_iso(moment)
    conn.execute(
        schema.events.insert().values(
            id=event_id,
            workspace_id=workspace_id,
            type=event_type,
            patient_id=patient_id,
            payload=payload,
            created_at=now,
            occurred_at=timestamp,
        )
    )
    endpoints = schema.webhook_endpoints
    query = select(endpoints.c.id, endpoints.c.events).where(
        endpoints.c.workspace_id == workspace_id, endpoints.c.enabled.is_(True)
    )
    if only_endpoint_id is not None:
        query = query.where(endpoints.c.id == only_endpoint_id)
    rows = [
        {
            "id": new_id("dlv"),
            "event_id": event_id,
            "endpoint_id": endpoint_id,
            "workspace_id": workspace_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": now,
            "updated_at": now,
        }
        for endpoint_id, events_json in conn.execute(query).all()
        if only_endpoint_id is not None or _subscribed(orjson.loads(events_json), event_type)
    ]
    if rows:
        conn.execute(schema.deliveries.insert(), rows)
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return event_id


def _subscribed(events: list[str], event_type: str) -> bool:
    return WILDCARD in events or event_type in events
