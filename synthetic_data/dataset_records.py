"""A dataset's records as the API serves them, each with the file and row it came from.

Loading a dataset into the sandbox validates every record against the contract and must say where a
bad one is, so each record is yielded with a location: `pain_entries.ndjson` line 12,
`vitals/part-000001000.parquet` row 7, `care_synth.sqlite` table `gauges` rowid 3. Series are read
one at a time and streamed (NDJSON line by line, Parquet in batches, SQLite with a cursor), so memory
stays bounded whatever the dataset size.

Records are the NDJSON shapes (API record plus `patient_id`). SQLite keeps no order of a pain entry's
areas (they come back sorted by area) and stores vitals values as REAL (integral ones come back as
ints, as Parquet's do).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from synthetic_data.dataset import DatasetError, detect_format
from synthetic_data.exporters import parquet
from synthetic_data.exporters.parquet_records import iter_part_records
from synthetic_data.exporters.sqlite import FILE_NAME as SQLITE_FILE
from synthetic_data.vocab import WHO5_DIMENSIONS

Record = dict[str, Any]
LOADABLE_FORMATS = ("ndjson", "parquet", "sqlite")


class Located(NamedTuple):
    """A record and where it came from. A tuple, not a frozen dataclass: loads make millions of them, and
    the dataclass's `__init__` (`object.__setattr__` per field) took ~1.7x as long to build one."""

    file: str  # relative to the dataset directory (plus the table for SQLite)
    row: int  # 1-based line / row number within the file (rowid for SQLite)
    record: Record

    @property
    def where(self) -> str:
        return f"{self.file} row {self.row}"


class RecordError(DatasetError):
    """A row that cannot be read as a record (bad JSON, a broken file): the message names it."""


def loadable_format(directory: Path) -> str:
    fmt = detect_format(directory)
    if fmt not in LOADABLE_FORMATS:
        raise DatasetError(
            f"{directory}: {fmt} datasets are not loadable; generate ndjson, parquet or sqlite"
        )
    return fmt


def iter_records(directory: Path, series: str, fmt: str | None = None) -> Iterator[Located]:
    """The records of `series` (patients, pain_entries, wellbeing, gauges, vitals, flares) in file order."""
    fmt = fmt or loadable_format(directory)
    if fmt == "ndjson":
        yield from _ndjson(directory, series)
    elif fmt == "parquet":
        yield from _parquet(directory, series)
    else:
        yield from _sqlite(directory, series)


def _ndjson(directory: Path, series: str) -> Iterator[Located]:
    name = f"{series}.ndjson"
    path = directory / name
    if not path.is_file():
        if series == "patients":
            raise DatasetError(f"{directory} has no {name}")
        return
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise RecordError(f"{name} row {number}: not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise RecordError(f"{name} row {number}: not a JSON object")
            yield Located(name, number, record)


def _parquet(directory: Path, series: str) -> Iterator[Located]:
    files = parquet.part_files(directory, series)
    if not files and series == "patients":
        raise DatasetError(f"{directory} has no patients/part-*.parquet")
    for path in files:
        name = str(path.relative_to(directory))
        try:
            _check_time_zones(name, pq.read_schema(path))
            for number, record in iter_part_records(path, series):
                yield Located(name, number + 1, record)
        except (OSError, ValueError, KeyError) as exc:  # pyarrow's errors derive from these
            raise RecordError(f"{name}: unreadable Parquet ({exc})") from None


def _check_time_zones(name: str, schema: pa.Schema) -> None:
    """A timestamp column must be an instant (care-synth writes `timestamp[ms, tz=UTC]`): one without
    a time zone is a wall-clock time of an unknown zone, which would be loaded hours off as UTC."""
    for field in schema:
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            raise RecordError(
                f"{name}: {field.name} is {field.type}, a timestamp without a time zone; "
                "write it as timestamp[ms, tz=UTC]"
            )


_SQLITE_ORDER = {"patients": '"index"'}


def _sqlite(directory: Path, series: str) -> Iterator[Located]:
    db = sqlite3.connect(f"file:{directory / SQLITE_FILE}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        order = _SQLITE_ORDER.get(series, "rowid")
        try:
            cursor = db.execute(f"SELECT rowid AS _rowid, * FROM {series} ORDER BY {order}")
        except sqlite3.Error as exc:
            raise RecordError(f"{SQLITE_FILE} table {series}: {exc}") from None
        areas = db.cursor()
        for row in cursor:
            values = dict(row)
            rowid = values.pop("_rowid")
            yield Located(f"{SQLITE_FILE} table {series}", rowid, _sqlite_record(series, values, areas))
    finally:
        db.close()


def _sqlite_record(series: str, row: Record, db: sqlite3.Cursor) -> Record:
    if series == "patients":
        return row | {
            "sources": [s for s in (row["sources"] or "").split(";") if s],
            "devices": [s for s in (row["devices"] or "").split(";") if s],
        }
    if series == "pain_entries":
        areas = db.execute(
            "SELECT area, max_intensity FROM pain_entry_areas WHERE entry_id = ?", (row["id"],)
        ).fetchall()
        qualities = db.execute(
            "SELECT quality FROM pain_entry_qualities WHERE entry_id = ?", (row["id"],)
        ).fetchall()
        return parquet.api_record(
            "pain_entries",
            row
            | {
                "areas": [{"area": a, "max_intensity": m} for a, m in areas],
                "qualities": [q for (q,) in qualities],
            },
        )
    if series == "wellbeing":
        return {
            "patient_id": row["patient_id"],
            "id": row["id"],
            "date": row["date"],
            "completed_at": row["completed_at"],
            "raw_score": row["raw_score"],
            "composite_score": row["composite_score"],
            "dimensions": {d: row[d] for d in WHO5_DIMENSIONS},
        }
    return parquet.api_record(series, row)
