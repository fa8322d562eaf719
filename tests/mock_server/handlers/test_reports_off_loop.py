"""The report handlers (``reports.create`` and ``reports.pdf``, the API's two async handlers) do their
database work on the handler pool, never on the event loop.

Why: a statement on the loop first checks a connection out of the pool, and with the pool held by
requests in flight (or report jobs) that wait stops every other request of the process; only the
edge's cached credential and rate-limit reads and the list reads built for it
(``storage.page_reads``) are meant to run there.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.webhooks.sandbox_helpers import consented_patient

REPORT_TABLES = ("report_jobs", "consents", "link_requests", "sandbox_patients")
WEEK = {"lang": "en", "from": "2026-01-01", "to": "2026-01-07"}


@contextmanager
def _statements_on_the_loop(sandbox: RunningSandbox) -> Iterator[list[str]]:
    """Every statement the sandbox's engine runs, while inside, on a thread with a running event loop."""
    seen: list[str] = []
    lock = threading.Lock()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if asyncio.events._get_running_loop() is not None:
            with lock:
                seen.append(statement)

    engine = sandbox.services.storage.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _touching_report_tables(statements: list[str]) -> list[str]:
    return [s for s in statements if any(table in s for table in REPORT_TABLES)]


def test_a_report_job_is_created_and_run_without_sql_on_the_loop(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = sandbox_factory(dispatcher=False)
    with sandbox.client() as client:
        patient = consented_patient(client, "reports:read")
        with _statements_on_the_loop(sandbox) as seen:
            plain = client.post(f"/v1/patients/{patient}/reports", json=WEEK)
            keyed = client.post(
                f"/v1/patients/{patient}/reports", json=WEEK, headers={"Idempotency-Key": "off-loop-1"}
            )
            assert plain.status_code == 202, plain.text
            assert keyed.status_code == 202, keyed.text
            # both jobs start (the plain one from the handler's thread, the keyed one after the
            # keyed commit on the loop) and finish
            deadline = time.monotonic() + 60
            statuses: set[str] = set()
            while time.monotonic() < deadline:
                statuses = {
                    client.get(f"/v1/reports/{reply.json()['id']}").json()["status"]
                    for reply in (plain, keyed)
                }
                if statuses == {"completed"}:
                    break
                time.sleep(0.2)
            assert statuses == {"completed"}
    assert _touching_report_tables(seen) == []


def test_the_synchronous_pdf_reads_nothing_on_the_loop(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = sandbox_factory(dispatcher=False)
    with sandbox.client() as client:
        patient = consented_patient(client, "reports:read")
        with _statements_on_the_loop(sandbox) as seen:
            pdf = client.get(
                f"/v1/patients/{patient}/reports/pdf", params={"from": "2026-01-01", "to": "2026-01-07"}
            )
            refused = client.get("/v1/patients/p2c_anon_nobody/reports/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert refused.status_code == 404  # the consent gate still answers, from the pool
    assert _touching_report_tables(seen) == []
