"""Webhook endpoints and their delivery log, as the subscriptions API reads and writes them.

Every function takes the caller's connection and a ``workspace_id``, and every lookup is scoped by it:
another workspace's endpoint is simply not found (404), never forbidden (403), so ids leak nothing.
Functions return API-shaped dicts (``WebhookEndpoint``, ``WebhookDelivery``) so handlers stay thin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Float,
    Integer,
    Row,
    String,
    Text,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from mock_server.errors import ApiError, conflict, not_found
from mock_server.secretbox import SecretBox
from mock_server.storage import schema
from mock_server.timeutil import iso, parse_iso, utcnow
from mock_server.webhooks.outbox import new_id, now_precise, precise_iso
from mock_server.webhooks.signing import new_secret

E = schema.webhook_endpoints
D = schema.deliveries
A = schema.delivery_attempts
EV = schema.events

DISABLED_BY_API = "disabled by partner"


def endpoint_view(row: Row[Any], *, secret: str | None = None) -> dict[str, Any]:
    """The ``WebhookEndpoint`` shape; ``secret`` only when just issued (create): it is stored sealed."""
    view: dict[str, Any] = {
        "id": row.id,
        "url": row.url,
        "events": orjson.loads(row.events),
        "description": row.description,
        "enabled": bool(row.enabled),
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if secret is not None:
        view["secret"] = secret
    return view


def _row(conn: Connection, workspace_id: str, endpoint_id: str) -> Row[Any]:
    row = conn.execute(select(E).where(E.c.id == endpoint_id, E.c.workspace_id == workspace_id)).first()
    if row is None:
        raise not_found("webhook endpoint", endpoint_id)
    return row


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
    now = iso(utcnow())
    endpoint_id = new_id("we")
    secret = new_secret()
    conn.execute(
        E.insert().values(
            id=endpoint_id,
            workspace_id=workspace_id,
            url=url,
            events=orjson.dumps(events).decode(),
            description=description,
            enabled=enabled,
            disabled_reason=None if enabled else DISABLED_BY_API,
            secret=box.seal(secret),
            consecutive_failures=0,
            created_at=now,
            updated_at=now,
        )
    )
    return endpoint_view(_row(conn, workspace_id, endpoint_id), secret=secret)


def get_endpoint(conn: Connection, workspace_id: str, endpoint_id: str) -> dict[str, Any]:
    return endpoint_view(_row(conn, workspace_id, endpoint_id))


def is_enabled(conn: Connection, workspace_id: str, endpoint_id: str) -> bool:
    return bool(_row(conn, workspace_id, endpoint_id).enabled)


def list_endpoints(
    conn: Connection, workspace_id: str, *, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute(
        select(func.count()).select_from(E).where(E.c.workspace_id == workspace_id)
    ).scalar_one()
    rows = conn.execute(
        select(E)
        .where(E.c.workspace_id == workspace_id)
        .order_by(E.c.created_at.desc(), E.c.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [endpoint_view(r) for r in rows], int(total)


def update_endpoint(
    conn: Connection, workspace_id: str, endpoint_id: str, changes: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Apply a PATCH; returns the endpoint and whether it was just re-enabled (deliveries resume)."""
    row = _row(conn, workspace_id, endpoint_id)
    values: dict[str, Any] = {"updated_at": iso(utcnow())}
    for key in ("url", "description"):
        if key in changes:
            values[key] = changes[key]
    if "events" in changes:
        values["events"] = orjson.dumps(changes["events"]).decode()
    resumed = False
    if "enabled" in changes:
        enabled = bool(changes["enabled"])
        values["enabled"] = enabled
        if enabled:
            values["disabled_reason"] = None
            values["consecutive_failures"] = 0
            resumed = not row.enabled
        elif row.enabled or changes.get("disabled_reason"):
            values["disabled_reason"] = changes.get("disabled_reason") or DISABLED_BY_API
    conn.execute(E.update().where(E.c.id == endpoint_id).values(**values))
    return endpoint_view(_row(conn, workspace_id, endpoint_id)), resumed


def delete_endpoint(conn: Connection, workspace_id: str, endpoint_id: str) -> None:
    """Delete the endpoint; its deliveries and their attempt log go with it (the events stay)."""
    _row(conn, workspace_id, endpoint_id)
    delivery_ids = select(D.c.id).where(D.c.endpoint_id == endpoint_id)
    conn.execute(A.delete().where(A.c.delivery_id.in_(delivery_ids)))
    conn.execute(D.delete().where(D.c.endpoint_id == endpoint_id))
    conn.execute(E.delete().where(E.c.id == endpoint_id))


def rotate_secret(
    conn: Connection, workspace_id: str, endpoint_id: str, *, grace_seconds: int, box: SecretBox
) -> dict[str, Any]:
    """Issue a new secret; the old one keeps signing (second ``v1,`` signature) for the grace period."""
    row = _row(conn, workspace_id, endpoint_id)
    now = utcnow()
    expires = iso(now + timedelta(seconds=grace_seconds))
    secret = new_secret()
    conn.execute(
        E.update()
        .where(E.c.id == endpoint_id)
        .values(
            secret=box.seal(secret),
            # re-sealed: a secret stored in plaintext by an older version is encrypted from now on
            previous_secret=box.seal(box.open(row.secret)) if grace_seconds > 0 else None,
            previous_secret_expires_at=expires if grace_seconds > 0 else None,
            updated_at=iso(now),
        )
    )
    return {"secret": secret, "previous_secret_expires_at": expires}


