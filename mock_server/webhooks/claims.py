"""The delivery queue in the database: claim due deliveries under a lease, record what happened.

Why a lease: a worker marks the deliveries it takes ``delivering`` with ``locked_by`` and
``locked_until``. If it dies (``kill -9``, OOM, power), nothing unlocks them explicitly; the lease
simply expires and any worker claims them again — the retry carries the same ``webhook-id``, so a
receiver that had already seen it deduplicates. That is at-least-once delivery with nothing lost.

Claiming is one ``UPDATE … WHERE id IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING``. On
PostgreSQL ``SKIP LOCKED`` lets many workers claim concurrently without waiting on each other; SQLite
has one writer at a time, so the same statement is already atomic there (SQLAlchemy leaves out the
``FOR UPDATE`` clause SQLite does not have). When the dispatcher was not told that work arrived, a
read-only probe runs first, so an idle queue costs no write transaction; what to send is read after
the claim commits, so the write lock is held for that one statement only.

Deliveries of disabled endpoints stay ``pending`` and are not claimed: re-enabling an endpoint
resumes them, so disabling never loses events.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    update,
)

from mock_server.secretbox import SecretBox, SecretBoxError
from mock_server.storage import schema
from mock_server.timeutil import iso, utcnow
from mock_server.webhooks.outbox import emit_event, new_id, precise_iso

D = schema.deliveries
E = schema.webhook_endpoints
EV = schema.events
A = schema.delivery_attempts

SNIPPET_BYTES = 1024

log = logging.getLogger("care_sandbox.webhooks")


@dataclass(frozen=True)
class Job:
    """One claimed delivery: everything needed to make the attempt without another query."""

    delivery_id: str
    event_id: str
    endpoint_id: str
    attempt: int  # the number this attempt will carry (1-based)
    payload: str
    url: str
    secret: str
    previous_secret: str | None  # still inside its rotation grace period


@dataclass(frozen=True)
class Outcome:
    """What one attempt did, as the dispatcher saw it."""

    job: Job
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    latency_ms: float | None
    response_snippet: str | None
    error: str | None
    retry_in: float | None  # seconds from ``finished_at`` to the next attempt; None = no more attempts
    finished_at: datetime | None = None  # when the answer (or the error) came; default attempted_at
    gone: bool = False  # the receiver answered 410: disable the endpoint now

    @property
    def retry_at(self) -> datetime | None:
        """Delays count from the failure, as Svix's do, not from the start of the attempt."""
        if self.retry_in is None or self.gone:
            return None
        return (self.finished_at or self.attempted_at) + timedelta(seconds=self.retry_in)


def _enabled_endpoints() -> ScalarSelect[str]:
    return select(E.c.id).where(E.c.enabled.is_(True)).scalar_subquery()


def _due(now: str) -> ColumnElement[bool]:
    return and_(
        or_(
            and_(D.c.status == "pending", D.c.next_attempt_at <= now),
            and_(D.c.status == "delivering", D.c.locked_until <= now),
        ),
        D.c.endpoint_id.in_(_enabled_endpoints()),
    )


def next_due(engine: Engine) -> str | None:
    """The earliest time (precise form) anything claimable becomes due, for sizing the idle sleep."""
    enabled = D.c.endpoint_id.in_(_enabled_endpoints())
    with engine.connect() as conn:
        pending = conn.execute(
            select(func.min(D.c.next_attempt_at)).where(D.c.status == "pending", enabled)
        ).scalar()
        leased = conn.execute(
            select(func.min(D.c.locked_until)).where(D.c.status == "delivering", enabled)
        ).scalar()
    candidates = [str(v) for v in (pending, leased) if v is not None]
    return min(candidates) if candidates else None


