"""The webhook outbox and delivery queue in the database: events, deliveries, leases, attempts.

Tables this repository writes: ``events`` (inserted here, read for the events API by
``storage.events``), ``deliveries`` (queued, leased, moved on, released, queued again) and
``delivery_attempts`` (the log of every attempt). It reads ``webhook_endpoints`` (who is enabled and
subscribed, the sealed secrets to sign with) and ``workspaces`` (to deal free slots round-robin).
Endpoint rows themselves, and their health counters, belong to ``storage.webhooks``.

Every function takes the caller's ``Connection``; which transaction it must be depends on the group:

- ``subscribers``, ``insert_event``, ``queue_delivery``, ``delivery_for``, ``event_of_delivery``: in
  the caller's unit of work — the event commits or rolls back with the data change that caused it.
- ``has_due``, ``next_due``, ``fair_choice``, ``sendable``: reads, on a connection outside any write
  transaction (the dispatcher reads outside its write lock).
- ``lease``, ``record_attempts``, ``release``: each in a short write transaction of its own (the
  dispatcher opens one per call, see :class:`DeliveryQueue`), so SQLite's write lock is held for one
  statement or one batch, never for a network round trip.

Claiming is a fair choice made outside the write transaction, then one ``UPDATE … WHERE id IN
(SELECT … WHERE <still due> FOR UPDATE SKIP LOCKED) RETURNING``: on PostgreSQL a worker skips the rows
another worker is leasing at that moment instead of waiting for it; SQLite has one writer at a time,
so the same statement is atomic there (SQLAlchemy leaves out the ``FOR UPDATE`` SQLite does not have).
The "still due" condition re-checks every row, so two workers never lease one delivery.

On PostgreSQL, queuing a delivery also raises ``NOTIFY care_sandbox_webhooks`` (sent at commit,
dropped on rollback); ``webhooks.notify`` listens for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    ScalarSelect,
    and_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)

from mock_server.storage import schema
from mock_server.timeutil import iso

D = schema.deliveries
E = schema.webhook_endpoints
EV = schema.events
A = schema.delivery_attempts
W = schema.workspaces

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


# -- writing events (the caller's unit of work) ---------------------------------------------------


@dataclass(frozen=True)
class NewEvent:
    """An event as the outbox stores it: ``payload`` is the exact JSON text every delivery sends."""

    id: str
    workspace_id: str
    type: str
    patient_id: str | None
    payload: str
    occurred_at: str  # the workspace's (test-clock) time of the change


def subscribers(
    conn: Connection, workspace_id: str, only_endpoint_id: str | None = None
) -> list[tuple[str, list[str]]]:
    """The workspace's enabled endpoints (or just ``only_endpoint_id``, if enabled) and the event
    types each subscribes to."""
    query = select(E.c.id, E.c.events).where(E.c.workspace_id == workspace_id, E.c.enabled.is_(True))
    if only_endpoint_id is not None:
        query = query.where(E.c.id == only_endpoint_id)
    return [(endpoint_id, orjson.loads(events)) for endpoint_id, events in conn.execute(query).all()]


def insert_event(conn: Connection, event: NewEvent, endpoint_ids: Sequence[str], *, moment: datetime) -> None:
    """The event row and one pending delivery, due at ``moment``, per endpoint in ``endpoint_ids``.

    ``moment`` is the real clock (receivers judge ``webhook-timestamp`` against theirs); on PostgreSQL
    a queued delivery also notifies the dispatchers, at commit.
    """
    now, due = iso(moment), precise_iso(moment)
    conn.execute(
        EV.insert().values(
            id=event.id,
            workspace_id=event.workspace_id,
            type=event.type,
            patient_id=event.patient_id,
            payload=event.payload,
            created_at=now,
            occurred_at=event.occurred_at,
        )
    )
    rows = [
        {
            "id": new_id("dlv"),
            "event_id": event.id,
            "endpoint_id": endpoint_id,
            "workspace_id": event.workspace_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": now,
            "updated_at": now,
        }
        for endpoint_id in endpoint_ids
    ]
    if rows:
        conn.execute(D.insert(), rows)
        _notify(conn)


def _notify(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


def delivery_for(conn: Connection, event_id: str, endpoint_id: str) -> str | None:
    """The (first) delivery of ``event_id`` to ``endpoint_id``; None when none was queued."""
    found = conn.execute(
        select(D.c.id)
        .where(D.c.event_id == event_id, D.c.endpoint_id == endpoint_id)
        .order_by(D.c.created_at)
    ).first()
    return None if found is None else str(found[0])


def event_of_delivery(conn: Connection, workspace_id: str, endpoint_id: str, delivery_id: str) -> str | None:
    """The event a delivery of this workspace's endpoint carries; None when there is no such delivery."""
    found = conn.execute(
        select(D.c.event_id).where(
            D.c.id == delivery_id, D.c.endpoint_id == endpoint_id, D.c.workspace_id == workspace_id
        )
    ).first()
    return None if found is None else str(found.event_id)


