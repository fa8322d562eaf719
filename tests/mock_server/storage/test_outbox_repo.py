"""storage.outbox's contract, the same on SQLite and PostgreSQL: events, the queue, leases, attempts."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select, text

from mock_server.storage import Storage, schema
from mock_server.storage import outbox as rows
from mock_server.storage import webhooks as endpoints
from mock_server.storage.outbox import AttemptRecord, DeliveryQueue, NewEvent
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.timeutil import iso

D = schema.deliveries
A = schema.delivery_attempts
NOW = datetime(2026, 5, 4, 9, 0, 0, 123000, tzinfo=UTC)


def _workspace(storage: Storage) -> str:
    return WorkspaceRepo(storage).create(f"ws-{secrets.token_hex(6)}", seed=1).workspace.id


def _endpoint(
    storage: Storage, workspace_id: str, events: list[str] | None = None, *, enabled: bool = True
) -> str:
    endpoint_id = rows.new_id("we")
    with storage.engine.begin() as conn:
        endpoints.insert(
            conn,
            endpoint_id=endpoint_id,
            workspace_id=workspace_id,
            url="https://partner.example/hooks",
            events=events or ["*"],
            description=None,
            enabled=enabled,
            disabled_reason=None if enabled else "off",
            sealed_secret="sealed-secret",
            now=iso(NOW),
        )
    return endpoint_id


def _emit(
    storage: Storage, workspace_id: str, endpoint_ids: list[str], *, moment: datetime = NOW
) -> NewEvent:
    event = NewEvent(
        rows.new_id("evt"), workspace_id, "webhook.test", None, '{"x": 1}', occurred_at=iso(moment)
    )
    with storage.engine.begin() as conn:
        rows.insert_event(conn, event, endpoint_ids, moment=moment)
    return event


def _deliveries(storage: Storage) -> list[dict[str, object]]:
    with storage.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(D).order_by(D.c.created_at, D.c.id))]


def test_precise_iso_is_fixed_width_and_sorts_as_time() -> None:
    moments = [NOW, NOW + timedelta(milliseconds=1), NOW + timedelta(seconds=1), NOW + timedelta(days=400)]
    stamps = [rows.precise_iso(m) for m in moments]
    assert stamps[0] == "2026-05-04T09:00:00.123Z"
    assert {len(s) for s in stamps} == {24} and stamps == sorted(stamps)


def test_subscribers_are_the_workspaces_enabled_endpoints(storage: Storage) -> None:
    workspace_id, other = _workspace(storage), _workspace(storage)
    wild = _endpoint(storage, workspace_id)
    some = _endpoint(storage, workspace_id, ["consent.granted"])
    _endpoint(storage, workspace_id, enabled=False)
    _endpoint(storage, other)
    with storage.engine.connect() as conn:
        assert sorted(rows.subscribers(conn, workspace_id)) == sorted(
            [(wild, ["*"]), (some, ["consent.granted"])]
        )
        assert rows.subscribers(conn, workspace_id, some) == [(some, ["consent.granted"])]


def test_an_event_queues_one_pending_delivery_per_endpoint_due_at_once(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    first, second = _endpoint(storage, workspace_id), _endpoint(storage, workspace_id)
    event = _emit(storage, workspace_id, [first, second])
    queued = _deliveries(storage)
    assert {d["endpoint_id"] for d in queued} == {first, second}
    assert {(d["event_id"], d["status"], d["attempts"], d["next_attempt_at"]) for d in queued} == {
        (event.id, "pending", 0, "2026-05-04T09:00:00.123Z")
    }
    with storage.engine.connect() as conn:
        stored = conn.execute(select(schema.events).where(schema.events.c.id == event.id)).one()
        assert stored.payload == event.payload and stored.occurred_at == event.occurred_at
        assert rows.delivery_for(conn, event.id, first) is not None
        assert rows.delivery_for(conn, event.id, "we_nobody") is None


def test_the_event_rolls_back_with_the_callers_unit_of_work(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    event = NewEvent(rows.new_id("evt"), workspace_id, "webhook.test", None, "{}", occurred_at=iso(NOW))
    with pytest.raises(RuntimeError), storage.engine.begin() as conn:
        rows.insert_event(conn, event, [endpoint_id], moment=NOW)
        raise RuntimeError("the data change failed")
    assert _deliveries(storage) == []
    with storage.engine.connect() as conn:
        assert conn.execute(select(schema.events)).all() == []


def test_lease_takes_due_deliveries_once_until_the_lease_runs_out(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    _emit(storage, workspace_id, [endpoint_id])
    _emit(storage, workspace_id, [endpoint_id], moment=NOW + timedelta(minutes=5))  # not due yet
    queue = DeliveryQueue(storage.engine)
    with queue.reading() as conn:
        assert rows.has_due(conn, rows.precise_iso(NOW))
        assert rows.next_due(conn) == rows.precise_iso(NOW)
        ids = [d["id"] for d in _deliveries(storage)]
    with queue.writing() as conn:
        leased = rows.lease(conn, ids, now=NOW, worker_id="w1", lease_seconds=30)
    assert [(x.endpoint_id, x.attempts) for x in leased] == [(endpoint_id, 0)]
    taken = next(d for d in _deliveries(storage) if d["id"] == leased[0].delivery_id)
    assert (taken["status"], taken["locked_by"], taken["locked_until"]) == (
        "delivering",
        "w1",
        rows.precise_iso(NOW + timedelta(seconds=30)),
    )
    with queue.writing() as conn:
        assert rows.lease(conn, ids, now=NOW + timedelta(seconds=1), worker_id="w2", lease_seconds=30) == []
    later = NOW + timedelta(seconds=31)  # w1 died: its lease ran out
    with queue.writing() as conn:
        again = rows.lease(conn, [leased[0].delivery_id], now=later, worker_id="w2", lease_seconds=30)
    assert [x.delivery_id for x in again] == [leased[0].delivery_id]
    with queue.reading() as conn:
        assert rows.next_due(conn) == rows.precise_iso(later + timedelta(seconds=30))
        sendable = rows.sendable(conn, again, now=later)
    assert [(s.payload, s.url, s.sealed_secret, s.sealed_previous_secret) for s in sendable] == [
        ('{"x": 1}', "https://partner.example/hooks", "sealed-secret", None)
    ]


def test_deliveries_of_a_disabled_endpoint_wait(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    _emit(storage, workspace_id, [endpoint_id])
    with storage.engine.begin() as conn:
        assert endpoints.disable(conn, endpoint_id, reason="test", updated_at=iso(NOW))
    with storage.engine.begin() as conn:
        assert not rows.has_due(conn, rows.precise_iso(NOW))
        assert rows.fair_choice(conn, rows.precise_iso(NOW), 10, 0, 0) == []
        assert (
            rows.lease(conn, [d["id"] for d in _deliveries(storage)], now=NOW, worker_id="w", lease_seconds=5)
            == []
        )
    assert [d["status"] for d in _deliveries(storage)] == ["pending"]


def test_fair_choice_deals_round_robin_within_the_caps(storage: Storage) -> None:
    busy, quiet = _workspace(storage), _workspace(storage)
    busy_endpoints = [_endpoint(storage, busy) for _ in range(3)]
    quiet_endpoint = _endpoint(storage, quiet)
    for _ in range(4):
        _emit(storage, busy, busy_endpoints)
    _emit(storage, quiet, [quiet_endpoint])
    stamp = rows.precise_iso(NOW)
    by_id = {d["id"]: d for d in _deliveries(storage)}
    with storage.engine.connect() as conn:
        chosen = rows.fair_choice(conn, stamp, 4, 0, 0)
        capped = rows.fair_choice(conn, stamp, 12, 2, 3)
    assert len(chosen) == 4 and quiet in {by_id[c]["workspace_id"] for c in chosen}
    per_workspace = {w: sum(by_id[c]["workspace_id"] == w for c in capped) for w in (busy, quiet)}
    assert per_workspace == {busy: 3, quiet: 1}
    per_endpoint = [sum(by_id[c]["endpoint_id"] == e for c in capped) for e in busy_endpoints]
    assert max(per_endpoint) <= 2


def _record(
    delivery_id: str, endpoint_id: str, *, succeeded: bool, retry_at: datetime | None
) -> AttemptRecord:
    return AttemptRecord(
        delivery_id=delivery_id,
        endpoint_id=endpoint_id,
        attempt=1,
        succeeded=succeeded,
        status_code=200 if succeeded else 503,
        latency_ms=12.5,
        response_snippet="ok" if succeeded else "busy",
        error=None,
        attempted_at=NOW,
        retry_at=retry_at,
        delivery_status="succeeded" if succeeded else "pending",
    )


def test_record_logs_attempts_and_moves_only_deliveries_this_worker_holds(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    for _ in range(3):
        _emit(storage, workspace_id, [endpoint_id])
    ids = [d["id"] for d in _deliveries(storage)]
    with storage.engine.begin() as conn:
        rows.lease(conn, ids[:2], now=NOW, worker_id="mine", lease_seconds=30)
        rows.lease(conn, ids[2:], now=NOW, worker_id="theirs", lease_seconds=30)
    retry = NOW + timedelta(seconds=2)
    records = [
        _record(ids[0], endpoint_id, succeeded=True, retry_at=None),
        _record(ids[1], endpoint_id, succeeded=False, retry_at=retry),
        _record(ids[2], endpoint_id, succeeded=True, retry_at=None),  # its lease is another worker's
        _record("dlv_deleted_meanwhile", endpoint_id, succeeded=True, retry_at=None),
    ]
    with storage.engine.begin() as conn:
        kept = rows.record_attempts(conn, records, worker_id="mine")
    assert [r.delivery_id for r in kept] == ids
    after = {d["id"]: d for d in _deliveries(storage)}
    assert (after[ids[0]]["status"], after[ids[0]]["locked_by"], after[ids[0]]["attempts"]) == (
        "succeeded",
        None,
        1,
    )
    assert (after[ids[1]]["status"], after[ids[1]]["next_attempt_at"]) == ("pending", rows.precise_iso(retry))
    assert (after[ids[2]]["status"], after[ids[2]]["locked_by"]) == ("delivering", "theirs")
    with storage.engine.connect() as conn:
        logged = conn.execute(select(A.c.delivery_id, A.c.status, A.c.next_retry_at)).all()
    assert sorted(logged) == sorted(
        [(ids[0], "succeeded", None), (ids[1], "failed", iso(retry)), (ids[2], "succeeded", None)]
    )


def test_release_hands_unfinished_deliveries_back_due_now(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    _emit(storage, workspace_id, [endpoint_id])
    (delivery_id,) = [d["id"] for d in _deliveries(storage)]
    with storage.engine.begin() as conn:
        rows.lease(conn, [delivery_id], now=NOW, worker_id="w1", lease_seconds=30)
        rows.release(conn, [delivery_id], worker_id="somebody else", now=NOW)
    assert _deliveries(storage)[0]["status"] == "delivering"
    stop = NOW + timedelta(seconds=3)
    with storage.engine.begin() as conn:
        rows.release(conn, [delivery_id], worker_id="w1", now=stop)
    (released,) = _deliveries(storage)
    assert (released["status"], released["locked_by"], released["next_attempt_at"]) == (
        "pending",
        None,
        rows.precise_iso(stop),
    )


def test_redelivery_queues_the_same_event_again(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    event = _emit(storage, workspace_id, [endpoint_id])
    (first,) = [d["id"] for d in _deliveries(storage)]
    with storage.engine.begin() as conn:
        assert rows.event_of_delivery(conn, workspace_id, endpoint_id, first) == event.id
        assert rows.event_of_delivery(conn, _workspace(storage), endpoint_id, first) is None
        again = rows.queue_delivery(
            conn, event_id=event.id, endpoint_id=endpoint_id, workspace_id=workspace_id, moment=NOW
        )
    assert again != first and {d["event_id"] for d in _deliveries(storage)} == {event.id}


# -- PostgreSQL only: SKIP LOCKED and NOTIFY -------------------------------------------------------


def test_a_lease_skips_rows_another_worker_is_leasing(storage: Storage) -> None:
    """SKIP LOCKED: while one transaction holds a delivery's row, another worker's lease takes the
    rest at once instead of waiting (a lock_timeout makes waiting fail the test)."""
    if not storage.is_postgres:
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    for _ in range(3):
        _emit(storage, workspace_id, [endpoint_id])
    ids = [d["id"] for d in _deliveries(storage)]
    with storage.engine.connect() as holder:
        holder.begin()
        holder.execute(select(D.c.id).where(D.c.id == ids[0]).with_for_update())
        with storage.engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            leased = rows.lease(conn, ids, now=NOW, worker_id="w2", lease_seconds=30)
        holder.rollback()
    assert sorted(x.delivery_id for x in leased) == sorted(ids[1:])


def test_queuing_a_delivery_notifies_the_dispatchers_at_commit(storage: Storage) -> None:
    if not storage.is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    workspace_id = _workspace(storage)
    endpoint_id = _endpoint(storage, workspace_id)
    url = storage.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {rows.NOTIFY_CHANNEL}")
        _emit(storage, workspace_id, [endpoint_id])
        heard = [n.channel for n in listener.notifies(timeout=5.0, stop_after=1)]
    assert heard == [rows.NOTIFY_CHANNEL]
