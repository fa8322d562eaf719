"""Served patient records (pain entries, wellbeing, gauges, vitals): insert, page, fetch, merge.

Bodies are stored as the exact JSON the API serves; reads return them as bytes and the handler
splices them into the page. Pages are newest first (``at`` then ``id`` descending, a total order, so
pages never overlap or skip; the timeline asks for the same order ascending), and totals are
counted with the same filter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select, text

from mock_server.storage import Storage, schema

R = schema.records

SERIES_TIME_FIELD = {
    "pain_entry": "logged_at",
    "wellbeing": "completed_at",
    "gauge": "recorded_at",
    "vital": "measured_at",
}


@dataclass(frozen=True)
class RecordFilter:
    patient_ref: str
    series: tuple[str, ...]
    at_from: str | None = None  # inclusive ISO timestamps
    at_to: str | None = None
    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[tuple[str, str, str, bytes]]  # (series, id, at, body)


def row_values(patient_ref: str, series: str, record: dict[str, Any]) -> dict[str, Any]:
    kind = (
        record.get("gauge_type") if series == "gauge" else record.get("metric") if series == "vital" else None
    )
    return {
        "patient_ref": patient_ref,
        "id": record["id"],
        "series": series,
        "at": record[SERIES_TIME_FIELD[series]],
        "kind": kind,
        "source": record.get("source") if series == "vital" else None,
        "body": orjson.dumps(record).decode(),
    }


def insert_many(conn: Connection, patient_ref: str, series: str, records: Iterable[dict[str, Any]]) -> int:
    return insert_values(conn, [row_values(patient_ref, series, r) for r in records])


def insert_values(conn: Connection, values: list[dict[str, Any]]) -> int:
    """Insert rows already shaped by :func:`row_values` (serialized outside the transaction)."""
    if values:
        conn.execute(R.insert(), values)
    return len(values)


def bulk_row(
    patient_ref: str, series: str, record: dict[str, Any]
) -> tuple[str, str, str, str, str | None, str | None, str]:
    """``row_values`` as a tuple in ``BULK_COLUMNS`` order, for ``insert_rows``."""
    kind = (
        record.get("gauge_type") if series == "gauge" else record.get("metric") if series == "vital" else None
    )
    return (
        patient_ref,
        record["id"],
        series,
        record[SERIES_TIME_FIELD[series]],
        kind,
        record.get("source") if series == "vital" else None,
        orjson.dumps(record).decode(),
    )


BULK_COLUMNS = ("patient_ref", "id", "series", "at", "kind", "source", "body")
BulkRow = tuple[str, str, str, str, str | None, str | None, str]


def bulk_shaper(series: str) -> Callable[[str, dict[str, Any]], BulkRow]:
    """:func:`bulk_row` for one series, with the series' choices made once.

    A dataset load shapes millions of rows of one series in a row; deciding per row which field is
    the time, the kind and the source was a visible part of it.
    """
    time_field = SERIES_TIME_FIELD[series]
    kind_field = "gauge_type" if series == "gauge" else "metric" if series == "vital" else None
    dumps = orjson.dumps
    if kind_field is None:
        return lambda ref, record: (
            ref, record["id"], series, record[time_field], None, None, dumps(record).decode()
        )  # fmt: skip
    if series == "vital":
        return lambda ref, record: (
            ref, record["id"], series, record[time_field], record.get(kind_field), record.get("source"),
            dumps(record).decode(),
        )  # fmt: skip
    return lambda ref, record: (
        ref, record["id"], series, record[time_field], record.get(kind_field), None, dumps(record).decode()
    )  # fmt: skip


def insert_rows(conn: Connection, rows: list[BulkRow]) -> int:
    """Insert rows (``BULK_COLUMNS`` order) with the driver's own executemany.

    Bulk loads of datasets insert millions of rows; building SQLAlchemy parameters per row cost more
    than SQLite's insert itself, so the prepared tuples go straight to the DBAPI cursor.
    """
    if rows:
        mark = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
        marks = ", ".join([mark] * len(BULK_COLUMNS))
        sql = f"INSERT INTO records ({', '.join(BULK_COLUMNS)}) VALUES ({marks})"
        conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
    return len(rows)


def _where(f: RecordFilter) -> list[Any]:
    clauses: list[Any] = [R.c.patient_ref == f.patient_ref]
    clauses.append(R.c.series == f.series[0] if len(f.series) == 1 else R.c.series.in_(f.series))
    if f.at_from is not None:
        clauses.append(R.c.at >= f.at_from)
    if f.at_to is not None:
        clauses.append(R.c.at <= f.at_to)
    if f.kinds:
        clauses.append(R.c.kind.in_(f.kinds))
    if f.sources:
        clauses.append(R.c.source.in_(f.sources))
    return clauses


@cache
def _page_statements(
    has_from: bool, has_to: bool, has_kinds: bool, has_sources: bool, oldest_first: bool = False
) -> tuple[Any, Any]:
    """The read path's two queries for one filter shape, built once.

    Profiling the 50-entry page showed statement construction in SQLAlchemy costing more than SQLite
    itself; a prebuilt ``text()`` per shape is compiled once and reused from SQLAlchemy's cache.
    """
    where = ["patient_ref = :patient_ref", "series IN :series"]
    if has_from:
        where.append("at >= :at_from")
    if has_to:
        where.append("at <= :at_to")
    if has_kinds:
        where.append("kind IN :kinds")
    if has_sources:
        where.append("source IN :sources")
    condition = " AND ".join(where)
    expanding: list[Any] = [bindparam("series", expanding=True)]
    if has_kinds:
        expanding.append(bindparam("kinds", expanding=True))
    if has_sources:
        expanding.append(bindparam("sources", expanding=True))
    count = text(f"SELECT count(*) FROM records WHERE {condition}").bindparams(*expanding)
    order = "at ASC, id ASC" if oldest_first else "at DESC, id DESC"
    rows = text(
        f"SELECT series, id, at, body FROM records WHERE {condition} "
        f"ORDER BY {order} LIMIT :limit OFFSET :offset"
    ).bindparams(*expanding)
    return count, rows


class RecordRepo:
    def __init__(self, db: Storage) -> None:
        self.db = db

    def page(self, f: RecordFilter, page: int, per_page: int, *, oldest_first: bool = False) -> Page:
        """One page, newest first (every list's order), or oldest first (the timeline's)."""
        count, select_rows = _page_statements(
            f.at_from is not None, f.at_to is not None, bool(f.kinds), bool(f.sources), oldest_first
        )
        params: dict[str, Any] = {
            "patient_ref": f.patient_ref,
            "series": list(f.series),
            "at_from": f.at_from,
            "at_to": f.at_to,
            "kinds": list(f.kinds),
            "sources": list(f.sources),
        }
        with self.db.read() as conn:
            total = int(conn.execute(count, params).scalar_one())
            if total == 0 or (page - 1) * per_page >= total:
                return Page(total, [])
            rows = conn.execute(
                select_rows, {**params, "limit": per_page, "offset": (page - 1) * per_page}
            ).all()
        return Page(total, [(r[0], r[1], r[2], r[3].encode()) for r in rows])

    def all(self, f: RecordFilter) -> list[dict[str, Any]]:
        """Every matching record, oldest first, parsed (for analysis, reports and FHIR)."""
        with self.db.read() as conn:
            rows = conn.execute(select(R.c.body).where(*_where(f)).order_by(R.c.at, R.c.id)).all()
        return [orjson.loads(r[0]) for r in rows]

    def get(self, patient_ref: str, series: str, record_id: str) -> bytes | None:
        with self.db.read() as conn:
            body = conn.execute(
                select(R.c.body).where(
                    R.c.patient_ref == patient_ref, R.c.id == record_id, R.c.series == series
                )
            ).scalar()
        return body.encode() if body is not None else None

    def span(self, patient_refs: Sequence[str], series: str) -> dict[str, tuple[str, str]]:
        """First and last ``at`` per patient, for the patient summaries."""
        if not patient_refs:
            return {}
        with self.db.read() as conn:
            rows = conn.execute(
                select(R.c.patient_ref, func.min(R.c.at), func.max(R.c.at))
                .where(R.c.patient_ref.in_(patient_refs), R.c.series == series)
                .group_by(R.c.patient_ref)
            ).all()
        return {r[0]: (r[1], r[2]) for r in rows}
