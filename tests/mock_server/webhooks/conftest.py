"""Fixtures for webhook tests: a fresh SQLite store with a workspace, and a dispatcher in a thread."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, make_url, text

from mock_server.settings import Settings
from mock_server.storage import Storage, schema
from mock_server.timeutil import iso, utcnow
from mock_server.webhooks.dispatcher import Dispatcher
from tests.fixtures.databases import PG_ENV, postgres_url

FAST = Settings(
    webhook_retry_schedule=(0.0, 0.2, 0.4),
    webhook_timeout_seconds=2.0,
    dispatcher_poll_seconds=0.1,
)


def add_workspace(storage: Storage, workspace_id: str = "ws_test") -> str:
    with storage.engine.begin() as conn:
        conn.execute(
            schema.workspaces.insert().values(
                id=workspace_id,
                name=f"Workspace {workspace_id}",
                tier="sandbox",
                rate_limit_per_hour=None,
                scopes=orjson.dumps(["webhooks:manage"]).decode(),
                seed=1,
                clock_offset_seconds=0.0,
                salt="salt",
                created_at=iso(utcnow()),
            )
        )
    return workspace_id


@contextmanager
def fresh_postgres(base_url: str) -> Iterator[str]:
    """A throwaway database on the test PostgreSQL server, so dispatchers see only this test's queue."""
    admin = create_engine(
        make_url(base_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    name = f"care_webhooks_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A store with two workspaces, on SQLite and (when configured) on a fresh PostgreSQL database."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
        else:
            base = postgres_url()
            if base is None:
                pytest.skip(f"PostgreSQL tests need {PG_ENV}")
            url = stack.enter_context(fresh_postgres(base))
        store = Storage.open(url)
        stack.callback(store.close)
        add_workspace(store)
        add_workspace(store, "ws_other")
        yield store


class DispatcherThread:
    """A dispatcher running on its own event loop in a background thread, as in a server process."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.dispatcher.run(self._stop))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)
        assert not self._thread.is_alive(), "dispatcher did not stop"
        self._loop.close()


@contextmanager
def running_dispatcher(
    storage: Storage, settings: Settings = FAST, *, process: bool = False, **kwargs: Any
) -> Iterator[Dispatcher]:
    """A dispatcher on a background thread; in this process unless ``process`` (the sidecar)."""
    runner = DispatcherThread(Dispatcher(storage, settings, process=process, **kwargs))
    runner.start()
    try:
        yield runner.dispatcher
    finally:
        runner.stop()
