"""The transactional outbox: record an event, and its pending deliveries, inside the caller's
transaction.

Why: the event row commits or rolls back together with the data change that caused it, so a crash
can never leave a consent granted without its ``consent.granted`` event, or an event for a change that
never happened. The dispatcher later reads ``deliveries`` and does the network work.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from sqlalchemy import Connection, select

from mock_server.storage import schema
from mock_server.timeutil import iso, utcnow


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


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
    real clock, because receivers judge ``webhook-timestamp`` against their own.
    """
    event_id = new_id("evt")
    payload = orjson.dumps(
        {"id": event_id, "event": event_type, "patient_id": patient_id, "timestamp": timestamp, "data": data}
    ).decode()
    now = iso(utcnow())
    conn.execute(
        schema.events.insert().values(
            id=event_id,
            workspace_id=workspace_id,
            type=event_type,
            patient_id=patient_id,
            payload=payload,
            created_at=now,
        )
    )
    endpoints = schema.webhook_endpoints
    query = select(endpoints.c.id, endpoints.c.events).where(
        endpoints.c.workspace_id == workspace_id, endpoints.c.enabled.is_(True)
    )
    if only_endpoint_id is not None:
        query = query.where(endpoints.c.id == only_endpoint_id)
    rows = conn.execute(query).all()
    for endpoint_id, events_json in rows:
        subscribed = orjson.loads(events_json)
        if only_endpoint_id is None and event_type not in subscribed and "*" not in subscribed:
            continue
        conn.execute(
            schema.deliveries.insert().values(
                id=new_id("dlv"),
                event_id=event_id,
                endpoint_id=endpoint_id,
                workspace_id=workspace_id,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    return event_id
