"""Webhook endpoints and their delivery log, as the subscriptions API manages them.

This module decides; ``mock_server.storage.webhooks`` (endpoint rows) and ``storage.outbox``
(deliveries) hold the SQL. Decided here: secrets are issued (``signing.new_secret``) and stored sealed
(``SecretBox``); a missing endpoint or delivery is ``404`` and a disabled endpoint ``409``; what a PATCH
changes. Every function takes the caller's connection — the request's unit of work — and a
``workspace_id``, and every lookup is scoped by it: another workspace's endpoint is simply not found
(404), never forbidden (403), so ids leak nothing. Functions return API-shaped dicts
(``WebhookEndpoint``, ``WebhookDelivery``) so handlers stay thin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mock_server.errors import ApiError, conflict, not_found
from mock_server.secretbox import SecretBox
from mock_server.storage import Connection
from mock_server.storage import outbox as queue_rows
from mock_server.storage import webhooks as endpoint_rows
from mock_server.storage.webhooks import EndpointState
from mock_server.timeutil import iso, utcnow
from mock_server.webhooks.outbox import new_id, now_precise
from mock_server.webhooks.signing import new_secret

DISABLED_BY_API = "disabled by partner"


def _state(conn: Connection, workspace_id: str, endpoint_id: str) -> EndpointState:
    found = endpoint_rows.state(conn, workspace_id, endpoint_id)
    if found is None:
        raise not_found("webhook endpoint", endpoint_id)
    return found


def create_endpoint(
    conn: Connection,
    *,
    workspace_id: str,
    url: str,
    events: list[str],
    description: str | None,
    box: SecretBox,
    enabled: bool = True,
) -> dict[str, Any]:
    """Create the endpoint; the view carries the new ``secret`` this once (it is stored sealed)."""
    secret = new_secret()
    view = endpoint_rows.insert(
        conn,
        endpoint_id=new_id("we"),
        workspace_id=workspace_id,
        url=url,
        events=events,
        description=description,
        enabled=enabled,
        disabled_reason=None if enabled else DISABLED_BY_API,
        sealed_secret=box.seal(secret),
        now=iso(utcnow()),
    )
    return {**view, "secret": secret}


def get_endpoint(conn: Connection, workspace_id: str, endpoint_id: str) -> dict[str, Any]:
    view = endpoint_rows.find(conn, workspace_id, endpoint_id)
    if view is None:
        raise not_found("webhook endpoint", endpoint_id)
    return view


def is_enabled(conn: Connection, workspace_id: str, endpoint_id: str) -> bool:
    return _state(conn, workspace_id, endpoint_id).enabled


def list_endpoints(
    conn: Connection, workspace_id: str, *, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    return endpoint_rows.page(conn, workspace_id, page=page, per_page=per_page)


def update_endpoint(
    conn: Connection, workspace_id: str, endpoint_id: str, changes: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Apply a PATCH; returns the endpoint and whether it was just re-enabled (deliveries resume)."""
    was_enabled = _state(conn, workspace_id, endpoint_id).enabled
    columns: dict[str, Any] = {
        key: changes[key] for key in ("url", "description", "events") if key in changes
    }
    resumed = False
    if "enabled" in changes:
        enabled = bool(changes["enabled"])
        columns["enabled"] = enabled
        if enabled:
            columns["disabled_reason"] = None
            columns["consecutive_failures"] = 0
            resumed = not was_enabled
        elif was_enabled or changes.get("disabled_reason"):
            columns["disabled_reason"] = changes.get("disabled_reason") or DISABLED_BY_API
    endpoint_rows.change(conn, endpoint_id, updated_at=iso(utcnow()), **columns)
    return get_endpoint(conn, workspace_id, endpoint_id), resumed


def delete_endpoint(conn: Connection, workspace_id: str, endpoint_id: str) -> None:
    """Delete the endpoint; its deliveries and their attempt log go with it (the events stay)."""
    _state(conn, workspace_id, endpoint_id)
    endpoint_rows.delete(conn, endpoint_id)


def rotate_secret(
    conn: Connection, workspace_id: str, endpoint_id: str, *, grace_seconds: int, box: SecretBox
) -> dict[str, Any]:
    """Issue a new secret; the old one keeps signing (second ``v1,`` signature) for the grace period."""
    current = _state(conn, workspace_id, endpoint_id)
    now = utcnow()
    expires = iso(now + timedelta(seconds=grace_seconds))
    secret = new_secret()
    endpoint_rows.set_secrets(
        conn,
        endpoint_id,
        sealed_secret=box.seal(secret),
        # re-sealed: a secret stored in plaintext by an older version is encrypted from now on
        sealed_previous=box.seal(box.open(current.sealed_secret)) if grace_seconds > 0 else None,
        previous_expires_at=expires if grace_seconds > 0 else None,
        updated_at=iso(now),
    )
    return {"secret": secret, "previous_secret_expires_at": expires}


def delivery_id_for(conn: Connection, event_id: str, endpoint_id: str) -> str:
    found = queue_rows.delivery_for(conn, event_id, endpoint_id)
    if found is None:
        raise conflict("invalid_state_transition", "the endpoint is disabled; enable it first")
    return found


def redeliver(conn: Connection, workspace_id: str, endpoint_id: str, delivery_id: str) -> dict[str, str]:
    """Queue the delivery's event again to the same endpoint, as a new delivery with a fresh schedule.

    The new delivery carries the same ``webhook-id`` (the event id), so a receiver that already
    processed it can recognise the repeat.
    """
    if not is_enabled(conn, workspace_id, endpoint_id):
        raise conflict("invalid_state_transition", "the endpoint is disabled; enable it before redelivering")
    event_id = queue_rows.event_of_delivery(conn, workspace_id, endpoint_id, delivery_id)
    if event_id is None:
        raise not_found("webhook delivery", delivery_id)
    new_delivery = queue_rows.queue_delivery(
        conn, event_id=event_id, endpoint_id=endpoint_id, workspace_id=workspace_id, moment=now_precise()
    )
    return {"event_id": event_id, "delivery_id": new_delivery}


def delivery_log(
    conn: Connection,
    workspace_id: str,
    endpoint_id: str,
    *,
    status: str | None,
    page: int,
    per_page: int,
) -> tuple[list[dict[str, Any]], int]:
    """Every attempt (newest first), preceded by each delivery still waiting for its next attempt."""
    _state(conn, workspace_id, endpoint_id)
    if status is not None and status not in endpoint_rows.LOG_STATUSES:
        raise ApiError(400, "invalid_parameter", "status must be pending, succeeded or failed")
    return endpoint_rows.delivery_log(conn, endpoint_id, status=status, page=page, per_page=per_page)
