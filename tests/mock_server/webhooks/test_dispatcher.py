"""The dispatcher against a real local receiver: signing, retries, Retry-After, 410, redirects, leases."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import update
from standardwebhooks import Webhook

from mock_server.storage import Storage, schema
from mock_server.webhooks import subscriptions
from mock_server.webhooks.outbox import precise_iso

from .conftest import FAST, running_dispatcher
from .helpers import attempts, deliveries, emit, endpoint_row, sealing_box, settled, subscribe, wait_until
from .receiver import Received, Reply, running_receiver


def test_delivers_signed_event_verifiable_both_ways(storage: Storage) -> None:
    with running_receiver() as rx, running_dispatcher(storage):
        endpoint = subscribe(storage, rx.url, ["pain_entry.created"])
        event_id = emit(storage)
        (got,) = rx.wait_for(1)
        wait_until(lambda: settled(storage), what="delivery recorded")
    assert got.path == "/hooks"
    assert got.headers["webhook-id"] == event_id
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "care-sandbox-webhooks/1"
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["id"] == event_id and payload["event"] == "pain_entry.created"
    expected = hmac.new(endpoint["secret"].encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-p2c-signature"] == f"sha256={expected}"
    (delivery,) = deliveries(storage)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    (logged,) = attempts(storage)
    assert logged.status == "succeeded" and logged.status_code == 200 and logged.response_snippet == "ok"
    assert logged.latency_ms is not None and logged.latency_ms < 1000


def test_unsubscribed_event_types_are_not_delivered(storage: Storage) -> None:
    with running_receiver() as rx:
        subscribe(storage, rx.url, ["consent.revoked"])
        emit(storage)
    assert deliveries(storage) == []


def test_two_failures_then_success_is_three_attempts_with_one_webhook_id(storage: Storage) -> None:
    script = [Reply(500, b"boom"), Reply(500, b"boom again"), Reply(200)]
    with running_receiver(script) as rx, running_dispatcher(storage):
        subscribe(storage, rx.url)
        event_id = emit(storage)
        got = rx.wait_for(3)
        wait_until(lambda: settled(storage), what="delivery recorded")
    assert [r.headers["webhook-id"] for r in got] == [event_id] * 3
    gaps = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38, gaps  # schedule 0, 0.2, 0.4
    timestamps = [int(r.headers["webhook-timestamp"]) for r in got]
    assert max(timestamps) - min(timestamps) <= 2
    log = attempts(storage)
    assert [(a.attempt, a.status, a.status_code) for a in log] == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "succeeded", 200),
    ]
    assert log[0].response_snippet == "boom" and log[0].next_retry_at is not None
    assert log[2].next_retry_at is None
    (delivery,) = deliveries(storage)
    assert delivery.status == "succeeded" and delivery.attempts == 3


def test_runs_out_of_attempts_and_becomes_exhausted(storage: Storage) -> None:
    with running_receiver(default=Reply(503)) as rx, running_dispatcher(storage):
        endpoint = subscribe(storage, rx.url)
        emit(storage)
        rx.wait_for(3)
        wait_until(lambda: settled(storage), what="exhaustion")
        time.sleep(0.3)
    assert len(rx.requests) == 3
    (delivery,) = deliveries(storage)
    assert delivery.status == "exhausted" and delivery.attempts == 3
    assert endpoint_row(storage, endpoint["id"]).consecutive_failures == 1  # one delivery failed for good


def test_retry_after_postpones_the_next_attempt(storage: Storage) -> None:
    settings = FAST.replace(webhook_retry_schedule=(0.0, 0.05))
    script = [Reply(429, headers={"Retry-After": "1"}), Reply(200)]
    with running_receiver(script) as rx, running_dispatcher(storage, settings):
        subscribe(storage, rx.url)
        emit(storage)
        first, second = rx.wait_for(2, timeout=5)
    assert second.at - first.at >= 0.95


def test_gone_disables_the_endpoint_at_once(storage: Storage) -> None:
    with running_receiver(default=Reply(410)) as rx, running_dispatcher(storage):
        endpoint = subscribe(storage, rx.url)
        emit(storage)
        rx.wait_for(1)
        wait_until(lambda: settled(storage), what="410 recorded")
        emit(storage)  # no delivery is queued for a disabled endpoint
        time.sleep(0.3)
    assert len(rx.requests) == 1
    row = endpoint_row(storage, endpoint["id"])
    assert row.enabled is False and "410" in row.disabled_reason
    assert [d.status for d in deliveries(storage)] == ["failed"]


def test_redirects_are_failures_and_never_followed(storage: Storage) -> None:
    settings = FAST.replace(webhook_retry_schedule=(0.0,))
    with (
        running_receiver(default=Reply(302, headers={"Location": "/elsewhere"})) as rx,
        running_dispatcher(storage, settings),
    ):
        subscribe(storage, rx.url)
        emit(storage)
        rx.wait_for(1)
        wait_until(lambda: settled(storage), what="redirect recorded")
    assert [r.path for r in rx.requests] == ["/hooks"]
    (logged,) = attempts(storage)
    assert logged.status == "failed" and logged.status_code == 302 and "redirect" in logged.error


def test_timeouts_are_recorded_and_retried(storage: Storage) -> None:
    settings = FAST.replace(webhook_timeout_seconds=0.3, webhook_retry_schedule=(0.0, 0.1))
    with (
        running_receiver([Reply(200, delay=1.0)], default=Reply(200)) as rx,
        running_dispatcher(storage, settings),
    ):
        subscribe(storage, rx.url)
        emit(storage)
        rx.wait_for(2, timeout=5)
        wait_until(lambda: settled(storage), what="retry after timeout")
    first, second = attempts(storage)
    assert first.status == "failed" and first.status_code is None and "timed out" in first.error
    assert second.status == "succeeded"


def test_connection_refused_is_a_failure_with_an_error(storage: Storage) -> None:
    settings = FAST.replace(webhook_retry_schedule=(0.0,))
    with running_receiver() as rx:
        url = rx.url
    with running_dispatcher(storage, settings):
        subscribe(storage, url)
        emit(storage)
        wait_until(lambda: settled(storage), what="failure recorded")
    (logged,) = attempts(storage)
    assert logged.status == "failed" and logged.status_code is None and "Connect" in logged.error


def test_failed_deliveries_disable_the_endpoint(storage: Storage) -> None:
    settings = FAST.replace(webhook_disable_after_failures=2, webhook_retry_schedule=(0.0, 0.1))
    with running_receiver(default=Reply(500)) as rx, running_dispatcher(storage, settings):
        endpoint = subscribe(storage, rx.url)
        emit(storage)
        rx.wait_for(2)
        wait_until(lambda: settled(storage), what="first delivery exhausted")
        assert endpoint_row(storage, endpoint["id"]).enabled  # one failed delivery is not enough
        emit(storage)
        wait_until(lambda: not endpoint_row(storage, endpoint["id"]).enabled, what="auto-disable")
        emit(storage)  # a disabled endpoint is not subscribed to anything
        time.sleep(0.3)
    reason = endpoint_row(storage, endpoint["id"]).disabled_reason
    assert "2 consecutive deliveries failed every attempt" in reason and "HTTP 500" in reason
    assert len(rx.requests) == 4
    assert sorted(d.status for d in deliveries(storage)) == ["exhausted", "exhausted"]


def test_disabling_pauses_queued_deliveries_and_enabling_resumes(storage: Storage) -> None:
    with running_receiver() as rx:
        endpoint = subscribe(storage, rx.url)
        queued = emit(storage)
        with storage.engine.begin() as conn:
            subscriptions.update_endpoint(conn, "ws_test", endpoint["id"], {"enabled": False})
        with running_dispatcher(storage) as dispatcher:
            time.sleep(0.3)
            assert rx.requests == []
            assert [d.status for d in deliveries(storage)] == ["pending"]
            with storage.engine.begin() as conn:
                subscriptions.update_endpoint(conn, "ws_test", endpoint["id"], {"enabled": True})
            dispatcher.wake()
            (got,) = rx.wait_for(1)
            wait_until(lambda: settled(storage), what="resumed delivery")
    assert got.headers["webhook-id"] == queued
    assert endpoint_row(storage, endpoint["id"]).disabled_reason is None


def test_a_burst_of_failed_attempts_that_later_succeed_does_not_disable(storage: Storage) -> None:
    settings = FAST.replace(webhook_disable_after_failures=3, webhook_retry_schedule=(0.0, 0.1))
    with running_receiver() as rx, running_dispatcher(storage, settings):
        seen: set[str] = set()

        def first_try_fails(got: Received) -> Reply:  # a short outage hitting every event once
            msg_id = got.headers["webhook-id"]
            if msg_id in seen:
                return Reply(200)
            seen.add(msg_id)
            return Reply(503)

        rx.responder = first_try_fails
        endpoint = subscribe(storage, rx.url)
        ids = {emit(storage) for _ in range(10)}
        try:
            wait_until(lambda: rx.ids() == ids and settled(storage), what="all delivered after the outage")
        except AssertionError:
            states = [(d.status, d.attempts, d.next_attempt_at, d.locked_until) for d in deliveries(storage)]
            raise AssertionError(f"{len(rx.requests)} requests; {states}") from None
    assert endpoint_row(storage, endpoint["id"]).enabled
    assert (
        sorted((a.attempt, a.status) for a in attempts(storage))
        == [(1, "failed")] * 10 + [(2, "succeeded")] * 10
    )


def test_expired_lease_of_a_crashed_worker_is_reclaimed(storage: Storage) -> None:
    with running_receiver() as rx:
        subscribe(storage, rx.url)
        event_id = emit(storage)
        past = precise_iso(datetime.now(UTC) - timedelta(seconds=1))
        with storage.engine.begin() as conn:  # as left by a worker killed mid-attempt
            conn.execute(
                update(schema.deliveries).values(status="delivering", locked_by="dead:1", locked_until=past)
            )
        with running_dispatcher(storage):
            (got,) = rx.wait_for(1)
            wait_until(lambda: settled(storage), what="reclaimed delivery")
    assert got.headers["webhook-id"] == event_id
    assert [(a.attempt, a.status) for a in attempts(storage)] == [(1, "succeeded")]


def test_live_lease_is_respected(storage: Storage) -> None:
    with running_receiver() as rx:
        subscribe(storage, rx.url)
        emit(storage)
        future = precise_iso(datetime.now(UTC) + timedelta(seconds=60))
        with storage.engine.begin() as conn:
            conn.execute(
                update(schema.deliveries).values(status="delivering", locked_by="busy:1", locked_until=future)
            )
        with running_dispatcher(storage):
            time.sleep(0.4)
    assert rx.requests == []


def test_rotation_grace_period_sends_both_signatures(storage: Storage) -> None:
    with running_receiver() as rx, running_dispatcher(storage):
        endpoint = subscribe(storage, rx.url)
        with storage.engine.begin() as conn:
            rotated = subscriptions.rotate_secret(
                conn, "ws_test", endpoint["id"], grace_seconds=3600, box=sealing_box()
            )
        emit(storage)
        (got,) = rx.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(endpoint["secret"]).verify(got.body, got.headers)
    Webhook(rotated["secret"]).verify(got.body, got.headers)
    expected = hmac.new(rotated["secret"].encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-p2c-signature"] == f"sha256={expected}"


def test_rotation_without_grace_signs_with_the_new_secret_only(storage: Storage) -> None:
    with running_receiver() as rx, running_dispatcher(storage):
        endpoint = subscribe(storage, rx.url)
        with storage.engine.begin() as conn:
            rotated = subscriptions.rotate_secret(
                conn, "ws_test", endpoint["id"], grace_seconds=0, box=sealing_box()
            )
        emit(storage)
        (got,) = rx.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated["secret"]).verify(got.body, got.headers)


def test_strict_mode_refuses_loopback_at_delivery_time(storage: Storage) -> None:
    settings = FAST.replace(webhook_allow_private_targets=False, webhook_retry_schedule=(0.0,))
    with running_receiver() as rx, running_dispatcher(storage, settings):
        subscribe(storage, rx.url)  # stored directly, as if DNS had changed since subscribing
        emit(storage)
        wait_until(lambda: settled(storage), what="refusal recorded")
    assert rx.requests == []
    (logged,) = attempts(storage)
    assert logged.status == "failed" and "loopback" in logged.error


def test_wake_starts_delivery_before_the_next_poll(storage: Storage) -> None:
    settings = FAST.replace(dispatcher_poll_seconds=30.0)
    with running_receiver() as rx, running_dispatcher(storage, settings) as dispatcher:
        subscribe(storage, rx.url)
        time.sleep(0.2)  # let it go idle
        started = time.monotonic()
        emit(storage)
        dispatcher.wake()
        (got,) = rx.wait_for(1, timeout=5)
    assert got.at - started < 0.5


def test_many_events_are_delivered_in_parallel(storage: Storage) -> None:
    uncapped = FAST.replace(webhook_endpoint_inflight=0, webhook_workspace_inflight=0)  # caps: test_fairness
    with (
        running_receiver(default=Reply(200, delay=0.3)) as rx,
        running_dispatcher(storage, uncapped) as dispatcher,
    ):
        subscribe(storage, rx.url)
        started = time.monotonic()
        ids = {emit(storage) for _ in range(40)}
        dispatcher.wake()
        rx.wait_for(40)
        elapsed = time.monotonic() - started
        wait_until(lambda: settled(storage), what="all recorded")
    assert rx.ids() == ids
    assert elapsed < 2.0  # 40 × 0.3 s serially would be 12 s


def test_deleting_an_endpoint_mid_attempt_is_harmless(storage: Storage) -> None:
    with running_receiver(default=Reply(200, delay=0.5)) as rx, running_dispatcher(storage):
        endpoint = subscribe(storage, rx.url)
        emit(storage)
        rx.wait_for(1)
        with storage.engine.begin() as conn:
            subscriptions.delete_endpoint(conn, "ws_test", endpoint["id"])
        time.sleep(0.8)
    assert deliveries(storage) == [] and attempts(storage) == []


def test_payload_is_the_stored_event_body(storage: Storage) -> None:
    with running_receiver() as rx, running_dispatcher(storage):
        subscribe(storage, rx.url)
        emit(storage, "consent.revoked", {"consent_id": "cns_1", "revoked_at": "2026-05-04T09:00:00Z"})
        (got,) = rx.wait_for(1)
    body = orjson.loads(got.body)
    assert body["event"] == "consent.revoked"
    assert body["data"] == {"consent_id": "cns_1", "revoked_at": "2026-05-04T09:00:00Z"}
    assert set(body) == {"id", "event", "patient_id", "timestamp", "data"}
