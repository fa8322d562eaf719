"""Parquet datasets: DuckDB reads them back equal to the NDJSON of the same seed, row for row; typed
columns; part files identical whatever the number of workers; `describe` reads them."""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthetic_data.dataset import iter_patients
from synthetic_data.describe import describe
from synthetic_data.exporters import parquet
from synthetic_data.exporters.parquet import api_record
from synthetic_data.exporters.parquet_records import api_records, iter_api_records
from synthetic_data.runner import RunSpec, run
from synthetic_data.simulation import Ids
from synthetic_data.vocab import SERIES

START = date(2026, 3, 1)


def _generate(
    out: Path, fmt: str, *, workers: int = 1, patients: int = 23, shard: tuple[int, int] = (1, 1)
) -> Path:
    spec = RunSpec(
        patients=patients, days=21, seed=11, start=START, out_dir=out, format=fmt, messiness=0.6, shard=shard
    )
    run(spec, workers=workers)
    return out


@pytest.fixture(scope="module")
def small_parts() -> Any:
    """Parts of 8 patients, so a 23-patient run has three part files per series (2 full, 1 short)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parquet, "PART_PATIENTS", 8)
        yield


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory, small_parts: None) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pq")
    return {
        "ndjson": _generate(root / "ndjson", "ndjson"),
        "parquet": _generate(root / "parquet", "parquet"),
        "parquet2": _generate(root / "parquet2", "parquet", workers=2),
    }


def _ndjson(path: Path, series: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (path / f"{series}.ndjson").read_bytes().splitlines()]


def _flat_patient(record: dict[str, Any]) -> dict[str, Any]:
    model = record["model"]
    flat = {k: v for k, v in record.items() if k != "model"}
    for key in ("pain_baseline", "pain_sd", "pain_ar1", "flares_per_6_weeks", "flare_magnitude"):
        flat[key] = model[key]
    for key in ("resting_hr", "hrv_rmssd", "sleep_hours", "steps", "diabetic", "who5_baseline"):
        flat[key] = model[key]
    return flat


def _duckdb_rows(directory: Path, series: str) -> list[dict[str, Any]]:
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    relation = db.sql(
        f"SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet("
        f"'{directory / series}/*.parquet', filename = true, file_row_number = true) "
        "ORDER BY filename, file_row_number"
    )
    columns = relation.columns
    return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


@pytest.mark.parametrize("series", SERIES)
def test_duckdb_reads_parquet_equal_to_ndjson_row_for_row(datasets: dict[str, Path], series: str) -> None:
    expected = _ndjson(datasets["ndjson"], series)
    rows = _duckdb_rows(datasets["parquet"], series)
    assert len(rows) == len(expected) > 0
    for number, (row, record) in enumerate(zip(rows, expected, strict=True)):
        if series == "patients":
            assert row == _flat_patient(record), number
        else:
            got = api_record(series, row)
            assert got == record, (number, got, record)
            assert list(got) == list(record), "key order as in NDJSON"


@pytest.mark.parametrize("series", SERIES)
def test_columnar_reading_gives_the_row_paths_records(datasets: dict[str, Path], series: str) -> None:
    """The loader's column-at-a-time reader equals `api_record` row by row: values, types, key order
    (messiness 0.6, so null snapshots, notes and components are in the files)."""
    rows = [
        (path, number, api_record(series, row))
        for path, number, row in parquet.iter_rows(datasets["parquet"], series)
    ]
    got = list(iter_api_records(datasets["parquet"], series, batch_rows=37))
    assert len(got) == len(rows) > 0
    for (path, number, record), expected in zip(got, rows, strict=True):
        assert (path, number, record) == expected
        assert [(k, type(v)) for k, v in record.items()] == [(k, type(v)) for k, v in expected[2].items()]


def test_columnar_reading_formats_any_timestamp_as_the_row_path_does() -> None:
    """Outside 1970..9999 (where numpy's text could differ from strftime) and with nulls, timestamps
    and dates take the row path's formatting."""
    stamps = [0, 1_767_225_599_999, -1_000, None, 253_402_300_799_999]
    days = [0, 20_454, -1, None, 2_932_896]
    for first in (0, 2):  # all in range (plus a null), and with out-of-range values
        batch = pa.RecordBatch.from_pylist(
            [
                {
                    "patient_id": "p",
                    "id": f"f{i}",
                    "start": s,
                    "end": s,
                    "duration_hours": 1.0,
                    "peak_delta": 2.0,
                }
                for i, s in enumerate(stamps[first:])
            ],
            schema=parquet.SCHEMAS["flares"],
        )
        assert api_records("flares", batch) == [api_record("flares", row) for row in batch.to_pylist()]
        checkins = pa.RecordBatch.from_pylist(
            [
                {"patient_id": "p", "id": f"w{i}", "date": d, "completed_at": s}
                for i, (d, s) in enumerate(zip(days[first:], stamps[first:], strict=True))
            ],
            schema=parquet.SCHEMAS["wellbeing"],
        )
        assert api_records("wellbeing", checkins) == [
            api_record("wellbeing", row) for row in checkins.to_pylist()
        ]


def test_columns_are_typed_and_compressed(datasets: dict[str, Path]) -> None:
    files = sorted((datasets["parquet"] / "pain_entries").glob("*.parquet"))
    assert [f.name for f in files] == [
        "part-000000000.parquet",
        "part-000000008.parquet",
        "part-000000016.parquet",
    ]
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    schema = pq.read_schema(files[0])
    assert str(schema.field("logged_at").type) == "timestamp[ms, tz=UTC]"
    assert str(schema.field("areas").type) == "list<element: struct<area: string, max_intensity: int8>>"
    assert str(schema.field("qualities").type) == "list<element: string>"
    vitals = pq.read_table(datasets["parquet"] / "vitals" / "part-000000000.parquet")
    assert str(vitals.schema.field("metric").type) == "dictionary<values=string, indices=int32, ordered=0>"
    assert vitals.column("measured_at").type.tz == str(UTC)
    wellbeing = pq.read_schema(datasets["parquet"] / "wellbeing" / "part-000000000.parquet")
    assert str(wellbeing.field("date").type) == "date32[day]"


def test_same_bytes_whatever_the_workers(datasets: dict[str, Path]) -> None:
    one, two = datasets["parquet"], datasets["parquet2"]
    names = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    for name in names:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_shards_give_the_same_rows(tmp_path: Path, datasets: dict[str, Path], small_parts: None) -> None:
    out = tmp_path / "sharded"
    for i in (1, 2, 3):
        _generate(out, "parquet", shard=(i, 3))
    for series in SERIES:
        assert _duckdb_rows(out, series) == _duckdb_rows(datasets["parquet"], series), series


def test_a_smaller_rerun_leaves_no_stale_parts(tmp_path: Path, small_parts: None) -> None:
    out = _generate(tmp_path / "again", "parquet")
    _generate(out, "parquet", patients=9)
    assert sorted(p.name for p in (out / "vitals").iterdir()) == [
        "part-000000000.parquet",
        "part-000000008.parquet",
    ]


def test_dataset_reader_and_describe_read_parquet(datasets: dict[str, Path]) -> None:
    from_ndjson = list(iter_patients(datasets["ndjson"]))
    from_parquet = list(iter_patients(datasets["parquet"]))
    assert [p.patient["patient_id"] for p in from_parquet] == [p.patient["patient_id"] for p in from_ndjson]
    for a, b in zip(from_parquet, from_ndjson, strict=True):
        for name in ("pain_entries", "wellbeing", "gauges", "vitals", "flares"):
            assert a[name] == b[name]
    assert describe(datasets["parquet"]).counts == describe(datasets["ndjson"]).counts


@given(
    chunks=st.lists(
        st.tuples(
            st.sampled_from(["vt_3b6000001_", "vt_3b6000002_", "pe_00000000a_"]),
            st.lists(st.tuples(st.integers(0, 400), st.integers(0, 3)), max_size=12),
            st.booleans(),  # as a list of strings (the dict path) rather than Ids
        ),
        max_size=6,
    )
)
def test_record_ids_equal_the_python_strings(chunks: list[tuple[str, list[tuple[int, int]], bool]]) -> None:
    """Ids joined in Arrow (and the mixed fallback) are exactly the strings `Ids.tolist()` makes."""
    suffixes = ("_0", "_1", "_22", "_3_d")
    made: list[Ids | list[str]] = []
    expected: list[str] = []
    for head, rows, as_text in chunks:
        ids = Ids(
            head,
            np.asarray([d for d, _ in rows], dtype=np.int64),
            np.asarray([s for _, s in rows], dtype=np.int64),
            suffixes,
        )
        text = ids.tolist()
        assert text == [f"{head}{d:04d}{suffixes[s]}" for d, s in rows]
        made.append(text if as_text else ids)
        expected += text
    assert parquet._record_ids(made).to_pylist() == expected


def test_codes_write_a_sorted_dictionary_of_the_values_used() -> None:
    """The dictionary holds the used values sorted, None is null, and first-seen order does not matter."""
    first, second = parquet._Codes(), parquet._Codes()
    for codes, values in (
        (first, ["fitbit", None, "apple", "oura"]),
        (second, ["oura", "apple", None, "fitbit"]),
    ):
        used = [v for v in values if v != "oura"]  # "oura" gets a code but no row
        for value in values:
            codes.code(value)
        codes.parts.append(np.asarray([codes.code(v) for v in used], dtype=np.int32))
    a, b = first.array(), second.array()
    assert a.dictionary.to_pylist() == ["apple", "fitbit"]
    assert a.to_pylist() == ["fitbit", None, "apple"]
    assert b.dictionary.to_pylist() == ["apple", "fitbit"]
    assert b.to_pylist() == ["apple", None, "fitbit"]
    kinds = parquet._Codes()
    kinds.parts.append(np.asarray([kinds.code(("withings", "weight", "kg", None))], dtype=np.int32))
    assert kinds.array(2).to_pylist() == ["kg"] and kinds.array(3).to_pylist() == [None]
