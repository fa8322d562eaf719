"""Parquet part files read back as the NDJSON records, a batch of columns at a time.

`parquet.api_record` turns one row (a dict from `RecordBatch.to_pylist`) back into its NDJSON record.
Loading a dataset reads millions of rows, and row dicts cost most of it: every row became a dict of all
its columns, and every timestamp a timezone-aware `datetime` that `strftime` then turned into text.
Here a batch is converted column by column instead: timestamps and dates are formatted by numpy in one
call per column, and each record is assembled from the columns' Python lists.

The records are the same as `api_record`'s, key order included (`tests/synthetic_data/test_parquet.py`
compares both for every series). Vectorised text is used only where it is provably the same as the row
path: timestamps and dates between 1970 and 9999 (numpy floors to the second like `strftime` drops the
milliseconds, and pads years to four digits like glibc does in that range); a column with a value
outside that range goes through the row path's own functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from synthetic_data.exporters.parquet import _number, _ts, part_files

_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_MAX_DAYS = 2_932_896  # 9999-12-31
_SNAPSHOT_METRICS = ("hrv", "sleep_duration", "resting_heart_rate", "steps")
_DIMENSIONS = ("cheerful", "calm", "active", "rested", "interested")


def iter_api_records(
    directory: Path, series: str, batch_rows: int = 8_192
) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """(file, row number in the file, NDJSON record) of a record series, streamed in batches."""
    for path in part_files(directory, series):
        for row_number, record in iter_part_records(path, series, batch_rows):
            yield path, row_number, record


def iter_part_records(
    path: Path, series: str, batch_rows: int = 8_192
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number in the file, NDJSON record) of one part file, streamed in batches."""
    row_number = 0
    with pq.ParquetFile(path) as handle:
        for batch in handle.iter_batches(batch_size=batch_rows):
            for record in api_records(series, batch):
                yield row_number, record
                row_number += 1


def api_records(series: str, batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """`[parquet.api_record(series, row) for row in batch.to_pylist()]`, built from columns."""
    column = _Columns(batch)
    if series == "pain_entries":
        return _pain_entries(column)
    if series == "wellbeing":
        return _wellbeing(column)
    if series == "gauges":
        return _gauges(column)
    if series == "vitals":
        return _vitals(column)
    if series == "flares":
        return _flares(column)
    rows: list[dict[str, Any]] = batch.to_pylist()
    return rows  # patients: rows are already the records


class _Columns:
    """A batch's columns as Python lists, timestamps and dates as the API's text."""

    def __init__(self, batch: pa.RecordBatch) -> None:
        self.batch = batch

    def __call__(self, name: str) -> list[Any]:
        values: list[Any] = self.batch.column(name).to_pylist()
        return values

    def timestamps(self, name: str) -> list[Any]:
        array = self.batch.column(name)
        numbers = array.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        if len(numbers) and (numbers.min() < 0 or numbers.max() > _MAX_MS):
            return [_ts(value) for value in array.to_pylist()]
        seconds = numbers.astype("datetime64[ms]").astype("datetime64[s]")
        return _with_nulls(
            array, [value + "Z" for value in np.datetime_as_string(seconds, unit="s").tolist()]
        )

    def dates(self, name: str) -> list[Any]:
        array = self.batch.column(name)
        numbers = array.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        if len(numbers) and (numbers.min() < 0 or numbers.max() > _MAX_DAYS):
            return [value.isoformat() if value is not None else None for value in array.to_pylist()]
        return _with_nulls(array, np.datetime_as_string(numbers.astype("datetime64[D]"), unit="D").tolist())


def _with_nulls(array: pa.Array, values: list[Any]) -> list[Any]:
    """`values` with None where `array` is null (the row path's `_ts(None)`)."""
    if array.null_count:
        for position in np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False)).tolist():
            values[position] = None
    return values


