"""The events API's read side of the webhook outbox: events, their deliveries and attempts.

The outbox (``webhooks.outbox``, through ``storage.outbox``) writes these rows; this repository only
reads them, scoped by workspace, so another workspace's event is simply not found. Events are kept 30
days on the sandbox clock: the caller passes the oldest ``occurred_at`` still served (``since``), so an
event the clock has moved past disappears from lists and lookups alike, whatever the wall clock says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, Row, func, select

from mock_server.storage import Storage, schema
from mock_server.timeutil import iso, parse_iso

EV = schema.events
D = schema.deliveries
A = schema.delivery_attempts
E = schema.webhook_endpoints

RETENTION_DAYS = 30
"""How long (on the workspace's sandbox clock) the events API serves an event."""


@dataclass(frozen=True)
class EventFilter:
    since: str  # oldest occurred_at still kept (sandbox now - 30 days)
    event_type: str | None = None
    patient_id: str | None = None
    start: str | None = None  # inclusive stored-timestamp bounds
    end: str | None = None


def _event_view(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "patient_id": row.patient_id,
        "timestamp": row.occurred_at,
        "created_at": row.created_at,
        "payload": orjson.loads(row.payload),
    }


def _served(moment: str | None) -> str | None:
    """Queue times are stored in a millisecond form; the API serves whole seconds."""
    if moment is None or len(moment) == 20:
        return moment
    return iso(parse_iso(moment))


class EventRepo:
    def __init__(self, db: Storage) -> None:
        self.db = db

    def search(
        self, workspace_id: str, where: EventFilter, *, page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of events, newest first (sandbox time, then write time, then id: a stable order)."""
        conditions = [EV.c.workspace_id == workspace_id, EV.c.occurred_at >= where.since]
        if where.event_type is not None:
            conditions.append(EV.c.type == where.event_type)
        if where.patient_id is not None:
            conditions.append(EV.c.patient_id == where.patient_id)
        if where.start is not None:
            conditions.append(EV.c.occurred_at >= where.start)
        if where.end is not None:
            conditions.append(EV.c.occurred_at <= where.end)
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(EV).where(*conditions)).scalar_one()
            rows = conn.execute(
                select(EV)
                .where(*conditions)
                .order_by(EV.c.occurred_at.desc(), EV.c.created_at.desc(), EV.c.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
        return [_event_view(r) for r in rows], int(total)

    def get(self, workspace_id: str, event_id: str, *, since: str) -> dict[str, Any] | None:
        """The event with each delivery (oldest first) and each delivery's attempts; None if not kept."""
        with self.db.read() as conn:
            row = conn.execute(
                select(EV).where(
                    EV.c.id == event_id, EV.c.workspace_id == workspace_id, EV.c.occurred_at >= since
                )
            ).first()
            if row is None:
                return None
            view = _event_view(row)
            view["deliveries"] = self._deliveries(conn, event_id)
        return view

    @staticmethod
    def _deliveries(conn: Connection, event_id: str) -> list[dict[str, Any]]:
        deliveries = conn.execute(
            select(D.c.id, D.c.endpoint_id, D.c.status, D.c.next_attempt_at, E.c.url)
            .select_from(D.join(E, E.c.id == D.c.endpoint_id))
            .where(D.c.event_id == event_id)
            .order_by(D.c.created_at, D.c.id)
        ).all()
        attempts: dict[str, list[dict[str, Any]]] = {d.id: [] for d in deliveries}
        if deliveries:
            for a in conn.execute(
                select(A).where(A.c.delivery_id.in_(list(attempts))).order_by(A.c.attempt, A.c.attempted_at)
            ).all():
                attempts[a.delivery_id].append(
                    {
                        "attempt": int(a.attempt),
                        "status": a.status,
                        "status_code": a.status_code,
                        "latency_ms": None if a.latency_ms is None else round(float(a.latency_ms), 3),
                        "response_snippet": a.response_snippet,
                        "error": a.error,
                        "attempted_at": _served(a.attempted_at),
                        "next_retry_at": _served(a.next_retry_at),
                    }
                )
        return [
            {
                "delivery_id": d.id,
                "webhook_id": d.endpoint_id,
                "url": d.url,
                "status": d.status,
                "next_attempt_at": _served(d.next_attempt_at)
                if d.status in ("pending", "delivering")
                else None,
                "attempts": attempts[d.id],
            }
            for d in deliveries
        ]
