"""Reading a Parquet dataset's records back for a load: a broken part is named (the part itself, not
the one read before it), and a timestamp column without a time zone is refused instead of guessed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthetic_data.dataset import DatasetError
from synthetic_data.dataset_records import iter_records, loadable_format
from synthetic_data.exporters import parquet
from synthetic_data.runner import RunSpec, run


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(parquet, "PART_PATIENTS", 3)  # 3 parts per series
    out = tmp_path / "parquet"
    spec = RunSpec(patients=9, days=5, seed=4, start=date(2026, 1, 1), out_dir=out, format="parquet")
    run(spec, workers=1)
    return out


@pytest.mark.parametrize("part", ["part-000000000.parquet", "part-000000003.parquet"])
def test_a_broken_part_is_named(parts: Path, part: str) -> None:
    path = parts / "gauges" / part
    path.write_bytes(path.read_bytes()[:200])  # cut short: no footer
    with pytest.raises(DatasetError, match=rf"^gauges/{part}: unreadable Parquet"):
        list(iter_records(parts, "gauges"))


def test_a_timestamp_without_a_time_zone_is_refused(parts: Path) -> None:
    path = parts / "vitals" / "part-000000006.parquet"
    table = pq.read_table(path)
    at = table.schema.get_field_index("measured_at")
    pq.write_table(table.set_column(at, "measured_at", table.column(at).cast(pa.timestamp("ms"))), path)
    with pytest.raises(
        DatasetError, match=r"vitals/part-000000006\.parquet: measured_at .*without a time zone"
    ):
        list(iter_records(parts, "vitals"))


def test_a_fhir_dataset_is_refused_as_not_loadable(tmp_path: Path) -> None:
    """Not the describe/plot advice ("generate ndjson, csv, …"): CSV cannot be loaded either."""
    out = tmp_path / "fhir"
    run(RunSpec(patients=2, days=2, seed=4, start=date(2026, 1, 1), out_dir=out, format="fhir"), workers=1)
    with pytest.raises(
        DatasetError, match=r"fhir datasets are not loadable; generate ndjson, parquet or sqlite$"
    ):
        loadable_format(out)