def _pain_entries(column: _Columns) -> list[dict[str, Any]]:
    snapshot = [column(f"vitals_{name}") for name in _SNAPSHOT_METRICS]
    records = []
    for (
        patient_id,
        entry_id,
        level,
        areas,
        qualities,
        wellbeing,
        source,
        notes,
        logged_at,
        *metric_values,
    ) in zip(
        column("patient_id"),
        column("id"),
        column("pain_level"),
        column("areas"),
        column("qualities"),
        column("overall_wellbeing"),
        column("vitals_source"),
        column("notes"),
        column.timestamps("logged_at"),
        *snapshot,
        strict=True,
    ):
        vitals = None
        if source:
            metrics = {
                name: value
                for name, value in zip(_SNAPSHOT_METRICS, metric_values, strict=True)
                if value is not None
            }
            vitals = {"source": source, "metrics": metrics}
        records.append(
            {
                "patient_id": patient_id,
                "id": entry_id,
                "pain_level": level,
                "areas": [{"id": a["area"], "max_intensity": a["max_intensity"]} for a in areas],
                "qualities": qualities,
                "overall_wellbeing": wellbeing,
                "vitals": vitals,
                "notes": notes,
                "logged_at": logged_at,
            }
        )
    return records


def _wellbeing(column: _Columns) -> list[dict[str, Any]]:
    dimensions = [column(name) for name in _DIMENSIONS]
    return [
        {
            "patient_id": patient_id,
            "id": checkin_id,
            "date": day,
            "completed_at": completed_at,
            "raw_score": raw,
            "composite_score": composite,
            "dimensions": dict(zip(_DIMENSIONS, scores, strict=True)),
        }
        for patient_id, checkin_id, day, completed_at, raw, composite, *scores in zip(
            column("patient_id"),
            column("id"),
            column.dates("date"),
            column.timestamps("completed_at"),
            column("raw_score"),
            column("composite_score"),
            *dimensions,
            strict=True,
        )
    ]


def _gauges(column: _Columns) -> list[dict[str, Any]]:
    return [
        {
            "id": gauge_id,
            "patient_id": patient_id,
            "gauge_type": kind,
            "value": value,
            "scale_min": scale_min,
            "scale_max": scale_max,
            "recorded_at": recorded_at,
            "notes": notes,
            "created_at": created_at,
        }
        for gauge_id, patient_id, kind, value, scale_min, scale_max, recorded_at, notes, created_at in zip(
            column("id"),
            column("patient_id"),
            column("gauge_type"),
            column("value"),
            column("scale_min"),
            column("scale_max"),
            column.timestamps("recorded_at"),
            column("notes"),
            column.timestamps("created_at"),
            strict=True,
        )
    ]


def _vitals(column: _Columns) -> list[dict[str, Any]]:
    records = []
    for (
        patient_id,
        vital_id,
        source,
        metric,
        value,
        unit,
        measured_at,
        received_at,
        device,
        systolic,
        diastolic,
    ) in zip(
        column("patient_id"),
        column("id"),
        column("source"),
        column("metric"),
        column("value"),
        column("unit"),
        column.timestamps("measured_at"),
        column.timestamps("received_at"),
        column("device"),
        column("systolic"),
        column("diastolic"),
        strict=True,
    ):
        record = {
            "patient_id": patient_id,
            "id": vital_id,
            "source": source,
            "metric": metric,
            "value": _number(value),
            "unit": unit,
            "measured_at": measured_at,
            "received_at": received_at,
            "device": device,
        }
        if systolic is not None:
            record["components"] = {"systolic": systolic, "diastolic": diastolic}
        records.append(record)
    return records


def _flares(column: _Columns) -> list[dict[str, Any]]:
    return [
        {
            "id": flare_id,
            "patient_id": patient_id,
            "start": start,
            "end": end,
            "duration_hours": hours,
            "peak_delta": delta,
        }
        for flare_id, patient_id, start, end, hours, delta in zip(
            column("id"),
            column("patient_id"),
            column.timestamps("start"),
            column.timestamps("end"),
            column("duration_hours"),
            column("peak_delta"),
            strict=True,
        )
    ]
