"""``Idempotency-Key`` is exactly-once: the key's response commits with the write it describes.

Each failure is injected where it hurts most — after the handler wrote but before the commit — and the
test counts what is in the database afterwards, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy
from sqlalchemy import func, select

from mock_server.errors import ApiError
from mock_server.gateway.dispatch import OperationRunner
from mock_server.gateway.idempotency import IdempotencyStore, IdempotentRequest
from mock_server.gateway.plan import build_plan
from mock_server.settings import Settings
from mock_server.storage import schema
from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.webhooks.sandbox_helpers import consented_patient

CHECK_IN = {"pain_level": 5, "areas": [{"id": "left_knee", "max_intensity": 5}], "qualities": ["burning"]}


@pytest.fixture
def keyed_sandbox(sandbox_factory: Callable[..., RunningSandbox], database_url: str) -> RunningSandbox:
    return sandbox_factory(database_url=database_url, dispatcher=False)


def _counts(sandbox: RunningSandbox) -> tuple[int, int]:
    """(pain entries, outbox events) in the sandbox's own database."""
    records, events = schema.records, schema.events
    with sandbox.services.storage.engine.connect() as conn:
        entries = conn.execute(
            select(func.count()).select_from(records).where(records.c.series == "pain_entry")
        ).scalar_one()
        emitted = conn.execute(select(func.count()).select_from(events)).scalar_one()
    return int(entries), int(emitted)


def _post(client: httpx.Client, patient: str, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return client.post(
        f"/v1/sandbox/patients/{patient}/pain-entries",
        json=body or CHECK_IN,
        headers={"Idempotency-Key": key},
    )


def test_same_key_replays_and_writes_once(keyed_sandbox: RunningSandbox) -> None:
    with keyed_sandbox.client() as client:
        patient = consented_patient(client)
        before = _counts(keyed_sandbox)
        key = secrets.token_hex(8)
        first, second = _post(client, patient, key), _post(client, patient, key)
        assert first.status_code == second.status_code == 201, first.text
        assert second.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
        assert second.json() == first.json()
        assert second.headers["X-Request-Id"] == first.headers["X-Request-Id"]
        assert _counts(keyed_sandbox) == (before[0] + 1, before[1] + 1)

        other = _post(client, patient, key, {**CHECK_IN, "pain_level": 7})
        assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
        assert _counts(keyed_sandbox) == (before[0] + 1, before[1] + 1)


def test_failure_between_write_and_commit_leaves_nothing(
    keyed_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away after the handler wrote: 503, nothing kept, and the retry writes once."""
    real_record = IdempotencyStore.record
    failures = iter([True])

    def record(self: IdempotencyStore, conn: Any, request: Any, response: Any) -> None:
        real_record(self, conn, request, response)
        if next(failures, False):
            raise sqlalchemy.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(IdempotencyStore, "record", record)
    with keyed_sandbox.client() as client:
        patient = consented_patient(client)
        before = _counts(keyed_sandbox)
        key = secrets.token_hex(8)
        failed = _post(client, patient, key)
        assert failed.status_code == 503, failed.text
        assert (
            failed.json()["error"]["code"] == "service_unavailable" and failed.headers["Retry-After"] == "1"
        )
        assert _counts(keyed_sandbox) == before  # neither the entry, nor its event, nor the key

        retried = _post(client, patient, key)
        assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
        assert _post(client, patient, key).headers["Idempotent-Replayed"] == "true"
        assert _counts(keyed_sandbox) == (before[0] + 1, before[1] + 1)


def test_refusal_after_a_partial_write_rolls_it_back_and_is_replayed(
    keyed_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_call = OperationRunner._call_sync

    def call_then_refuse(self: OperationRunner, request: Any) -> Any:
        real_call(self, request)  # the check-in and its event are written…
        raise ApiError(422, "unprocessable_entity", "refused after writing")  # …then refused

    with keyed_sandbox.client() as client:
        patient = consented_patient(client)
        before = _counts(keyed_sandbox)
        monkeypatch.setattr(OperationRunner, "_call_sync", call_then_refuse)
        key = secrets.token_hex(8)
        refused = _post(client, patient, key)
        assert refused.status_code == 422 and refused.json()["error"]["message"] == "refused after writing"
        assert _counts(keyed_sandbox) == before
        monkeypatch.setattr(OperationRunner, "_call_sync", real_call)
        again = _post(client, patient, key)
        assert again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == refused.json()
        assert _counts(keyed_sandbox) == before


def test_key_in_flight_elsewhere_is_409_with_retry_after(keyed_sandbox: RunningSandbox) -> None:
    """Another process holding the key's lock (its request not yet committed) gets a quick 409."""
    storage = keyed_sandbox.services.storage
    if not storage.is_postgres:
        pytest.skip("the cross-process key lock is PostgreSQL's; SQLite serves one process")
    with keyed_sandbox.client() as client:
        patient = consented_patient(client)
        key = secrets.token_hex(8)
        path = f"/v1/sandbox/patients/{patient}/pain-entries"
        lock = IdempotentRequest(keyed_sandbox.alpha.workspace.id, key, "POST", path, "").lock_id()
        with storage.engine.begin() as other:
            other.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:l)"), {"l": lock})
            busy = _post(client, patient, key)
        assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"
        assert "in progress" in busy.json()["error"]["message"]
        assert _post(client, patient, key).status_code == 201


def test_more_keyed_posts_at_once_than_pooled_connections(
    sandbox_factory: Callable[..., RunningSandbox], database_url: str
) -> None:
    """Keyed POSTs beyond the connection pool queue for a connection off the event loop.

    The keyed path used to open its unit of work on the event loop: with every pooled connection held
    by keyed requests in flight, the next one blocked the loop waiting for a connection that only the
    loop could give back, so the process froze until the pool's 30 s timeout and answered 503.
    """
    sandbox = sandbox_factory(database_url=database_url, dispatcher=False, db_pool_size=1)
    with sandbox.client() as client:
        patient = consented_patient(client)
    before = _counts(sandbox)

    def post(i: int) -> int:
        with sandbox.client() as client:
            client.timeout = httpx.Timeout(15.0)
            try:
                return _post(client, patient, f"crowd-{i}-{secrets.token_hex(4)}").status_code
            except httpx.TimeoutException:
                return 0

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(16)))
    assert statuses == [201] * 16
    assert _counts(sandbox) == (before[0] + 16, before[1] + 16)


