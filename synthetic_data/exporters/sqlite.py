"""SQLite: one ready-to-query database, `care_synth.sqlite`, built in the parent from workers' rows.

Schema (`SCHEMA` below is the authority; README "care-synth SQLite schema" repeats it):

- `patients`: one row per patient — demographics, condition, sources (`;`-separated), and the model's
  ground truth (`pain_baseline`, `flares_per_6_weeks`, …);
- `pain_entries` with child tables `pain_entry_areas` (one row per body area and its max intensity)
  and `pain_entry_qualities` (one row per descriptor); the device snapshot is flattened into
  `vitals_*` columns;
- `wellbeing` (WHO-5: the five dimensions as columns), `gauges`, `vitals` (blood pressure's
  components as `systolic`/`diastolic`), `flares` (ground truth);
- `daily_pain`, a view: mean pain per patient and *UTC* day;
- `metadata`: key/value pairs describing the run (generator version, seed, arguments).

Timestamps are RFC 3339 UTC text (they sort and compare correctly as text); ids are the API ids. Rows
go in per block inside one transaction; indexes are built once at the end, and the file appears under
its final name only when complete. With `--shard`, each shard is its own database (merge them with
`ATTACH` and `INSERT INTO … SELECT`).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from synthetic_data.exporters.base import Block
from synthetic_data.exporters.csvfiles import rows as flat_rows
from synthetic_data.generate import PatientSeries
from synthetic_data.patients import PatientProfile

FILE_NAME = "care_synth.sqlite"

SCHEMA = """
CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE patients (
    patient_id TEXT PRIMARY KEY, patient_key TEXT NOT NULL UNIQUE, "index" INTEGER NOT NULL,
    display_name TEXT NOT NULL, given_name TEXT NOT NULL, family_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE, locale TEXT NOT NULL, sex TEXT NOT NULL, birth_year INTEGER NOT NULL,
    timezone TEXT NOT NULL, condition TEXT NOT NULL, baseline_severity TEXT NOT NULL,
    sources TEXT NOT NULL, devices TEXT NOT NULL,
    pain_baseline REAL, pain_sd REAL, pain_ar1 REAL, flares_per_6_weeks REAL, flare_magnitude REAL,
    resting_hr REAL, hrv_rmssd REAL, sleep_hours REAL, steps INTEGER, diabetic INTEGER, who5_baseline REAL
);
CREATE TABLE pain_entries (
    patient_id TEXT NOT NULL REFERENCES patients(patient_id), id TEXT PRIMARY KEY,
    logged_at TEXT NOT NULL, pain_level INTEGER NOT NULL, overall_wellbeing REAL,
    vitals_source TEXT, vitals_hrv REAL, vitals_sleep_duration REAL, vitals_resting_heart_rate REAL,
    vitals_steps INTEGER, notes TEXT
);
CREATE TABLE pain_entry_areas (
    entry_id TEXT NOT NULL REFERENCES pain_entries(id), area TEXT NOT NULL,
    max_intensity INTEGER NOT NULL, PRIMARY KEY (entry_id, area)
) WITHOUT ROWID;
CREATE TABLE pain_entry_qualities (
    entry_id TEXT NOT NULL REFERENCES pain_entries(id), quality TEXT NOT NULL,
    PRIMARY KEY (entry_id, quality)
) WITHOUT ROWID;
CREATE TABLE wellbeing (
    patient_id TEXT NOT NULL REFERENCES patients(patient_id), id TEXT PRIMARY KEY, date TEXT NOT NULL,
    completed_at TEXT NOT NULL, raw_score INTEGER NOT NULL, composite_score INTEGER NOT NULL,
    cheerful INTEGER NOT NULL, calm INTEGER NOT NULL, active INTEGER NOT NULL, rested INTEGER NOT NULL,
    interested INTEGER NOT NULL
);
CREATE TABLE gauges (
    patient_id TEXT NOT NULL REFERENCES patients(patient_id), id TEXT PRIMARY KEY,
    gauge_type TEXT NOT NULL, value INTEGER NOT NULL, scale_min INTEGER NOT NULL,
    scale_max INTEGER NOT NULL, recorded_at TEXT NOT NULL, created_at TEXT NOT NULL, notes TEXT
);
CREATE TABLE vitals (
    patient_id TEXT NOT NULL REFERENCES patients(patient_id), id TEXT PRIMARY KEY, source TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, systolic INTEGER, diastolic INTEGER,
    measured_at TEXT NOT NULL, received_at TEXT NOT NULL, device TEXT
);
CREATE TABLE flares (
    patient_id TEXT NOT NULL REFERENCES patients(patient_id), id TEXT PRIMARY KEY,
    start TEXT NOT NULL, "end" TEXT NOT NULL, duration_hours REAL NOT NULL, peak_delta REAL NOT NULL
);
CREATE VIEW daily_pain AS
    SELECT patient_id, substr(logged_at, 1, 10) AS day, avg(pain_level) AS mean_pain,
           max(pain_level) AS max_pain, count(*) AS entries
    FROM pain_entries GROUP BY patient_id, day;