def claim(
    engine: Engine,
    *,
    box: SecretBox,
    worker_id: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    probe: bool = True,
    per_endpoint: int = 0,
    per_workspace: int = 0,
) -> list[Job]:
    """Lease up to ``limit`` due deliveries to ``worker_id``; returns them ready to send.

    Endpoint secrets are stored encrypted; ``box`` decrypts them for signing, in memory only.

    ``probe=False`` skips the read-only check for work, when the caller knows some was just queued.

    Fairness (``per_endpoint``, ``per_workspace``; 0 = no cap): at most that many attempts in flight
    per endpoint and per workspace, counted over every worker's unexpired leases, and the free slots
    are dealt round-robin over the workspaces with due work, oldest delivery first within each. Why:
    with one shared first-come queue, 40 endpoints of one workspace that time out held all 32 slots
    for 15 s at a time and another workspace's test delivery waited 14 s. Now a workspace can hold
    only its share, however much it has queued, and everyone else's deliveries still find a slot.
    """
    if limit <= 0:
        return []
    stamp = precise_iso(now)
    if probe:
        with engine.connect() as conn:
            if conn.execute(select(D.c.id).where(_due(stamp)).limit(1)).first() is None:
                return []
    with engine.connect() as conn:  # choose outside the write transaction; the claim re-checks
        chosen_ids = _fair_choice(conn, stamp, limit, per_endpoint, per_workspace)
    if not chosen_ids:
        return []
    with engine.begin() as conn:  # the write lock is held only for this one statement
        leased = conn.execute(
            update(D)
            .where(D.c.id.in_(chosen_ids), _due(stamp))
            .values(
                status="delivering",
                locked_by=worker_id,
                locked_until=precise_iso(now + timedelta(seconds=lease_seconds)),
                updated_at=iso(now),
            )
            .returning(D.c.id, D.c.event_id, D.c.endpoint_id, D.c.attempts)
        ).all()
    if not leased:
        return []
    with engine.connect() as conn:  # what to send, read outside the write transaction
        payloads = dict(
            conn.execute(select(EV.c.id, EV.c.payload).where(EV.c.id.in_({r.event_id for r in leased}))).all()
        )
        endpoints = {
            r.id: r
            for r in conn.execute(
                select(
                    E.c.id, E.c.url, E.c.secret, E.c.previous_secret, E.c.previous_secret_expires_at
                ).where(E.c.id.in_({r.endpoint_id for r in leased}))
            )
        }
    current = iso(now)
    jobs = []
    for r in leased:
        endpoint, payload = endpoints.get(r.endpoint_id), payloads.get(r.event_id)
        if endpoint is None or payload is None:  # deleted since: its delivery went with it
            continue
        grace = endpoint.previous_secret_expires_at
        try:
            secret = box.open(endpoint.secret)
            previous = (
                box.open(endpoint.previous_secret)
                if endpoint.previous_secret and grace and grace > current
                else None
            )
        except SecretBoxError:  # another key sealed it: say so; the lease lapses and it is retried
            log.exception("cannot decrypt the secret of webhook endpoint %s; not delivering", r.endpoint_id)
            continue
        jobs.append(
            Job(
                delivery_id=r.id,
                event_id=r.event_id,
                endpoint_id=r.endpoint_id,
                attempt=int(r.attempts) + 1,
                payload=payload,
                url=endpoint.url,
                secret=secret,
                previous_secret=previous,
            )
        )
    return jobs


def _fair_choice(
    conn: Connection, stamp: str, limit: int, per_endpoint: int, per_workspace: int
) -> list[str]:
    """Which due deliveries to lease: round-robin over workspaces, within every cap."""
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
    W = schema.workspaces
    has_due = select(D.c.id).where(D.c.workspace_id == W.c.id, _due(stamp)).exists()
    workspaces = list(conn.execute(select(W.c.id).where(has_due)).scalars())
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


def record(engine: Engine, outcomes: Sequence[Outcome], *, worker_id: str, disable_after: int) -> None:
    """Write a batch of attempts, move each delivery on, and keep endpoint health — one transaction.

    An attempt is always logged (unless its endpoint was deleted meanwhile). The delivery row is
    only moved on while this worker still holds its lease; if the lease was lost (the attempt
    outlived it and another worker reclaimed the delivery), the other worker owns its fate.
    Statements are batched (``executemany``): per-row statements cost more CPU than the delivery.
    """
    if not outcomes:
        return
    with engine.begin() as conn:
        ids = [o.job.delivery_id for o in outcomes]
        alive = set(conn.execute(select(D.c.id).where(D.c.id.in_(ids))).scalars())
        kept = [o for o in outcomes if o.job.delivery_id in alive]  # others: endpoint deleted mid-attempt
        if not kept:
            return
        attempt_rows, delivery_rows = [], []
        for o in kept:
            when = o.attempted_at
            retry_at = o.retry_at
            attempt_rows.append(
                {
                    "id": new_id("att"),
                    "delivery_id": o.job.delivery_id,
                    "endpoint_id": o.job.endpoint_id,
                    "attempt": o.job.attempt,
                    "status": "succeeded" if o.succeeded else "failed",
                    "status_code": o.status_code,
                    "latency_ms": o.latency_ms,
                    "response_snippet": o.response_snippet,
                    "error": o.error,
                    "attempted_at": iso(when),
                    "next_retry_at": iso(retry_at) if retry_at else None,
                }
            )
            delivery_rows.append(
                {
                    "b_id": o.job.delivery_id,
                    "b_status": _delivery_status(o, retry_at is not None),
                    "b_attempts": o.job.attempt,
                    "b_next": precise_iso(retry_at) if retry_at else None,
                    "b_code": o.status_code,
                    "b_updated": iso(when),
                }
            )
        conn.execute(A.insert(), attempt_rows)
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
            delivery_rows,
        )
        by_endpoint: dict[str, list[Outcome]] = {}
        for o in kept:
            by_endpoint.setdefault(o.job.endpoint_id, []).append(o)
        for endpoint_id, batch in by_endpoint.items():
            if all(o.succeeded for o in batch):  # the common case: one statement per endpoint
                conn.execute(
                    update(E)
                    .where(E.c.id == endpoint_id, E.c.consecutive_failures != 0)
                    .values(consecutive_failures=0)
                )
                continue
            for o in batch:  # order matters: a success resets, a failed delivery counts
                _endpoint_health(conn, o, disable_after=disable_after)


