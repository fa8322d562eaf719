"""Read a generated dataset back, one patient at a time, whatever its format (NDJSON, CSV, SQLite, Parquet).

`describe` and `plot` stream through datasets far larger than memory: series files are written in
patient order, so reading them in lockstep yields one patient's records at a time. CSV rows are turned
back into the fields the statistics need; SQLite is queried per patient; Parquet rows are turned back
into the exact NDJSON records (exporters/parquet.py `api_record`). FHIR bundles are for loading
into FHIR servers and are not read back here.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, TextIO

import orjson

from synthetic_data.exporters import parquet
from synthetic_data.exporters.csvfiles import COLUMNS
from synthetic_data.exporters.parquet_records import iter_api_records
from synthetic_data.exporters.sqlite import FILE_NAME as SQLITE_FILE
from synthetic_data.runner import MANIFEST
from synthetic_data.vocab import WHO5_DIMENSIONS

Record = dict[str, Any]
RECORD_SERIES = ("pain_entries", "wellbeing", "gauges", "vitals", "flares")


class DatasetError(Exception):
    """The directory is not a readable care-synth dataset (the message says why)."""


@dataclass
class PatientData:
    patient: Record
    series: dict[str, list[Record]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[Record]:
        return self.series.get(name, [])


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / MANIFEST
    if not path.is_file():
        return None
    manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    return manifest


def detect_format(directory: Path) -> str:
    if not directory.is_dir():
        raise DatasetError(f"{directory} is not a directory")
    manifest = read_manifest(directory)
    if manifest and manifest.get("format") in ("ndjson", "csv", "sqlite", "fhir", "parquet"):
        fmt = str(manifest["format"])
    elif (directory / "patients.ndjson").is_file():
        fmt = "ndjson"
    elif (directory / "patients.csv").is_file():
        fmt = "csv"
    elif (directory / SQLITE_FILE).is_file():
        fmt = "sqlite"
    elif parquet.part_files(directory, "patients"):
        fmt = "parquet"
    else:
        raise DatasetError(f"{directory} holds no care-synth dataset (no manifest.json or patients file)")
    return fmt


def iter_patients(directory: Path, *, only: str | None = None) -> Iterator[PatientData]:
    """The dataset's patients in file order, each with all of its records (only `only` if given)."""
    fmt = detect_format(directory)
    if fmt == "fhir":
        raise DatasetError(
            "FHIR bundles are not read back; generate ndjson, csv, sqlite or parquet to describe or plot"
        )
    if fmt == "ndjson":
        yield from _ndjson(directory, only)
    elif fmt == "csv":
        yield from _csv(directory, only)
    elif fmt == "parquet":
        yield from _parquet(directory, only)
    else:
        yield from _sqlite(directory, only)


def _lockstep(
    patients: Iterator[Record], groups: dict[str, Iterator[tuple[str, list[Record]]]], only: str | None
) -> Iterator[PatientData]:
    heads: dict[str, tuple[str, list[Record]] | None] = {name: next(it, None) for name, it in groups.items()}
    for patient in patients:
        pid = patient["patient_id"]
        data = PatientData(patient)
        for name, it in groups.items():
            head = heads[name]
            if head is not None and head[0] == pid:
                data.series[name] = head[1]
                heads[name] = next(it, None)
            else:
                data.series[name] = []
        if only is None or pid == only:
            yield data
            if only is not None:
                return


def _grouped(records: Iterator[Record]) -> Iterator[tuple[str, list[Record]]]:
    for pid, group in groupby(records, key=lambda r: r["patient_id"]):
        yield pid, list(group)


def _ndjson(directory: Path, only: str | None) -> Iterator[PatientData]:
    files: list[TextIO] = []
    try:

        def lines(name: str) -> Iterator[Record]:
            path = directory / f"{name}.ndjson"
            if not path.is_file():
                return
            handle = path.open("rb")
            files.append(handle)  # type: ignore[arg-type]
            for line in handle:
                yield orjson.loads(line)

        groups = {name: _grouped(lines(name)) for name in RECORD_SERIES}
        yield from _lockstep(lines("patients"), groups, only)
    finally:
        for handle in files:
            handle.close()


