"""The transactional outbox: record an event, and its pending deliveries, inside the caller's
transaction.

Why: the event row commits or rolls back together with the data change that caused it, so a crash
can never leave a consent granted without its ``consent.granted`` event, or an event for a change that
never happened. The dispatcher later reads ``deliveries`` and does the network work.

This module decides what an event is (its type, its payload, who is subscribed to it); the rows are
written by ``mock_server.storage.outbox``, on the caller's connection.

After committing, callers call ``req.services.wake_dispatcher()`` so the in-process dispatcher starts
at once instead of at its next poll. On PostgreSQL the event also raises a ``NOTIFY`` (sent by the
database at commit, dropped on rollback), which wakes ``care-sandbox worker`` processes elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from mock_server.storage import Connection
from mock_server.storage import outbox as rows
from mock_server.storage.outbox import NOTIFY_CHANNEL, new_id, precise_iso
from mock_server.webhooks.event_types import EVENT_TYPES, WILDCARD

__all__ = ["EVENT_TYPES", "NOTIFY_CHANNEL", "WILDCARD", "emit_event", "new_id", "now_precise", "precise_iso"]


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
    targets = [
        endpoint_id
        for endpoint_id, events in rows.subscribers(conn, workspace_id, only_endpoint_id)
        if only_endpoint_id is not None or _subscribed(events, event_type)
    ]
    event = rows.NewEvent(event_id, workspace_id, event_type, patient_id, payload, occurred_at=timestamp)
    rows.insert_event(conn, event, targets, moment=now_precise())
    return event_id


def _subscribed(events: list[str], event_type: str) -> bool:
    return WILDCARD in events or event_type in events
