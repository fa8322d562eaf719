"""The consent service's transitions hold when two processes race on one consent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from mock_server.consent import ConsentService
from mock_server.errors import ApiError
from mock_server.storage import schema
from mock_server.storage.patients import PatientRepo
from mock_server.timeutil import utcnow
from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.webhooks.sandbox_helpers import consented_patient


def _revoked_events(sandbox: RunningSandbox, anon_id: str) -> int:
    events = schema.events
    with sandbox.services.storage.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.type == "consent.revoked", events.c.patient_id == anon_id)
            ).scalar_one()
        )


def test_concurrent_revokes_revoke_once(
    sandbox_factory: Callable[..., RunningSandbox], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two revokes that both read the consent as active: one revokes and emits ``consent.revoked``,
    the other gets 409 as a revoke after it would — not a second event the partner cannot dedupe
    (its event id differs)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes write transactions: two revokes cannot both read 'active'")
    sandbox = sandbox_factory(database_url=database_url, dispatcher=False)
    with sandbox.client() as client:
        anon_id = consented_patient(client)
    storage = sandbox.services.storage
    service = ConsentService(storage, PatientRepo(storage), sandbox.settings.link_request_ttl_days)
    both_read = threading.Barrier(2, timeout=10)
    real_latest = ConsentService.latest

    def latest_then_wait(self: ConsentService, conn: Any, workspace_id: str, anon: str) -> Any:
        row = real_latest(self, conn, workspace_id, anon)
        both_read.wait()  # each revoke has read the consent as active before either writes
        return row

    monkeypatch.setattr(ConsentService, "latest", latest_then_wait)

    def revoke() -> int:
        try:
            service.revoke(sandbox.alpha.workspace.id, anon_id, utcnow())
        except ApiError as error:
            return error.status
        return 200

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(lambda _: revoke(), range(2)))
    assert statuses == [200, 409]
    assert _revoked_events(sandbox, anon_id) == 1
