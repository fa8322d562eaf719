"""The three units of work of ``Storage``, on SQLite and PostgreSQL: which one joins, which never does,
and what a read inside a unit sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.storage import Storage
from mock_server.storage.errors import DatabaseError, database_unavailable
from mock_server.storage.health import ping
from mock_server.storage.workspaces import WorkspaceRepo
from tests.mock_server.storage.rows import workspace


class _Boom(Exception):
    pass


def _offset(storage: Storage, workspace_id: str) -> float:
    with storage.read() as conn:
        return WorkspaceRepo(storage).clock_offset(conn, workspace_id)


def test_a_nested_unit_of_work_joins_the_outer_one(storage: Storage) -> None:
    ws = workspace(storage).workspace.id
    repo = WorkspaceRepo(storage)
    with pytest.raises(_Boom), storage.unit_of_work() as outer:
        with storage.unit_of_work() as inner:
            assert inner is outer
            repo.set_clock(inner, ws, 3600.0)
        with storage.read() as reading:  # the unit's own write, before it commits
            assert reading is outer and repo.clock_offset(reading, ws) == 3600.0
        raise _Boom  # the outer owner rolls back: the inner write goes with it
    assert _offset(storage, ws) == 0.0


def test_a_transaction_never_joins_and_commits_alone(storage: Storage) -> None:
    ws = workspace(storage).workspace.id
    other = workspace(storage).workspace.id
    repo = WorkspaceRepo(storage)
    with pytest.raises(_Boom), storage.unit_of_work() as outer:
        # the transaction writes before the unit does: SQLite has one writer, and a unit holding the
        # write lock would make any other transaction wait for it (as a real caller must not)
        with storage.transaction() as own:
            assert own is not outer
            repo.set_clock(own, other, 120.0)
        repo.set_clock(outer, ws, 60.0)
        raise _Boom
    assert _offset(storage, ws) == 0.0
    assert _offset(storage, other) == 120.0


def test_after_commit_waits_for_the_outer_commit_and_skips_a_rollback(storage: Storage) -> None:
    ran: list[str] = []
    with storage.unit_of_work():
        with storage.unit_of_work():
            storage.after_commit(lambda: ran.append("joined"))
        assert ran == []
    assert ran == ["joined"]
    with pytest.raises(_Boom), storage.unit_of_work():
        storage.after_commit(lambda: ran.append("rolled back"))
        raise _Boom
    assert ran == ["joined"]


def test_a_nested_unit_and_a_read_join_the_outer_unit(storage: Storage) -> None:
    """Inside a unit of work, ``unit_of_work()`` and ``read()`` are the unit's own connection (so a
    nested write cannot wait on the outer one's lock, and a read sees its writes); ``transaction()``
    never joins."""
    with storage.unit_of_work() as outer:
        with storage.unit_of_work() as joined, storage.read() as reading:
            assert joined is outer and reading is outer
    assert not hasattr(storage, "begin") and not hasattr(storage, "connect")  # the silent spellings are gone


def test_ping_answers_and_a_dead_database_is_unavailable(storage: Storage, tmp_path: Path) -> None:
    with storage.read() as conn:
        ping(conn)
    if storage.is_postgres:
        broken = Storage.open("postgresql://postgres@127.0.0.1:1/none", run_migrations=False)
    else:
        broken = Storage.open(f"sqlite:///{tmp_path}", run_migrations=False)  # a directory, not a file
    with pytest.raises(DatabaseError) as raised, broken.read() as conn:
        ping(conn)
    assert database_unavailable(raised.value)
    broken.close()
    assert not database_unavailable(ValueError("not the database"))