def queue_delivery(
    conn: Connection, *, event_id: str, endpoint_id: str, workspace_id: str, moment: datetime
) -> str:
    """A new pending delivery of an existing event, due at ``moment``; returns its id."""
    delivery_id = new_id("dlv")
    conn.execute(
        D.insert().values(
            id=delivery_id,
            event_id=event_id,
            endpoint_id=endpoint_id,
            workspace_id=workspace_id,
            status="pending",
            attempts=0,
            next_attempt_at=precise_iso(moment),
            created_at=iso(moment),
            updated_at=iso(moment),
        )
    )
    return delivery_id


# -- the queue (the dispatcher's own short transactions) ------------------------------------------


class DeliveryQueue:
    """The dispatcher's handle on the database: its engine, and one short transaction per step.

    ``reading()`` is a connection outside any write transaction, ``writing()`` a transaction that
    commits on exit. Never used inside a request's unit of work: the dispatcher's transactions are
    its own, on its own connections (see ``storage.locking.dispatcher_engine``).
    """

    def __init__(self, engine: Engine, *, owns_engine: bool = False) -> None:
        self.engine = engine
        self.owns_engine = owns_engine

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        """Dispose of the engine if it is the dispatcher's own (not the server's shared one)."""
        if self.owns_engine:
            self.engine.dispose()


def _enabled_endpoints() -> ScalarSelect[str]:
    return select(E.c.id).where(E.c.enabled.is_(True)).scalar_subquery()


def _due(now: str) -> ColumnElement[bool]:
    """Claimable at ``now``: pending and due, or leased by a worker whose lease ran out; enabled.

    Deliveries of disabled endpoints stay ``pending`` and are not claimed: re-enabling an endpoint
    resumes them, so disabling never loses events.
    """
    return and_(
        or_(
            and_(D.c.status == "pending", D.c.next_attempt_at <= now),
            and_(D.c.status == "delivering", D.c.locked_until <= now),
        ),
        D.c.endpoint_id.in_(_enabled_endpoints()),
    )


def has_due(conn: Connection, stamp: str) -> bool:
    """Is anything claimable at ``stamp`` (precise form)? A read, so an idle queue costs no write."""
    return conn.execute(select(D.c.id).where(_due(stamp)).limit(1)).first() is not None


def next_due(conn: Connection) -> str | None:
    """The earliest time (precise form) anything claimable becomes due, for sizing the idle sleep."""
    enabled = D.c.endpoint_id.in_(_enabled_endpoints())
    pending = conn.execute(
        select(func.min(D.c.next_attempt_at)).where(D.c.status == "pending", enabled)
    ).scalar()
    leased = conn.execute(
        select(func.min(D.c.locked_until)).where(D.c.status == "delivering", enabled)
    ).scalar()
    candidates = [str(v) for v in (pending, leased) if v is not None]
    return min(candidates) if candidates else None


