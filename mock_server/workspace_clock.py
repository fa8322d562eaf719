"""Each workspace's test clock, after Stripe's test clocks.

A workspace's "now" is the real clock plus an offset that only ``POST /v1/sandbox/clock/advance``
moves forward. Expiries (30-day link requests) and generated daily data follow the workspace clock;
webhook delivery scheduling and signature timestamps follow the real one. The offset is read from
the database on each use, so every worker process agrees on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from mock_server.storage import Storage, schema
from mock_server.timeutil import utcnow


class WorkspaceClock:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def offset(self, workspace_id: str, conn: Connection | None = None) -> float:
        query = select(schema.workspaces.c.clock_offset_seconds).where(schema.workspaces.c.id == workspace_id)
        if conn is not None:
            return float(conn.execute(query).scalar() or 0.0)
        with self.storage.connect() as own:
            return float(own.execute(query).scalar() or 0.0)

    def now(self, workspace_id: str, conn: Connection | None = None) -> datetime:
        return utcnow() + timedelta(seconds=self.offset(workspace_id, conn))
