"""One workspace's dead or hanging endpoints never delay another workspace's deliveries (issue 13).

Before: the dispatcher's 32 slots went first come, first served; 40 endpoints of one workspace that
time out delayed another workspace's test delivery from 0.2 s to 14 s. Now each endpoint and each
workspace may hold only so many attempts in flight, and free slots go round-robin over workspaces.
The disabling of an endpoint is announced with a ``webhook.disabled`` event in the same transaction.
"""

from __future__ import annotations

import statistics
import time

import orjson
from sqlalchemy import select

from mock_server.storage import Storage, schema
from mock_server.webhooks.outbox import EVENT_TYPES

from .conftest import FAST, running_dispatcher
from .helpers import emit, endpoint_row, subscribe, wait_until
from .receiver import Reply, running_receiver
from .schemas import assert_valid_event

HANG = 3.0  # the hanging endpoints answer after this long; the attempt times out first


def _max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max((sum(1 for t in ordered if s <= t < s + window) for s in ordered), default=0)


def test_hanging_endpoints_of_one_workspace_do_not_delay_another(storage: Storage) -> None:
    settings = FAST.replace(
        webhook_timeout_seconds=HANG - 0.5,
        webhook_retry_schedule=(0.0, 0.5),
        webhook_workspace_inflight=16,
        webhook_endpoint_inflight=2,
    )
    with (
        running_receiver(default=Reply(200, delay=HANG)) as dead,
        running_receiver() as alive,
        running_dispatcher(storage, settings) as dispatcher,
    ):
        for i in range(40):
            subscribe(storage, f"{dead.url}/{i}", workspace_id="ws_other")
        subscribe(storage, alive.url, workspace_id="ws_test")
        for _ in range(3):  # 120 deliveries that each hold a slot until the timeout
            emit(storage, workspace_id="ws_other")
        dispatcher.wake()
        wait_until(lambda: len(dead.requests) >= 16, what="the hanging workspace to fill its share")
        latencies = []
        for _ in range(10):
            started = time.monotonic()
            emit(storage, workspace_id="ws_test")
            dispatcher.wake()
            got = alive.wait_for(len(alive.requests) + 1)
            latencies.append(got[-1].at - started)
            time.sleep(0.05)
        arrivals = [r.at for r in dead.requests]
    # the hanging workspace never held more than its share of the slots at once
    assert _max_in_window(arrivals, HANG - 0.7) <= 16
    # and the other workspace's deliveries went straight through, far below the hang
    assert max(latencies) < 1.0, latencies
    assert statistics.median(latencies) < 0.3, latencies


def test_one_endpoint_never_has_more_than_its_cap_in_flight(storage: Storage) -> None:
    settings = FAST.replace(webhook_endpoint_inflight=3, webhook_workspace_inflight=16)
    with running_receiver(default=Reply(200, delay=0.6)) as rx, running_dispatcher(storage, settings) as d:
        subscribe(storage, rx.url)
        for _ in range(9):
            emit(storage)
        d.wake()
        rx.wait_for(9)
        arrivals = [r.at for r in rx.requests]
    assert _max_in_window(arrivals, 0.5) == 3  # three at a time, each round after the last answered
    assert max(arrivals) - min(arrivals) >= 1.1  # 9 at 3 in flight: three rounds of 0.6 s


def test_disabling_an_endpoint_emits_webhook_disabled_to_the_others(storage: Storage) -> None:
    assert "webhook.disabled" in EVENT_TYPES
    with (
        running_receiver(default=Reply(410)) as gone,
        running_receiver() as watcher,
        running_dispatcher(storage, FAST) as dispatcher,
    ):
        dead = subscribe(storage, gone.url, ["pain_entry.created"])
        subscribe(storage, watcher.url, ["webhook.disabled"])
        subscribe(storage, watcher.url, ["webhook.disabled"], workspace_id="ws_other")  # not told
        emit(storage)
        dispatcher.wake()
        (got,) = watcher.wait_for(1)
        time.sleep(0.3)
        assert len(watcher.requests) == 1
    payload = orjson.loads(got.body)
    assert_valid_event(payload)
    assert payload["event"] == "webhook.disabled" and payload["patient_id"] is None
    assert payload["data"]["webhook_id"] == dead["id"] and payload["data"]["url"] == gone.url
    assert "410" in payload["data"]["reason"]
    assert endpoint_row(storage, dead["id"]).enabled is False
    with storage.engine.connect() as conn:
        events = conn.execute(
            select(schema.events.c.workspace_id).where(schema.events.c.type == "webhook.disabled")
        )
        assert [r[0] for r in events] == ["ws_test"]