def fair_choice(conn: Connection, stamp: str, limit: int, per_endpoint: int, per_workspace: int) -> list[str]:
    """Which due deliveries to lease: round-robin over workspaces, within every cap (0 = no cap).

    At most ``per_endpoint`` attempts in flight per endpoint and ``per_workspace`` per workspace,
    counted over every worker's unexpired leases; the free slots are dealt round-robin over the
    workspaces with due work, oldest delivery first within each. The lease re-checks every row.
    """
    busy = D.c.status == "delivering"
    live = and_(busy, D.c.locked_until > stamp)
    by_endpoint: dict[str, int] = {}
    by_workspace: dict[str, int] = {}
    for endpoint_id, workspace_id, n in conn.execute(
        select(D.c.endpoint_id, D.c.workspace_id, func.count())
        .where(live)
        .group_by(D.c.endpoint_id, D.c.workspace_id)
    ):
        by_endpoint[endpoint_id] = by_endpoint.get(endpoint_id, 0) + int(n)
        by_workspace[workspace_id] = by_workspace.get(workspace_id, 0) + int(n)
    has_due_work = select(D.c.id).where(D.c.workspace_id == W.c.id, _due(stamp)).exists()
    workspaces = list(conn.execute(select(W.c.id).where(has_due_work)).scalars())
    queues: dict[str, list[tuple[str, str]]] = {}
    for workspace_id in workspaces:
        room = limit if per_workspace <= 0 else min(limit, per_workspace - by_workspace.get(workspace_id, 0))
        if room <= 0:
            continue
        full = [e for e, n in by_endpoint.items() if per_endpoint > 0 and n >= per_endpoint]
        query = select(D.c.id, D.c.endpoint_id).where(D.c.workspace_id == workspace_id, _due(stamp))
        if full:
            query = query.where(D.c.endpoint_id.not_in(full))
        # enough candidates to fill the room even when some share an endpoint at its cap
        fetch = room if per_endpoint <= 0 else room * 4
        rows = conn.execute(query.order_by(D.c.next_attempt_at).limit(fetch)).all()
        queues[workspace_id] = [(r[0], r[1]) for r in rows]
    chosen: list[str] = []
    while len(chosen) < limit and queues:
        for workspace_id in list(queues):
            queue = queues[workspace_id]
            taken = by_workspace.get(workspace_id, 0)
            picked = None
            while queue:
                delivery_id, endpoint_id = queue.pop(0)
                if per_endpoint <= 0 or by_endpoint.get(endpoint_id, 0) < per_endpoint:
                    picked = (delivery_id, endpoint_id)
                    break
            if picked is None or (per_workspace > 0 and taken >= per_workspace):
                del queues[workspace_id]
                continue
            chosen.append(picked[0])
            by_endpoint[picked[1]] = by_endpoint.get(picked[1], 0) + 1
            by_workspace[workspace_id] = taken + 1
            if len(chosen) >= limit:
                break
    return chosen


@dataclass(frozen=True)
class Leased:
    """A delivery this worker now holds; ``attempts`` is how many were made before."""

    delivery_id: str
    event_id: str
    endpoint_id: str
    attempts: int


def lease(
    conn: Connection, delivery_ids: Sequence[str], *, now: datetime, worker_id: str, lease_seconds: float
) -> list[Leased]:
    """Mark those of ``delivery_ids`` still due ``delivering`` under this worker's lease (one statement).

    Rows another worker is leasing right now are skipped (``SKIP LOCKED``), not waited for.
    """
    if not delivery_ids:
        return []
    stamp = precise_iso(now)
    still_due = (
        select(D.c.id)
        .where(D.c.id.in_(list(delivery_ids)), _due(stamp))
        .with_for_update(skip_locked=True)
        .correlate(None)  # its own scan of deliveries, not the UPDATE's row
        .scalar_subquery()
    )
    rows = conn.execute(
        update(D)
        .where(D.c.id.in_(still_due))
        .values(
            status="delivering",
            locked_by=worker_id,
            locked_until=precise_iso(now + timedelta(seconds=lease_seconds)),
            updated_at=iso(now),
        )
        .returning(D.c.id, D.c.event_id, D.c.endpoint_id, D.c.attempts)
    ).all()
    return [Leased(r.id, r.event_id, r.endpoint_id, int(r.attempts)) for r in rows]


@dataclass(frozen=True)
class Sendable:
    """A leased delivery with what sending it needs; secrets still sealed (``SecretBox`` opens them)."""

    leased: Leased
    payload: str
    url: str
    sealed_secret: str
    sealed_previous_secret: str | None  # only while its rotation grace period runs