def delivery_id_for(conn: Connection, event_id: str, endpoint_id: str) -> str:
    found = conn.execute(
        select(D.c.id)
        .where(D.c.event_id == event_id, D.c.endpoint_id == endpoint_id)
        .order_by(D.c.created_at)
    ).first()
    if found is None:
        raise conflict("invalid_state_transition", "the endpoint is disabled; enable it first")
    return str(found[0])


def redeliver(conn: Connection, workspace_id: str, endpoint_id: str, delivery_id: str) -> dict[str, str]:
    """Queue the delivery's event again to the same endpoint, as a new delivery with a fresh schedule.

    The new delivery carries the same ``webhook-id`` (the event id), so a receiver that already
    processed it can recognise the repeat.
    """
    if not is_enabled(conn, workspace_id, endpoint_id):
        raise conflict("invalid_state_transition", "the endpoint is disabled; enable it before redelivering")
    found = conn.execute(
        select(D.c.event_id).where(
            D.c.id == delivery_id, D.c.endpoint_id == endpoint_id, D.c.workspace_id == workspace_id
        )
    ).first()
    if found is None:
        raise not_found("webhook delivery", delivery_id)
    moment = now_precise()
    new_delivery = new_id("dlv")
    conn.execute(
        D.insert().values(
            id=new_delivery,
            event_id=found.event_id,
            endpoint_id=endpoint_id,
            workspace_id=workspace_id,
            status="pending",
            attempts=0,
            next_attempt_at=precise_iso(moment),
            created_at=iso(moment),
            updated_at=iso(moment),
        )
    )
    return {"event_id": found.event_id, "delivery_id": new_delivery}


def delivery_log(
    conn: Connection,
    workspace_id: str,
    endpoint_id: str,
    *,
    status: str | None,
    page: int,
    per_page: int,
) -> tuple[list[dict[str, Any]], int]:
    """Every attempt (newest first), preceded by each delivery still waiting for its next attempt.

    One ``WebhookDelivery`` item per attempt: ``id`` is the delivery, ``attempt`` numbers its tries.
    A waiting delivery shows as ``status: pending`` with the attempt it will make and when.
    """
    _row(conn, workspace_id, endpoint_id)
    attempts = (
        select(
            literal(1).label("kind"),
            A.c.delivery_id.label("id"),
            D.c.event_id,
            EV.c.type.label("event_type"),
            A.c.attempt,
            A.c.status,
            A.c.status_code,
            A.c.latency_ms,
            A.c.response_snippet,
            A.c.error,
            A.c.attempted_at,
            A.c.next_retry_at,
            A.c.attempted_at.label("sort_at"),
        )
        .select_from(A.join(D, D.c.id == A.c.delivery_id).join(EV, EV.c.id == D.c.event_id))
        .where(A.c.endpoint_id == endpoint_id)
    )
    waiting = (
        select(
            literal(0).label("kind"),
            D.c.id,
            D.c.event_id,
            EV.c.type.label("event_type"),
            (D.c.attempts + 1).label("attempt"),
            cast(literal("pending"), String).label("status"),
            cast(null(), Integer).label("status_code"),
            cast(null(), Float).label("latency_ms"),
            cast(null(), Text).label("response_snippet"),
            cast(null(), Text).label("error"),
            cast(null(), String).label("attempted_at"),
            D.c.next_attempt_at.label("next_retry_at"),
            D.c.next_attempt_at.label("sort_at"),
        )
        .select_from(D.join(EV, EV.c.id == D.c.event_id))
        .where(D.c.endpoint_id == endpoint_id, D.c.status.in_(("pending", "delivering")))
    )
    if status == "pending":
        log = waiting.subquery()
    elif status in ("succeeded", "failed"):
        log = attempts.where(A.c.status == status).subquery()
    elif status is None:
        log = union_all(waiting, attempts).subquery()
    else:
        raise ApiError(400, "invalid_parameter", "status must be pending, succeeded or failed")
    total = conn.execute(select(func.count()).select_from(log)).scalar_one()
    rows = conn.execute(
        select(log)
        .order_by(log.c.kind, log.c.sort_at.desc(), log.c.attempt.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [_delivery_view(r, endpoint_id) for r in rows], int(total)


def _delivery_view(row: Row[Any], endpoint_id: str) -> dict[str, Any]:
    next_retry = row.next_retry_at
    if next_retry is not None and len(next_retry) != 20:  # the queue's millisecond form
        next_retry = iso(parse_iso(next_retry))
    return {
        "id": row.id,
        "event_id": row.event_id,
        "event_type": row.event_type,
        "attempt": int(row.attempt),
        "status": row.status,
        "status_code": row.status_code,
        "latency_ms": None if row.latency_ms is None else round(float(row.latency_ms), 3),
        "response_snippet": row.response_snippet,
        "error": row.error,
        "attempted_at": row.attempted_at,
        "next_retry_at": next_retry,
        "webhook_id": endpoint_id,
    }
