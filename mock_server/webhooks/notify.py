"""PostgreSQL wake-ups: ``LISTEN`` for the outbox's ``NOTIFY`` and turn each into ``wake()``.

Why: a check-in handled by one process must start a delivery in whichever process runs a dispatcher
(``care-sandbox worker``, other ``serve`` workers) within milliseconds, not at the next poll. The
database sends the notification at commit (and never for a rolled-back change), so a wake-up can
never run ahead of the data it announces. SQLite has no equivalent; there ``wake()`` reaches the
in-process dispatcher only and other processes poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mock_server.storage import Storage
from mock_server.storage.outbox import NOTIFY_CHANNEL

log = logging.getLogger("care_sandbox.webhooks")


def start_listener(
    storage: Storage, wake: Callable[[], None], stopped: threading.Event
) -> threading.Thread | None:
    """Listen on a thread of its own until ``stopped`` is set; None on SQLite."""
    if not storage.is_postgres:
        return None
    url = storage.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    thread = threading.Thread(target=_listen, args=(url, wake, stopped), name="webhook-notify", daemon=True)
    thread.start()
    return thread


def _listen(url: str, wake: Callable[[], None], stopped: threading.Event) -> None:
    """Block on ``LISTEN``; reconnect after a lost connection (polling covers the gap)."""
    import psycopg

    while not stopped.is_set():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                wake()  # anything committed while nobody was listening
                while not stopped.is_set():
                    for _ in conn.notifies(timeout=1.0):
                        wake()
        except psycopg.Error:
            log.warning("webhook NOTIFY listener lost its connection; polling until it is back")
            stopped.wait(2.0)