def sendable(conn: Connection, leased: Sequence[Leased], *, now: datetime) -> list[Sendable]:
    """Payload, URL and secrets of each leased delivery; those whose endpoint was deleted since are
    left out (their deliveries went with it)."""
    if not leased:
        return []
    payloads = dict(
        conn.execute(select(EV.c.id, EV.c.payload).where(EV.c.id.in_({r.event_id for r in leased}))).all()
    )
    endpoints = {
        r.id: r
        for r in conn.execute(
            select(E.c.id, E.c.url, E.c.secret, E.c.previous_secret, E.c.previous_secret_expires_at).where(
                E.c.id.in_({r.endpoint_id for r in leased})
            )
        )
    }
    current = iso(now)
    found = []
    for r in leased:
        endpoint, payload = endpoints.get(r.endpoint_id), payloads.get(r.event_id)
        if endpoint is None or payload is None:
            continue
        grace = endpoint.previous_secret_expires_at
        previous = (
            endpoint.previous_secret if endpoint.previous_secret and grace and grace > current else None
        )
        found.append(Sendable(r, payload, endpoint.url, endpoint.secret, previous))
    return found


@dataclass(frozen=True)
class AttemptRecord:
    """One finished attempt as it is logged, and where it moves its delivery."""

    delivery_id: str
    endpoint_id: str
    attempt: int
    succeeded: bool
    status_code: int | None
    latency_ms: float | None
    response_snippet: str | None
    error: str | None
    attempted_at: datetime
    retry_at: datetime | None  # the next attempt; None = no more
    delivery_status: str  # succeeded | failed | pending | exhausted


def record_attempts(
    conn: Connection, records: Sequence[AttemptRecord], *, worker_id: str
) -> list[AttemptRecord]:
    """Log each attempt and move its delivery on (batched); returns the records that were kept.

    An attempt is logged unless its delivery is gone (its endpoint was deleted mid-attempt). The
    delivery row is only moved on while this worker still holds its lease: if the lease was lost (the
    attempt outlived it and another worker reclaimed the delivery), the other worker owns its fate.
    """
    if not records:
        return []
    alive = set(conn.execute(select(D.c.id).where(D.c.id.in_([r.delivery_id for r in records]))).scalars())
    kept = [r for r in records if r.delivery_id in alive]
    if not kept:
        return []
    conn.execute(
        A.insert(),
        [
            {
                "id": new_id("att"),
                "delivery_id": r.delivery_id,
                "endpoint_id": r.endpoint_id,
                "attempt": r.attempt,
                "status": "succeeded" if r.succeeded else "failed",
                "status_code": r.status_code,
                "latency_ms": r.latency_ms,
                "response_snippet": r.response_snippet,
                "error": r.error,
                "attempted_at": iso(r.attempted_at),
                "next_retry_at": iso(r.retry_at) if r.retry_at else None,
            }
            for r in kept
        ],
    )
    conn.execute(
        update(D)
        .where(D.c.id == bindparam("b_id"), D.c.status == "delivering", D.c.locked_by == worker_id)
        .values(
            status=bindparam("b_status"),
            attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"),
            locked_by=None,
            locked_until=None,
            last_status_code=bindparam("b_code"),
            updated_at=bindparam("b_updated"),
        ),
        [
            {
                "b_id": r.delivery_id,
                "b_status": r.delivery_status,
                "b_attempts": r.attempt,
                "b_next": precise_iso(r.retry_at) if r.retry_at else None,
                "b_code": r.status_code,
                "b_updated": iso(r.attempted_at),
            }
            for r in kept
        ],
    )
    return kept


def release(conn: Connection, delivery_ids: Sequence[str], *, worker_id: str, now: datetime) -> None:
    """Hand this worker's unfinished deliveries back, due now, so the next worker need not wait out
    the lease."""
    if not delivery_ids:
        return
    conn.execute(
        update(D)
        .where(D.c.id.in_(list(delivery_ids)), D.c.status == "delivering", D.c.locked_by == worker_id)
        .values(status="pending", next_attempt_at=precise_iso(now), locked_by=None, locked_until=None)
    )
