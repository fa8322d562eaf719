"""``kill -9`` mid-delivery loses nothing: after a restart every event arrives (same ``webhook-id``).

A real process is killed with SIGKILL while deliveries are in flight to a slow receiver, then started
again on the same SQLite database. Deliveries it had leased are reclaimed when their lease expires;
the receiver counts distinct ``webhook-id`` values, as a partner deduplicating on it would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mock_server.storage import Storage

from .conftest import add_workspace
from .helpers import deliveries, emit, subscribe, wait_until
from .receiver import Reply, running_receiver

pytestmark = pytest.mark.slow

EVENTS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(kind: str, database_url: str) -> list[str]:
    if kind == "serve":
        return [
            sys.executable,
            "-m",
            "mock_server",
            "serve",
            "--port",
            str(_free_port()),
            "--no-demo",
            "--database-url",
            database_url,
            "--webhook-retry-schedule",
            "0,0.5,1",
        ]
    return [
        sys.executable,
        "-m",
        "mock_server.webhooks.dispatcher",
        "--database-url",
        database_url,
        "--webhook-retry-schedule",
        "0,0.5,1",
        "--webhook-timeout-seconds",
        "1",
        "--dispatcher-poll-seconds",
        "0.05",
    ]


@contextmanager
def process(kind: str, database_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CARE_SANDBOX_WEBHOOK_TIMEOUT_SECONDS": "1",
        "CARE_SANDBOX_DISPATCHER_POLL_SECONDS": "0.05",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            _command(kind, database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()  # serve stops its dispatcher process itself
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize("kind", ["worker", "serve"])
def test_sigkill_mid_delivery_loses_nothing(kind: str, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    storage = Storage.open(database_url)
    add_workspace(storage)
    log = tmp_path / f"{kind}.log"
    try:
        with running_receiver(default=Reply(200, delay=0.2)) as rx:
            subscribe(storage, rx.url)
            with process(kind, database_url, log) as first:
                ids = {emit(storage) for _ in range(EVENTS)}
                try:
                    rx.wait_for(5, timeout=60)
                except AssertionError:
                    pytest.fail(f"{kind} delivered nothing before the kill:\n{log.read_text()[-3000:]}")
                os.killpg(first.pid, signal.SIGKILL)  # the server and its dispatcher process, mid-delivery
                first.wait(timeout=10)
            received_before_restart = rx.ids()
            assert received_before_restart < ids, "the kill came too late to interrupt anything"
            with process(kind, database_url, log):
                try:
                    wait_until(lambda: rx.ids() >= ids, timeout=60, what="every event after the restart")
                except AssertionError:
                    states = sorted(d.status for d in deliveries(storage))
                    pytest.fail(f"{len(rx.ids())}/{len(ids)} arrived; {states}\n{log.read_text()[-3000:]}")
                wait_until(
                    lambda: all(d.status == "succeeded" for d in deliveries(storage)),
                    timeout=30,
                    what="every delivery recorded as succeeded",
                )
        assert rx.ids() == ids  # nothing lost, nothing unknown
        duplicates = len(rx.requests) - len(ids)
        assert duplicates <= 32  # at most what was in flight at the kill (the dispatcher's concurrency)
    finally:
        storage.close()
