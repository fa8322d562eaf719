"""Several dispatchers on one database: each delivery goes out once; PostgreSQL wakes them by NOTIFY."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest

from mock_server.storage import Storage

from .conftest import FAST, running_dispatcher
from .helpers import attempts, deliveries, emit, settled, subscribe, wait_until
from .receiver import Reply, running_receiver


def test_three_dispatchers_deliver_each_event_exactly_once(storage: Storage) -> None:
    with running_receiver(default=Reply(200, delay=0.01)) as rx, ExitStack() as stack:
        subscribe(storage, rx.url)
        dispatchers = [
            stack.enter_context(running_dispatcher(storage, FAST, concurrency=8)) for _ in range(3)
        ]
        ids = set()
        for _ in range(150):
            ids.add(emit(storage))
            dispatchers[len(ids) % 3].wake()
        wait_until(lambda: rx.ids() == ids and settled(storage), timeout=30, what="all 150 delivered")
    assert len(rx.requests) == 150  # no delivery was claimed twice
    assert {a.attempt for a in attempts(storage)} == {1}
    assert all(d.status == "succeeded" for d in deliveries(storage))


def test_postgres_notify_wakes_a_worker_without_wake_calls(storage: Storage) -> None:
    if not storage.is_postgres:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    settings = FAST.replace(dispatcher_poll_seconds=30.0)  # polling would take 30 s
    with running_receiver() as rx, running_dispatcher(storage, settings):
        subscribe(storage, rx.url)
        time.sleep(0.5)  # the listener connects and the dispatcher goes idle
        started = time.monotonic()
        emit(storage)  # committed by another connection, as another process would; no wake()
        (got,) = rx.wait_for(1, timeout=10)
    assert got.at - started < 2.0