"""
INDEXES = """
CREATE INDEX pain_entries_patient_time ON pain_entries (patient_id, logged_at);
CREATE INDEX wellbeing_patient_date ON wellbeing (patient_id, date);
CREATE INDEX gauges_patient_type_time ON gauges (patient_id, gauge_type, recorded_at);
CREATE INDEX vitals_patient_metric_time ON vitals (patient_id, metric, measured_at);
CREATE INDEX flares_patient_start ON flares (patient_id, start);
"""
TABLE_COLUMNS = {
    "patients": 26,
    "pain_entries": 11,
    "pain_entry_areas": 3,
    "pain_entry_qualities": 2,
    "wellbeing": 11,
    "gauges": 9,
    "vitals": 11,
    "flares": 6,
}


class SqliteEncoder:
    def encode(self, patients: Iterable[tuple[PatientProfile, PatientSeries]], out_dir: Path) -> Block:
        block = Block(rows={table: [] for table in TABLE_COLUMNS})
        tables = block.rows
        for profile, series in patients:
            block.count(series)
            flat = flat_rows(profile, series)
            for name in ("patients", "wellbeing", "gauges", "vitals", "flares"):
                tables[name] += flat[name]
            tables["pain_entries"] += [row[:4] + row[6:] for row in flat["pain_entries"]]
            for entry in series.pain_entries:
                tables["pain_entry_areas"] += [
                    (entry["id"], a["id"], a["max_intensity"]) for a in entry["areas"]
                ]
                tables["pain_entry_qualities"] += [(entry["id"], q) for q in entry["qualities"]]
        return block


class SqliteSink:
    """Writes to `<name>.partial` and renames it to `care_synth.sqlite` on close."""

    def __init__(self, out_dir: Path, metadata: dict[str, str] | None = None) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._final = out_dir / FILE_NAME
        self._partial = out_dir / (FILE_NAME + ".partial")
        self._partial.unlink(missing_ok=True)
        self._db = sqlite3.connect(self._partial, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.executescript(SCHEMA)
        self._db.executemany("INSERT INTO metadata VALUES (?, ?)", sorted((metadata or {}).items()))
        self._sql = {
            table: f"INSERT INTO {table} VALUES ({', '.join('?' * n)})" for table, n in TABLE_COLUMNS.items()
        }

    def write(self, block: Block) -> None:
        db = self._db
        db.execute("BEGIN")
        for table, rows in block.rows.items():
            if rows:
                db.executemany(self._sql[table], rows)
        db.execute("COMMIT")

    def close(self) -> dict[str, int]:
        self._db.executescript(INDEXES)
        self._db.execute("ANALYZE")
        self._db.close()
        os.replace(self._partial, self._final)
        return {FILE_NAME: self._final.stat().st_size}


def sqlite_sink(out_dir: Path, *, first_shard: bool, metadata: dict[str, Any] | None = None) -> SqliteSink:
    return SqliteSink(out_dir, {k: str(v) for k, v in (metadata or {}).items()})
