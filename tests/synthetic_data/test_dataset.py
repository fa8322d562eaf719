"""Datasets read back the same whatever their format; the SQLite schema answers the documented queries."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import orjson
import pytest

from synthetic_data.dataset import DatasetError, detect_format, iter_patients
from synthetic_data.describe import describe
from synthetic_data.exporters.ndjson import lines, patient_head
from synthetic_data.generate import generate_days
from synthetic_data.patients import make_profile
from synthetic_data.runner import RunSpec, run


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("datasets")
    out = {}
    for fmt in ("ndjson", "csv", "sqlite"):
        out[fmt] = root / fmt
        run(
            RunSpec(patients=9, days=50, seed=3, start=date(2026, 6, 1), out_dir=out[fmt], format=fmt),
            workers=1,
        )
    return out


def test_ndjson_lines_are_the_api_records_plus_patient_id(datasets: dict[str, Path]) -> None:
    profile = make_profile(3, 0)
    series = generate_days(profile, date(2026, 6, 1), 0, 50)
    first = orjson.loads((datasets["ndjson"] / "pain_entries.ndjson").read_bytes().split(b"\n")[0])
    assert first == {"patient_id": profile.patient_id, **series.pain_entries[0]}
    assert next(iter(first)) == "patient_id"
    assert lines(series.vitals, patient_head(profile)).count(b"\n") == len(series.vitals)


def test_every_format_reads_back_to_the_same_statistics(datasets: dict[str, Path]) -> None:
    overall = {fmt: describe(path).cohort.overall for fmt, path in datasets.items()}
    reference = overall["ndjson"]
    for fmt, group in overall.items():
        assert group.patients == 9
        for name in ("pain_mean", "pain_sd", "pain_ac1", "who5_mean", "sleep_pain_r", "late_share"):
            assert getattr(group, name) == pytest.approx(getattr(reference, name)), (fmt, name)
    counts = {fmt: describe(path).counts for fmt, path in datasets.items()}
    assert counts["csv"] == counts["ndjson"] == counts["sqlite"]


def test_sqlite_schema_answers_the_documented_queries(datasets: dict[str, Path]) -> None:
    db = sqlite3.connect(datasets["sqlite"] / "care_synth.sqlite")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert {
        "patients",
        "pain_entries",
        "pain_entry_areas",
        "pain_entry_qualities",
        "wellbeing",
        "gauges",
        "vitals",
        "flares",
        "daily_pain",
        "metadata",
    } <= tables
    (orphans,) = db.execute(
        "SELECT count(*) FROM pain_entry_areas a LEFT JOIN pain_entries e ON e.id = a.entry_id WHERE e.id IS NULL"
    ).fetchone()
    assert orphans == 0
    (bad,) = db.execute(
        "SELECT count(*) FROM wellbeing WHERE raw_score != cheerful + calm + active + rested + interested"
        " OR composite_score != 4 * raw_score"
    ).fetchone()
    assert bad == 0
    (top,) = db.execute(
        "SELECT count(*) FROM pain_entries e WHERE pain_level != "
        "(SELECT max(max_intensity) FROM pain_entry_areas a WHERE a.entry_id = e.id)"
    ).fetchone()
    assert top == 0
    assert dict(db.execute("SELECT key, value FROM metadata").fetchall())["seed"] == "3"
    assert db.execute("SELECT count(*) FROM daily_pain").fetchone()[0] > 9 * 30
    db.close()


def test_reading_one_patient_and_refusing_what_is_not_a_dataset(
    datasets: dict[str, Path], tmp_path: Path
) -> None:
    pid = make_profile(3, 4).patient_id
    for path in datasets.values():
        found = list(iter_patients(path, only=pid))
        assert len(found) == 1 and found[0].patient["patient_id"] == pid and found[0]["pain_entries"]
    with pytest.raises(DatasetError):
        detect_format(tmp_path)
