"""Chunked clock advance and reset (issue 13): the same data as one big transaction, crash-safe.

Each test runs on SQLite and PostgreSQL (the ``storage`` fixture) with a tiny chunk size, so an
advance of a few weeks is dozens of committed chunks. "The same data" is checked against the
generator itself: after any sequence of chunks, interruptions and concurrent advances, every
patient holds exactly the records ``generate_days`` gives for days ``[0, goal)`` in one call, each
once, and consented patients' events match them one for one.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from mock_server import sandbox_work
from mock_server.app import build_services
from mock_server.context import Services
from mock_server.seeding import profile_for, seed_workspace, store_records
from mock_server.settings import Settings
from mock_server.storage import Storage, schema
from mock_server.storage.patients import PatientRepo
from mock_server.storage.workspaces import Workspace, WorkspaceRepo
from mock_server.timeutil import utcnow
from synthetic_data.generate import generate_days

PATIENTS = 3
HISTORY_DAYS = 5
DAY = 86_400.0


def _services(storage: Storage, **overrides: Any) -> Services:
    settings = Settings(database_url=storage.url, demo=False, sandbox_chunk_rows=60, **overrides)
    return build_services(settings, storage)


def _workspace(services: Services, name: str = "w", seed: int = 7) -> Workspace:
    repo = WorkspaceRepo(services.storage)
    made = repo.create(name, seed=seed).workspace
    seed_workspace(services, made, services.clock.now(made.id), patients=PATIENTS, history_days=HISTORY_DAYS)
    return made


def _stored(storage: Storage, ref: str) -> list[str]:
    R = schema.records
    with storage.read() as conn:
        return sorted(conn.execute(select(R.c.body).where(R.c.patient_ref == ref)).scalars())


def _expected(row: Any, goal: int) -> list[str]:
    """What one call of the generator gives for days [0, goal): the pre-chunking behaviour."""
    gen = row.profile["generator"]
    profile = profile_for(gen["run_seed"], gen["index"], gen["overrides"])
    series = generate_days(profile, date.fromisoformat(row.history_start), 0, goal, messiness=0.3)
    bodies = [*series.pain_entries, *series.wellbeing, *series.vitals]
    bodies += [{**g, "patient_id": row.anon_id} for g in series.gauges]
    return sorted(orjson.dumps(b).decode() for b in bodies)


def _assert_generated_exactly(services: Services, workspace: Workspace) -> None:
    """Every patient holds the one-call generator output up to the workspace's served clock."""
    moment = services.clock.now(workspace.id)
    rows = PatientRepo(services.storage).all(workspace.id)
    assert len(rows) == PATIENTS
    for row in rows:
        goal = (moment.date() - date.fromisoformat(row.history_start)).days
        assert row.generated_days == goal
        assert _stored(services.storage, row.id) == _expected(row, goal)


def _event_count(storage: Storage, workspace_id: str, event_type: str) -> int:
    E = schema.events
    with storage.read() as conn:
        query = select(func.count()).where(E.c.workspace_id == workspace_id, E.c.type == event_type)
        return int(conn.execute(query).scalar_one())


def test_a_chunked_advance_writes_the_same_records_as_one_call(storage: Storage) -> None:
    services = _services(storage)
    workspace = _workspace(services)
    before = services.clock.now(workspace.id)
    done = sandbox_work.advance(services, workspace, 30 * DAY)
    assert done.offset_seconds == 30 * DAY
    assert services.clock.now(workspace.id) - before >= timedelta(days=30)
    _assert_generated_exactly(services, workspace)
    # many chunks were needed: 30 days x 3 patients at tens of rows a day, 60 rows a chunk
    assert sum(done.generated.values()) > 10 * services.settings.sandbox_chunk_rows
    # seeded consents hold pain:read, so each generated pain entry fired exactly one event
    assert _event_count(storage, workspace.id, "pain_entry.created") == done.generated["pain_entries"]


