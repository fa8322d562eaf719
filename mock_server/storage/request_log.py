"""The request log's table: batched inserts, per-workspace bounds, and the two reads of the API.

Rows arrive already redacted (``requestlog.redact``). ``created_at`` uses the millisecond queue form
(``webhooks.outbox.precise_iso``) so requests within one second keep their order; the API serves it in
whole seconds like every other timestamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Row, delete, func, select, union
from sqlalchemy.engine import make_url

from mock_server.storage import Storage, schema
from mock_server.storage.engine import build_engine
from mock_server.timeutil import iso, parse_iso

R = schema.request_log
B = schema.request_log_bodies


def request_log_storage(main: Storage) -> Storage:
    """Where the log is written: on PostgreSQL the main database; on a SQLite file, a side file.

    Why a side file: every write to a SQLite database invalidates the page cache of every other
    connection to it, and the read path lives on that cache (``storage.engine``). Logging each
    request into the main file halved read throughput in bench/bench_read_path.py; writing next to it
    leaves the main file's cache alone. The side file holds only ``request_log``.
    """
    url = make_url(main.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return main
    side_url = str(url.set(database=f"{url.database}-requests"))
    side = Storage(engine=build_engine(side_url, pool_size=2), url=side_url)
    schema.metadata.create_all(side.engine, tables=[R, B])
    return side


_COLUMNS = tuple(c.name for c in R.c)
_positional = itemgetter(*_COLUMNS)  # a row dict's values in column order, at C speed


@cache
def _insert_sql(paramstyle: str) -> str:
    """``INSERT INTO request_log`` with one positional parameter per column, in the driver's style
    (positional: binding by name cost sqlite3 a third more per row)."""
    mark = "%s" if paramstyle in ("pyformat", "format") else "?"
    return f"INSERT INTO request_log ({', '.join(_COLUMNS)}) VALUES ({', '.join(mark for _ in _COLUMNS)})"


@dataclass(frozen=True)
class RequestFilter:
    status: str | None = None  # "404" or "4xx"
    operation: str | None = None
    error_code: str | None = None
    start: str | None = None  # inclusive stored-timestamp bounds (whole seconds)
    end: str | None = None


def _summary(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "request_id": row.request_id,
        "method": row.method,
        "path": row.path,
        "query": row.query,
        "operation_id": row.operation_id,
        "status": int(row.status),
        "error_code": row.error_code,
        "duration_ms": round(float(row.duration_ms), 3),
        "credential": {"kind": row.credential_kind, "id": row.credential_id},
        "created_at": iso(parse_iso(row.created_at)),
    }


class RequestLogRepo:
    def __init__(self, db: Storage) -> None:
        self.db = db

    def insert_many(self, rows: list[dict[str, Any]], bodies: dict[str, str] | None = None) -> None:
        """Store rows and the bodies they refer to (``ref -> text``) that are not stored yet."""
        if not rows:
            return
        with self.db.unit_of_work() as conn:
            if bodies:
                known = set(conn.execute(select(B.c.ref).where(B.c.ref.in_(list(bodies)))).scalars())
                fresh = [{"ref": ref, "body": body} for ref, body in bodies.items() if ref not in known]
                if fresh:
                    conn.execute(B.insert(), fresh)
            # the driver's executemany on SQL built once: SQLAlchemy's per-row parameter processing
            # was a fifth of the writer's time (the log writes one row per request served)
            conn.exec_driver_sql(_insert_sql(conn.dialect.paramstyle), [_positional(row) for row in rows])

    def trim(self, workspace_ids: Iterable[str], *, keep: int, older_than: str) -> int:
        """Drop what the log no longer keeps: rows before ``older_than`` and beyond the newest ``keep``,
        then bodies no row refers to any more. Returns the number of rows removed."""
        removed = 0
        with self.db.unit_of_work() as conn:
            removed += conn.execute(delete(R).where(R.c.created_at < older_than)).rowcount or 0
            for workspace_id in workspace_ids:
                boundary = conn.execute(
                    select(R.c.created_at, R.c.id)
                    .where(R.c.workspace_id == workspace_id)
                    .order_by(R.c.created_at.desc(), R.c.id.desc())
                    .offset(keep)
                    .limit(1)
                ).first()
                if boundary is not None:
                    removed += (
                        conn.execute(
                            delete(R).where(
                                R.c.workspace_id == workspace_id, R.c.created_at <= boundary.created_at
                            )
                        ).rowcount
                        or 0
                    )
            if removed:
                used = union(
                    select(R.c.request_body_ref.label("ref")).where(R.c.request_body_ref.is_not(None)),
                    select(R.c.response_body_ref.label("ref")).where(R.c.response_body_ref.is_not(None)),
                ).subquery()
                conn.execute(delete(B).where(B.c.ref.not_in(select(used.c.ref))))
        return removed

    def search(
        self, workspace_id: str, where: RequestFilter, *, page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], int]:
        conditions = [R.c.workspace_id == workspace_id]
        if where.status is not None:
            if where.status.endswith("xx"):
                low = int(where.status[0]) * 100
                conditions += [R.c.status >= low, R.c.status < low + 100]
            else:
                conditions.append(R.c.status == int(where.status))
        if where.operation is not None:
            conditions.append(R.c.operation_id == where.operation)
        if where.error_code is not None:
            conditions.append(R.c.error_code == where.error_code)
        if where.start is not None:
            conditions.append(R.c.created_at >= where.start.replace("Z", ".000Z"))
        if where.end is not None:
            conditions.append(R.c.created_at <= where.end.replace("Z", ".999Z"))
        columns = [
            c
            for c in R.c
            if c.name not in ("request_headers", "request_body_ref", "response_headers", "response_body_ref")
        ]
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(R).where(*conditions)).scalar_one()
            rows = conn.execute(
                select(*columns)
                .where(*conditions)
                .order_by(R.c.created_at.desc(), R.c.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
        return [_summary(r) for r in rows], int(total)

    def get(self, workspace_id: str, request_id: str) -> dict[str, Any] | None:
        """The newest logged request with this ``X-Request-Id`` (clients may reuse one)."""
        with self.db.read() as conn:
            row = conn.execute(
                select(R)
                .where(R.c.workspace_id == workspace_id, R.c.request_id == request_id)
                .order_by(R.c.created_at.desc(), R.c.id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            refs = [r for r in (row.request_body_ref, row.response_body_ref) if r]
            texts = (
                dict(conn.execute(select(B.c.ref, B.c.body).where(B.c.ref.in_(refs))).all()) if refs else {}
            )
        return {
            **_summary(row),
            "request_headers": orjson.loads(row.request_headers),
            "request_body": texts.get(row.request_body_ref),
            "request_body_truncated": bool(row.request_truncated),
            "response_headers": orjson.loads(row.response_headers),
            "response_body": texts.get(row.response_body_ref),
            "response_body_truncated": bool(row.response_truncated),
        }
