"""The delivery queue, as the dispatcher uses it: claim due deliveries under a lease, record what
happened, keep endpoints healthy.

Why a lease: a worker marks the deliveries it takes ``delivering`` with ``locked_by`` and
``locked_until``. If it dies (``kill -9``, OOM, power), nothing unlocks them explicitly; the lease
simply expires and any worker claims them again — the retry carries the same ``webhook-id``, so a
receiver that had already seen it deduplicates. That is at-least-once delivery with nothing lost.

The SQL is in ``mock_server.storage.outbox`` (the queue) and ``storage.webhooks`` (endpoint health);
this module owns the transaction boundaries and the decisions. A claim is up to four short steps:
when the dispatcher was not told that work arrived, a read-only probe first, so an idle queue costs
no write transaction; the fair choice, read outside the write transaction; the lease, one statement
in its own write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers claim
concurrently without waiting on each other); and what to send, read after the lease committed.
Secrets are opened here, in memory only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mock_server.secretbox import SecretBox, SecretBoxError
from mock_server.storage import Connection
from mock_server.storage import outbox as queue_rows
from mock_server.storage import webhooks as endpoint_rows
from mock_server.storage.outbox import AttemptRecord, DeliveryQueue
from mock_server.timeutil import iso, utcnow
from mock_server.webhooks.outbox import emit_event, precise_iso

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


def next_due(queue: DeliveryQueue) -> str | None:
    """The earliest time (precise form) anything claimable becomes due, for sizing the idle sleep."""
    with queue.reading() as conn:
        return queue_rows.next_due(conn)


def claim(
    queue: DeliveryQueue,
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
        with queue.reading() as conn:
            if not queue_rows.has_due(conn, stamp):
                return []
    with queue.reading() as conn:  # choose outside the write transaction; the lease re-checks
        chosen_ids = queue_rows.fair_choice(conn, stamp, limit, per_endpoint, per_workspace)
    if not chosen_ids:
        return []
    with queue.writing() as conn:  # the write lock is held only for this one statement
        leased = queue_rows.lease(conn, chosen_ids, now=now, worker_id=worker_id, lease_seconds=lease_seconds)
    if not leased:
        return []
    with queue.reading() as conn:  # what to send, read outside the write transaction
        found = queue_rows.sendable(conn, leased, now=now)
    jobs = []
    for item in found:
        try:
            secret = box.open(item.sealed_secret)
            previous = box.open(item.sealed_previous_secret) if item.sealed_previous_secret else None
        except SecretBoxError:  # another key sealed it: say so; the lease lapses and it is retried
            log.exception(
                "cannot decrypt the secret of webhook endpoint %s; not delivering", item.leased.endpoint_id
            )
            continue
        jobs.append(
            Job(
                delivery_id=item.leased.delivery_id,
                event_id=item.leased.event_id,
                endpoint_id=item.leased.endpoint_id,
                attempt=item.leased.attempts + 1,
                payload=item.payload,
                url=item.url,
                secret=secret,
                previous_secret=previous,
            )
        )
    return jobs


def record(queue: DeliveryQueue, outcomes: Sequence[Outcome], *, worker_id: str, disable_after: int) -> None:
    """Write a batch of attempts, move each delivery on, and keep endpoint health — one transaction.

    An attempt is always logged (unless its endpoint was deleted meanwhile). The delivery row is
    only moved on while this worker still holds its lease; if the lease was lost (the attempt
    outlived it and another worker reclaimed the delivery), the other worker owns its fate.
    Statements are batched (``executemany``): per-row statements cost more CPU than the delivery.
    """
    if not outcomes:
        return
    with queue.writing() as conn:
        logged = queue_rows.record_attempts(conn, [_record_of(o) for o in outcomes], worker_id=worker_id)
        alive = {r.delivery_id for r in logged}  # the others' endpoints were deleted mid-attempt
        by_endpoint: dict[str, list[Outcome]] = {}
        for o in outcomes:
            if o.job.delivery_id in alive:
                by_endpoint.setdefault(o.job.endpoint_id, []).append(o)
        for endpoint_id, batch in by_endpoint.items():
            if all(o.succeeded for o in batch):  # the common case: one statement per endpoint
                endpoint_rows.reset_failures(conn, endpoint_id)
                continue
            for o in batch:  # order matters: a success resets, a failed delivery counts
                _endpoint_health(conn, o, disable_after=disable_after)


def _record_of(o: Outcome) -> AttemptRecord:
    retry_at = o.retry_at
    return AttemptRecord(
        delivery_id=o.job.delivery_id,
        endpoint_id=o.job.endpoint_id,
        attempt=o.job.attempt,
        succeeded=o.succeeded,
        status_code=o.status_code,
        latency_ms=o.latency_ms,
        response_snippet=o.response_snippet,
        error=o.error,
        attempted_at=o.attempted_at,
        retry_at=retry_at,
        delivery_status=_delivery_status(o, retry_at is not None),
    )


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
    endpoint_id = o.job.endpoint_id
    if o.succeeded:
        endpoint_rows.reset_failures(conn, endpoint_id)
        return
    if o.gone:
        reason = "the receiver answered 410 Gone; re-enable the endpoint to resume deliveries"
        if endpoint_rows.disable(conn, endpoint_id, reason=reason, updated_at=stamp):
            _announce_disabled(conn, endpoint_id, reason)
        return
    if o.retry_in is not None:
        return  # it will be retried: not a failed delivery (yet)
    endpoint_rows.count_failed_delivery(conn, endpoint_id)
    if disable_after > 0:
        last = f"HTTP {o.status_code}" if o.status_code is not None else (o.error or "no response")
        reason = (
            f"disabled after {disable_after} consecutive deliveries failed every attempt"
            f" (last: {last}); re-enable the endpoint to resume deliveries"
        )
        if endpoint_rows.disable(
            conn, endpoint_id, reason=reason, updated_at=stamp, failures_at_least=disable_after
        ):
            _announce_disabled(conn, endpoint_id, reason)


def _announce_disabled(conn: Connection, endpoint_id: str, reason: str) -> None:
    """Emit ``webhook.disabled`` (to the workspace's other subscribed endpoints) in the same
    transaction as the disabling, so the signal is never lost nor sent for a rolled-back change.
    Its timestamp is the workspace's test-clock time, like every other event's."""
    owner = endpoint_rows.owner(conn, endpoint_id)
    if owner is None:
        return
    moment = utcnow() + timedelta(seconds=owner.clock_offset_seconds)
    emit_event(
        conn,
        workspace_id=owner.workspace_id,
        event_type="webhook.disabled",
        patient_id=None,
        data={"webhook_id": endpoint_id, "url": owner.url, "reason": reason[:1000]},
        timestamp=iso(moment),
    )


def release(queue: DeliveryQueue, delivery_ids: Sequence[str], *, worker_id: str, now: datetime) -> None:
    """Hand unfinished deliveries back at shutdown so the next worker need not wait out the lease."""
    if not delivery_ids:
        return
    with queue.writing() as conn:
        queue_rows.release(conn, delivery_ids, worker_id=worker_id, now=now)
