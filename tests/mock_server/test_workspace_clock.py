"""``workspace_clock`` on its own: each workspace's now is the real clock plus its own offset."""

from __future__ import annotations

from datetime import timedelta

from mock_server.storage import Storage
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.timeutil import utcnow
from mock_server.workspace_clock import WorkspaceClock


def test_each_workspace_keeps_its_own_offset(storage: Storage) -> None:
    repo = WorkspaceRepo(storage)
    moved, still = repo.create("clock-moved", seed=1), repo.create("clock-still", seed=2)
    clock = WorkspaceClock(storage)
    assert clock.offset(moved.workspace.id) == 0.0
    with storage.unit_of_work() as conn:
        repo.set_clock(conn, moved.workspace.id, timedelta(days=3).total_seconds())
    before = utcnow()
    ahead, same = clock.now(moved.workspace.id), clock.now(still.workspace.id)
    after = utcnow()
    assert before + timedelta(days=3) <= ahead <= after + timedelta(days=3)
    assert before <= same <= after
    assert ahead.tzinfo is not None


def test_the_offset_is_read_inside_the_callers_transaction(storage: Storage) -> None:
    repo = WorkspaceRepo(storage)
    made = repo.create("clock-txn", seed=3)
    clock = WorkspaceClock(storage)
    with storage.unit_of_work() as conn:
        repo.set_clock(conn, made.workspace.id, 3600.0)
        # the uncommitted offset is visible on the same connection (an advance computes with it)
        assert clock.offset(made.workspace.id, conn) == 3600.0
    assert clock.offset(made.workspace.id) == 3600.0


def test_an_unknown_workspace_has_no_offset(storage: Storage) -> None:
    assert WorkspaceClock(storage).offset("ws_missing") == 0.0
