"""WorkspaceRepo's unit-of-work methods keep the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from mock_server.storage import Storage
from mock_server.storage.workspaces import WorkspaceRepo
from tests.mock_server.storage.rows import workspace


def test_name_and_clock_offset_of_a_workspace(storage: Storage) -> None:
    repo = WorkspaceRepo(storage)
    made = workspace(storage, "acme-clinic")
    ws = made.workspace.id
    with storage.unit_of_work() as conn:
        assert repo.name_of(conn, ws) == "acme-clinic"
        assert repo.name_of(conn, "ws_nobody") is None
        assert repo.clock_offset(conn, ws) == 0.0
        assert repo.advance_clock(conn, ws, 86_400.0) == 86_400.0
        assert repo.clock_offset(conn, ws) == 86_400.0  # the unit sees its own write
        repo.set_clock(conn, ws, -3600.5)
    with storage.read() as conn:
        assert repo.clock_offset(conn, ws) == -3600.5
        assert repo.clock_offset(conn, "ws_nobody") == 0.0
