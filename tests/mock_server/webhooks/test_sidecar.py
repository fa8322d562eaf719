"""The dispatcher of ``serve`` as a child process: same settings, woken through a pipe, never orphaned."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import create_engine

from mock_server.settings import Settings
from mock_server.storage import Storage
from mock_server.webhooks import sidecar
from mock_server.webhooks.dispatcher import Dispatcher

from .conftest import FAST, running_dispatcher
from .helpers import attempts, emit, settled, subscribe, wait_until
from .receiver import Reply, running_receiver


def test_settings_survive_the_trip_through_the_environment() -> None:
    settings = Settings(
        webhook_retry_schedule=(0.0, 0.25, 3.0),
        webhook_allow_private_targets=False,
        webhook_timeout_seconds=2.5,
        port=0,
        database_url="sqlite:////tmp/x.sqlite3",
    )
    assert Settings.from_env(settings.to_env()) == settings


def test_default_is_a_process_except_for_in_memory_databases(storage: Storage) -> None:
    assert Dispatcher(storage, FAST).process is True
    memory = Storage(engine=create_engine("sqlite://"), url="sqlite://")  # no other process could open it
    assert Dispatcher(memory, FAST).process is False
    assert (
        Dispatcher(storage, FAST, transport=httpx.MockTransport(lambda r: httpx.Response(200))).process
        is False
    )


def test_a_sidecar_delivers_with_the_servers_settings_and_wakes_at_once(storage: Storage) -> None:
    settings = FAST.replace(database_url=storage.url, dispatcher_poll_seconds=30.0)  # only wake() is fast
    script = [Reply(500), Reply(500), Reply(200)]
    with running_receiver(script) as rx, running_dispatcher(storage, settings, process=True) as dispatcher:
        subscribe(storage, rx.url)
        deadline = time.monotonic() + 20
        while dispatcher._pipe is None and time.monotonic() < deadline:  # the child is starting
            time.sleep(0.02)
        time.sleep(1.0)  # and idle
        started = time.monotonic()
        emit(storage)
        dispatcher.wake()
        got = rx.wait_for(3, timeout=10)
        wait_until(lambda: settled(storage), what="recorded by the child")
    assert got[0].at - started < 1.0
    assert got[2].at - got[0].at >= 0.55  # the schedule 0, 0.2, 0.4 reached the child
    assert [a.status_code for a in attempts(storage)] == [500, 500, 200]


def test_the_child_exits_when_the_server_goes_away(storage: Storage) -> None:
    proc, pipe = sidecar.start(FAST.replace(database_url=storage.url), concurrency=4)
    try:
        time.sleep(1.0)
        assert proc.poll() is None
        pipe.close()  # what the kernel does for a server killed with SIGKILL
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_poking_a_closed_pipe_is_harmless() -> None:
    read_end, write_end = os.pipe()
    pipe = sidecar.Pipe(write_end)
    assert pipe.poke()
    os.close(read_end)
    assert pipe.poke()  # the child died: EPIPE is swallowed
    pipe.close()
    assert not pipe.poke()


def test_the_worker_entry_point_has_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mock_server.webhooks.dispatcher", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--wake-fd" in out.stdout and "--database-url" in out.stdout


def test_when_the_child_keeps_dying_the_server_delivers_itself(storage: Storage) -> None:
    if storage.is_postgres:
        pytest.skip("the fallback does not depend on the backend")
    broken = FAST.replace(database_url="postgresql://nobody@127.0.0.1:1/none")  # the child cannot connect
    with running_receiver() as rx, running_dispatcher(storage, broken, process=True) as dispatcher:
        subscribe(storage, rx.url)
        event_id = emit(storage)
        dispatcher.wake()
        (got,) = rx.wait_for(1, timeout=30)
    assert got.headers["webhook-id"] == event_id
