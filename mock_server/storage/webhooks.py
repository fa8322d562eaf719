"""Webhook endpoints: their rows, secrets (sealed), health, and each endpoint's delivery log.

Tables this repository writes: ``webhook_endpoints`` (and, deleting an endpoint, its ``deliveries``
and ``delivery_attempts``; the events stay). It reads ``deliveries``, ``delivery_attempts`` and
``events`` for the delivery log, ``workspaces`` for the test clock of an endpoint's owner. The queue
itself (leases, attempts written) is ``storage.outbox``.

Every function takes the caller's ``Connection`` and works inside whatever transaction that is: the
subscriptions API calls them in the request's unit of work; the dispatcher calls the health
functions (``reset_failures``, ``count_failed_delivery``, ``disable``, ``owner``) inside the write
transaction that records attempts, so an endpoint is disabled together with the attempt that caused
it (and with the ``webhook.disabled`` event the caller writes in the same transaction).

Lookups are scoped by ``workspace_id`` where the API asks: another workspace's endpoint is simply not
found (``None``). Views are API-shaped dicts (``WebhookEndpoint``, ``WebhookDelivery``); secrets are
never in them (they are stored sealed, and shown once, by the caller, when issued).
"""

from __future__ import annotations

from dataclasses import dataclass
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
    update,
)

from mock_server.storage import schema
from mock_server.timeutil import iso, parse_iso

E = schema.webhook_endpoints
D = schema.deliveries
A = schema.delivery_attempts
EV = schema.events
W = schema.workspaces

LOG_STATUSES = ("pending", "succeeded", "failed")
"""What ``delivery_log`` filters on; None shows everything."""


def endpoint_view(row: Row[Any]) -> dict[str, Any]:
    """The ``WebhookEndpoint`` shape, without the secret."""
    return {
        "id": row.id,
        "url": row.url,
        "events": orjson.loads(row.events),
        "description": row.description,
        "enabled": bool(row.enabled),
        "disabled_reason": row.disabled_reason,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@dataclass(frozen=True)
class EndpointState:
    """What the subscriptions service decides on: whether the endpoint is enabled, its sealed secret."""

    enabled: bool
    sealed_secret: str


def _row(conn: Connection, workspace_id: str, endpoint_id: str) -> Row[Any] | None:
    return conn.execute(select(E).where(E.c.id == endpoint_id, E.c.workspace_id == workspace_id)).first()


def find(conn: Connection, workspace_id: str, endpoint_id: str) -> dict[str, Any] | None:
    row = _row(conn, workspace_id, endpoint_id)
    return None if row is None else endpoint_view(row)


def state(conn: Connection, workspace_id: str, endpoint_id: str) -> EndpointState | None:
    row = _row(conn, workspace_id, endpoint_id)
    return None if row is None else EndpointState(bool(row.enabled), row.secret)


def insert(
    conn: Connection,
    *,
    endpoint_id: str,
    workspace_id: str,
    url: str,
    events: list[str],
    description: str | None,
    enabled: bool,
    disabled_reason: str | None,
    sealed_secret: str,
    now: str,
) -> dict[str, Any]:
    conn.execute(
        E.insert().values(
            id=endpoint_id,
            workspace_id=workspace_id,
            url=url,
            events=orjson.dumps(events).decode(),
            description=description,
            enabled=enabled,
            disabled_reason=disabled_reason,
            secret=sealed_secret,
            consecutive_failures=0,
            created_at=now,
            updated_at=now,
        )
    )
    view = find(conn, workspace_id, endpoint_id)
    assert view is not None  # just inserted, in this transaction
    return view


def page(
    conn: Connection, workspace_id: str, *, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the workspace's endpoints, newest first, and how many it has."""
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


CHANGEABLE = frozenset({"url", "events", "description", "enabled", "disabled_reason", "consecutive_failures"})


def change(conn: Connection, endpoint_id: str, *, updated_at: str, **columns: Any) -> None:
    """Set the given columns (a PATCH, decided by the caller) of the endpoint; ``events`` is a list."""
    unknown = set(columns) - CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable here: {sorted(unknown)}")
    values = {**columns, "updated_at": updated_at}
    if "events" in values:
        values["events"] = orjson.dumps(values["events"]).decode()
    conn.execute(E.update().where(E.c.id == endpoint_id).values(**values))


def delete(conn: Connection, endpoint_id: str) -> None:
    """Delete the endpoint with its deliveries and their attempt log (the events stay)."""
    delivery_ids = select(D.c.id).where(D.c.endpoint_id == endpoint_id)
    conn.execute(A.delete().where(A.c.delivery_id.in_(delivery_ids)))
    conn.execute(D.delete().where(D.c.endpoint_id == endpoint_id))
    conn.execute(E.delete().where(E.c.id == endpoint_id))


def set_secrets(
    conn: Connection,
    endpoint_id: str,
    *,
    sealed_secret: str,
    sealed_previous: str | None,
    previous_expires_at: str | None,
    updated_at: str,
) -> None:
    conn.execute(
        E.update()
        .where(E.c.id == endpoint_id)
        .values(
            secret=sealed_secret,
            previous_secret=sealed_previous,
            previous_secret_expires_at=previous_expires_at,
            updated_at=updated_at,
        )
    )


# -- health (the dispatcher's record transaction) -------------------------------------------------


def reset_failures(conn: Connection, endpoint_id: str) -> None:
    """A successful attempt: the count of deliveries failed in a row starts again (no write if 0)."""
    conn.execute(
        update(E).where(E.c.id == endpoint_id, E.c.consecutive_failures != 0).values(consecutive_failures=0)
    )


def count_failed_delivery(conn: Connection, endpoint_id: str) -> None:
    conn.execute(
        update(E).where(E.c.id == endpoint_id).values(consecutive_failures=E.c.consecutive_failures + 1)
    )


def disable(
    conn: Connection, endpoint_id: str, *, reason: str, updated_at: str, failures_at_least: int | None = None
) -> bool:
    """Disable the endpoint if enabled (and, given ``failures_at_least``, only once that many
    deliveries failed in a row); True when this call disabled it."""
    conditions = [E.c.id == endpoint_id, E.c.enabled.is_(True)]
    if failures_at_least is not None:
        conditions.append(E.c.consecutive_failures >= failures_at_least)
    done = conn.execute(
        update(E).where(*conditions).values(enabled=False, disabled_reason=reason, updated_at=updated_at)
    )
    return bool(done.rowcount)


@dataclass(frozen=True)
class Owner:
    workspace_id: str
    url: str
    clock_offset_seconds: float  # the workspace's test clock


def owner(conn: Connection, endpoint_id: str) -> Owner | None:
    row = conn.execute(
        select(E.c.workspace_id, E.c.url, W.c.clock_offset_seconds)
        .join(W, W.c.id == E.c.workspace_id)
        .where(E.c.id == endpoint_id)
    ).first()
    if row is None:
        return None
    return Owner(row.workspace_id, row.url, float(row.clock_offset_seconds or 0.0))


# -- the delivery log ------------------------------------------------------------------------------


def delivery_log(
    conn: Connection, endpoint_id: str, *, status: str | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Every attempt (newest first), preceded by each delivery still waiting for its next attempt.

    One ``WebhookDelivery`` item per attempt: ``id`` is the delivery, ``attempt`` numbers its tries.
    A waiting delivery shows as ``status: pending`` with the attempt it will make and when.
    ``status`` is one of ``LOG_STATUSES`` or None (the caller checks it).
    """
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
        raise ValueError(f"status must be one of {LOG_STATUSES} or None, not {status!r}")
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