def _delivery_status(o: Outcome, will_retry: bool) -> str:
    if o.succeeded:
        return "succeeded"
    if o.gone:
        return "failed"
    return "pending" if will_retry else "exhausted"


def _endpoint_health(conn: Connection, o: Outcome, *, disable_after: int) -> None:
    """Disable at once on 410, or after ``disable_after`` deliveries in a row failed for good.

    What counts is deliveries that ran out of attempts, not failed attempts: with 32 deliveries in
    flight, one short outage of the receiver fails dozens of attempts within a second, and those will
    mostly succeed on retry. A delivery is only exhausted after the whole schedule (about 27 hours by
    default), so disabling needs a failure that lasted — Svix and Stripe disable after days, too.
    Any successful attempt resets the count.
    """
    stamp = iso(o.attempted_at)
    endpoint = E.c.id == o.job.endpoint_id
    if o.succeeded:
        conn.execute(update(E).where(endpoint, E.c.consecutive_failures != 0).values(consecutive_failures=0))
        return
    if o.gone:
        reason = "the receiver answered 410 Gone; re-enable the endpoint to resume deliveries"
        disabled = conn.execute(
            update(E)
            .where(endpoint, E.c.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, updated_at=stamp)
        )
        if disabled.rowcount:
            _announce_disabled(conn, o.job.endpoint_id, reason)
        return
    if o.retry_in is not None:
        return  # it will be retried: not a failed delivery (yet)
    conn.execute(update(E).where(endpoint).values(consecutive_failures=E.c.consecutive_failures + 1))
    if disable_after > 0:
        last = f"HTTP {o.status_code}" if o.status_code is not None else (o.error or "no response")
        reason = (
            f"disabled after {disable_after} consecutive deliveries failed every attempt"
            f" (last: {last}); re-enable the endpoint to resume deliveries"
        )
        disabled = conn.execute(
            update(E)
            .where(endpoint, E.c.enabled.is_(True), E.c.consecutive_failures >= disable_after)
            .values(enabled=False, disabled_reason=reason, updated_at=stamp)
        )
        if disabled.rowcount:
            _announce_disabled(conn, o.job.endpoint_id, reason)


def _announce_disabled(conn: Connection, endpoint_id: str, reason: str) -> None:
    """Emit ``webhook.disabled`` (to the workspace's other subscribed endpoints) in the same
    transaction as the disabling, so the signal is never lost nor sent for a rolled-back change.
    Its timestamp is the workspace's test-clock time, like every other event's."""
    W = schema.workspaces
    row = conn.execute(
        select(E.c.workspace_id, E.c.url, W.c.clock_offset_seconds)
        .join(W, W.c.id == E.c.workspace_id)
        .where(E.c.id == endpoint_id)
    ).first()
    if row is None:
        return
    moment = utcnow() + timedelta(seconds=float(row.clock_offset_seconds or 0.0))
    emit_event(
        conn,
        workspace_id=row.workspace_id,
        event_type="webhook.disabled",
        patient_id=None,
        data={"webhook_id": endpoint_id, "url": row.url, "reason": reason[:1000]},
        timestamp=iso(moment),
    )


def release(engine: Engine, delivery_ids: Sequence[str], *, worker_id: str, now: datetime) -> None:
    """Hand unfinished deliveries back at shutdown so the next worker need not wait out the lease."""
    if not delivery_ids:
        return
    with engine.begin() as conn:
        conn.execute(
            update(D)
            .where(D.c.id.in_(list(delivery_ids)), D.c.status == "delivering", D.c.locked_by == worker_id)
            .values(status="pending", next_attempt_at=precise_iso(now), locked_by=None, locked_until=None)
        )