def test_an_interrupted_advance_never_reads_as_done_and_resumes_to_the_same_data(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _services(storage)
    workspace = _workspace(services)
    calls = {"n": 0}

    def crashing(*args: Any, **kwargs: Any) -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("power cut")
        return store_records(*args, **kwargs)

    monkeypatch.setattr(sandbox_work, "store_records", crashing)
    with pytest.raises(RuntimeError, match="power cut"):
        sandbox_work.advance(services, workspace, 20 * DAY)
    repo = WorkspaceRepo(storage)
    with storage.read() as conn:
        offset, target = repo.clock_state(conn, workspace.id)
    assert offset == 0.0 and target == 20 * DAY  # the served clock did not move
    assert services.clock.offset(workspace.id) == 0.0
    assert repo.pending_advances() == [workspace.id]
    # three chunks did commit: some patient is part-way, and nothing is doubled (checked below)
    assert any(r.generated_days > HISTORY_DAYS for r in PatientRepo(storage).all(workspace.id))

    monkeypatch.setattr(sandbox_work, "store_records", store_records)
    assert sandbox_work.resume_pending(services) == 1
    assert repo.pending_advances() == []
    assert services.clock.offset(workspace.id) == 20 * DAY
    _assert_generated_exactly(services, workspace)


def test_concurrent_advances_add_up_and_never_write_a_day_twice(storage: Storage) -> None:
    services = _services(storage)
    workspace = _workspace(services)
    errors: list[BaseException] = []
    landed: list[float] = []

    def run(days: int) -> None:
        try:
            landed.append(sandbox_work.advance(services, workspace, days * DAY).offset_seconds)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in (10, 15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert services.clock.offset(workspace.id) == 25 * DAY
    # each answers where its own step landed, on top of the one recorded before it
    assert sorted(landed) in ([10 * DAY, 25 * DAY], [15 * DAY, 25 * DAY])
    _assert_generated_exactly(services, workspace)


def test_a_chunked_reset_returns_exactly_the_seeded_state(storage: Storage) -> None:
    services = _services(storage)
    workspace = _workspace(services)
    seeded = {r.id: _stored(storage, r.id) for r in PatientRepo(storage).all(workspace.id)}
    sandbox_work.advance(services, workspace, 12 * DAY)
    assert _event_count(storage, workspace.id, "pain_entry.created") > 0

    result = sandbox_work.reset(services, workspace, patients=PATIENTS, history_days=HISTORY_DAYS)
    assert result["patients"] == PATIENTS and result["removed_records"] > 0
    assert services.clock.offset(workspace.id) == 0.0
    assert {r.id: _stored(storage, r.id) for r in PatientRepo(storage).all(workspace.id)} == seeded
    assert _event_count(storage, workspace.id, "pain_entry.created") == 0
    with storage.read() as conn:
        assert conn.execute(select(func.count()).select_from(schema.deliveries)).scalar_one() == 0


def test_a_reset_interrupted_midway_is_completed_by_running_it_again(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _services(storage)
    workspace = _workspace(services)
    seeded = {r.id: _stored(storage, r.id) for r in PatientRepo(storage).all(workspace.id)}
    sandbox_work.advance(services, workspace, 9 * DAY)
    calls = {"n": 0}

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed mid-reset")
        return store_records(*args, **kwargs)

    monkeypatch.setattr(sandbox_work, "store_records", crashing)
    with pytest.raises(RuntimeError):
        sandbox_work.reset(services, workspace, patients=PATIENTS, history_days=HISTORY_DAYS)
    monkeypatch.setattr(sandbox_work, "store_records", store_records)
    sandbox_work.reset(services, workspace, patients=PATIENTS, history_days=HISTORY_DAYS)
    assert {r.id: _stored(storage, r.id) for r in PatientRepo(storage).all(workspace.id)} == seeded


def test_a_reset_drops_a_pending_advance(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    services = _services(storage)
    workspace = _workspace(services)

    def crashing(*args: Any, **kwargs: Any) -> dict[str, int]:
        raise RuntimeError("crash at the first chunk")

    monkeypatch.setattr(sandbox_work, "store_records", crashing)
    with pytest.raises(RuntimeError):
        sandbox_work.advance(services, workspace, 5 * DAY)
    monkeypatch.undo()
    sandbox_work.reset(services, workspace, patients=PATIENTS, history_days=HISTORY_DAYS)
    assert WorkspaceRepo(storage).pending_advances() == []
    assert abs((services.clock.now(workspace.id) - utcnow()).total_seconds()) < 5