def test_more_keyed_report_requests_at_once_than_pooled_connections(
    sandbox_factory: Callable[..., RunningSandbox], database_url: str
) -> None:
    """The same for ``reports.create``, whose job starts only once its row (and the key) committed:
    the keyed unit of work runs on the pool like any plain handler's, so the process does not freeze."""
    sandbox = sandbox_factory(database_url=database_url, dispatcher=False, db_pool_size=1)
    with sandbox.client() as client:
        patient = consented_patient(client, "reports:read")
        last_week = {"lang": "en", "from": "2026-01-01", "to": "2026-01-07"}

    def post(i: int) -> int:
        with sandbox.client() as client:
            client.timeout = httpx.Timeout(15.0)
            try:
                return client.post(
                    f"/v1/patients/{patient}/reports",
                    json=last_week,
                    headers={"Idempotency-Key": f"reports-{i}-{secrets.token_hex(4)}"},
                ).status_code
            except httpx.TimeoutException:
                return 0

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(post, range(12)))
    assert statuses == [202] * 12
    with sandbox.services.storage.read() as conn:
        jobs = conn.execute(select(func.count()).select_from(schema.report_jobs)).scalar_one()
    assert jobs == 12


def test_an_async_handler_cannot_take_an_idempotency_key() -> None:
    """A keyed call commits the key with the handler's writes in one unit of work on the thread pool,
    which an async handler cannot join: such a wiring is refused when the app is built, not served."""
    operation = {
        "operationId": "toy.create",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
        "responses": {"201": {"description": "made"}},
    }
    plan = build_plan("post", "/toys", operation, {"security": []}, {})
    services: Any = SimpleNamespace(settings=Settings())

    async def handler(request: Any) -> None:
        return None

    with pytest.raises(TypeError, match=r"toy\.create takes an Idempotency-Key"):
        OperationRunner(plan, handler, services, IdempotencyStore(services, 60))
    OperationRunner(
        plan, lambda request: None, services, IdempotencyStore(services, 60)
    )  # a plain def is fine