def _parquet(directory: Path, only: str | None) -> Iterator[PatientData]:
    def records(name: str) -> Iterator[Record]:
        for _path, _row, record in iter_api_records(directory, name):
            yield record

    groups = {name: _grouped(records(name)) for name in RECORD_SERIES}
    yield from _lockstep(records("patients"), groups, only)


def _number(text: str) -> float | int | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def _csv_records(directory: Path, name: str, handles: list[TextIO]) -> Iterator[dict[str, str]]:
    path = directory / f"{name}.csv"
    if not path.is_file():
        return
    handle = path.open(newline="", encoding="utf-8")
    handles.append(handle)
    reader = csv.reader(handle)
    columns = list(COLUMNS[name])
    for row in reader:
        if row == columns:  # the header (absent on shards after the first)
            continue
        yield dict(zip(columns, row, strict=True))


def _csv_record(name: str, row: dict[str, str]) -> Record:
    """A CSV row as the API record fields the statistics and plots use."""
    if name == "patients":
        return dict(row) | {
            "index": int(row["index"]),
            "sources": [s for s in row["sources"].split(";") if s],
        }
    if name == "pain_entries":
        return {
            "patient_id": row["patient_id"],
            "id": row["id"],
            "logged_at": row["logged_at"],
            "pain_level": int(row["pain_level"]),
            "overall_wellbeing": _number(row["overall_wellbeing"]),
        }
    if name == "wellbeing":
        dims = {d: int(row[d]) for d in WHO5_DIMENSIONS}
        return {
            "patient_id": row["patient_id"],
            "id": row["id"],
            "date": row["date"],
            "completed_at": row["completed_at"],
            "raw_score": int(row["raw_score"]),
            "composite_score": int(row["composite_score"]),
            "dimensions": dims,
        }
    if name == "gauges":
        return {k: (_number(v) if k in ("value", "scale_min", "scale_max") else v) for k, v in row.items()}
    if name == "vitals":
        record: Record = {
            k: row[k] for k in ("patient_id", "id", "source", "metric", "unit", "measured_at", "received_at")
        }
        record["value"] = _number(row["value"])
        if row["systolic"]:
            record["components"] = {"systolic": int(row["systolic"]), "diastolic": int(row["diastolic"])}
        return record
    return dict(row)  # flares


def _csv_series(directory: Path, name: str, handles: list[TextIO]) -> Iterator[Record]:
    for row in _csv_records(directory, name, handles):
        yield _csv_record(name, row)


def _csv(directory: Path, only: str | None) -> Iterator[PatientData]:
    handles: list[TextIO] = []
    try:
        groups = {name: _grouped(_csv_series(directory, name, handles)) for name in RECORD_SERIES}
        patients = _csv_series(directory, "patients", handles)
        yield from _lockstep(patients, groups, only)
    finally:
        for handle in handles:
            handle.close()


def _sqlite(directory: Path, only: str | None) -> Iterator[PatientData]:
    db = sqlite3.connect(f"file:{directory / SQLITE_FILE}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        query = 'SELECT * FROM patients ORDER BY "index"'
        params: tuple[Any, ...] = ()
        if only is not None:
            query, params = "SELECT * FROM patients WHERE patient_id = ?", (only,)
        for row in db.execute(query, params).fetchall():
            patient = dict(row) | {"sources": [s for s in row["sources"].split(";") if s]}
            pid = patient["patient_id"]
            data = PatientData(patient)
            for name in RECORD_SERIES:
                order = {"pain_entries": "logged_at", "wellbeing": "date", "gauges": "recorded_at"}.get(
                    name, "rowid"
                )
                rows = db.execute(f"SELECT * FROM {name} WHERE patient_id = ? ORDER BY {order}", (pid,))
                data.series[name] = [_sqlite_record(name, dict(r)) for r in rows]
            yield data
    finally:
        db.close()


def _sqlite_record(name: str, row: Record) -> Record:
    if name == "wellbeing":
        row["dimensions"] = {d: row.pop(d) for d in WHO5_DIMENSIONS}
    elif name == "vitals":
        systolic, diastolic = row.pop("systolic"), row.pop("diastolic")
        if systolic is not None:
            row["components"] = {"systolic": systolic, "diastolic": diastolic}
        if row["metric"] not in ("weight", "blood_glucose", "sleep_duration", "spo2", "body_temperature"):
            row["value"] = int(row["value"])
    return row
