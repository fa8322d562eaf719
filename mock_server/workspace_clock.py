"""Each workspace's test clock, after Stripe's test clocks.

A workspace's "now" is the real clock plus an offset that only ``POST /v1/sandbox/clock/advance``
moves forward. Expiries (30-day link requests) and generated daily data follow the workspace clock;
webhook delivery scheduling and signature timestamps follow the real one. The offset is read from
the database on each use, so every worker process agrees on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mock_server.storage import Connection, Storage
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.timeutil import utcnow


class WorkspaceClock:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.workspaces = WorkspaceRepo(storage)

    def offset(self, workspace_id: str, conn: Connection | None = None) -> float:
        """In ``conn``'s unit of work when given (an advance reads its own uncommitted offset)."""
        if conn is not None:
            return self.workspaces.clock_offset(conn, workspace_id)
        with self.storage.read() as own:
            return self.workspaces.clock_offset(own, workspace_id)

    def now(self, workspace_id: str, conn: Connection | None = None) -> datetime:
        return utcnow() + timedelta(seconds=self.offset(workspace_id, conn))
