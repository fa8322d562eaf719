"""CSV: one `<series>.csv` per series, flattened for spreadsheets and `COPY FROM`.

Nested fields are flattened: a pain entry's areas become `left_knee:6;right_knee:4`, its qualities
`burning;throbbing`, its vitals snapshot four `vitals_*` columns; WHO-5 dimensions and blood-pressure
components get their own columns. Empty cells are nulls. The header row is written only by the first
shard (or an unsharded run), so that shard files concatenate to the unsharded file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from synthetic_data.exporters.base import Block
from synthetic_data.exporters.files import FileSink
from synthetic_data.generate import PatientSeries
from synthetic_data.patient_records import patient_record
from synthetic_data.patients import PatientProfile
from synthetic_data.vocab import SERIES

COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "patient_key",
        "index",
        "display_name",
        "given_name",
        "family_name",
        "email",
        "locale",
        "sex",
        "birth_year",
        "timezone",
        "condition",
        "baseline_severity",
        "sources",
        "devices",
        "pain_baseline",
        "pain_sd",
        "pain_ar1",
        "flares_per_6_weeks",
        "flare_magnitude",
        "resting_hr",
        "hrv_rmssd",
        "sleep_hours",
        "steps",
        "diabetic",
        "who5_baseline",
    ),
    "pain_entries": (
        "patient_id",
        "id",
        "logged_at",
        "pain_level",
        "areas",
        "qualities",
        "overall_wellbeing",
        "vitals_source",
        "vitals_hrv",
        "vitals_sleep_duration",
        "vitals_resting_heart_rate",
        "vitals_steps",
        "notes",
    ),
    "wellbeing": (
        "patient_id",
        "id",
        "date",
        "completed_at",
        "raw_score",
        "composite_score",
        "cheerful",
        "calm",
        "active",
        "rested",
        "interested",
    ),
    "gauges": (
        "patient_id",
        "id",
        "gauge_type",
        "value",
        "scale_min",
        "scale_max",
        "recorded_at",
        "created_at",
        "notes",
    ),
    "vitals": (
        "patient_id",
        "id",
        "source",
        "metric",
        "value",
        "unit",
        "systolic",
        "diastolic",
        "measured_at",
        "received_at",
        "device",
    ),
    "flares": ("patient_id", "id", "start", "end", "duration_hours", "peak_delta"),
}
FILE_NAMES = {series: f"{series}.csv" for series in SERIES}


def _patient_row(profile: PatientProfile) -> tuple[Any, ...]:
    rec = patient_record(profile)
    model = rec["model"]
    return (
        *(rec[c] for c in COLUMNS["patients"][:13]),
        ";".join(rec["sources"]),
        ";".join(rec["devices"]),
        *(
            model[c]
            for c in (
                "pain_baseline",
                "pain_sd",
                "pain_ar1",
                "flares_per_6_weeks",
                "flare_magnitude",
                "resting_hr",
                "hrv_rmssd",
                "sleep_hours",
                "steps",
            )
        ),
        int(model["diabetic"]),
        model["who5_baseline"],
    )


def _pain_row(pid: str, e: dict[str, Any]) -> tuple[Any, ...]:
    vitals = e["vitals"] or {"source": None, "metrics": {}}
    m = vitals["metrics"]
    return (
        pid,
        e["id"],
        e["logged_at"],
        e["pain_level"],
        ";".join(f"{a['id']}:{a['max_intensity']}" for a in e["areas"]),
        ";".join(e["qualities"]),
        e["overall_wellbeing"],
        vitals["source"],
        m.get("hrv"),
        m.get("sleep_duration"),
        m.get("resting_heart_rate"),
        m.get("steps"),
        e["notes"],
    )


def _wellbeing_row(pid: str, w: dict[str, Any]) -> tuple[Any, ...]:
    d = w["dimensions"]
    return (
        pid,
        w["id"],
        w["date"],
        w["completed_at"],
        w["raw_score"],
        w["composite_score"],
        d["cheerful"],
        d["calm"],
        d["active"],
        d["rested"],
        d["interested"],
    )


def _gauge_row(g: dict[str, Any]) -> tuple[Any, ...]:
    return (
        g["patient_id"],
        g["id"],
        g["gauge_type"],
        g["value"],
        g["scale_min"],
        g["scale_max"],
        g["recorded_at"],
        g["created_at"],
        g["notes"],
    )


def _vital_row(pid: str, v: dict[str, Any]) -> tuple[Any, ...]:
    c = v.get("components") or {}
    return (
        pid,
        v["id"],
        v["source"],
        v["metric"],
        v["value"],
        v["unit"],
        c.get("systolic"),
        c.get("diastolic"),
        v["measured_at"],
        v["received_at"],
        v["device"],
    )


def _flare_row(f: dict[str, Any]) -> tuple[Any, ...]:
    return (f["patient_id"], f["id"], f["start"], f["end"], f["duration_hours"], f["peak_delta"])


def rows(profile: PatientProfile, series: PatientSeries) -> dict[str, list[tuple[Any, ...]]]:
    """The flattened rows of one patient, per series (shared with the SQLite format)."""
    pid = profile.patient_id
    return {
        "patients": [_patient_row(profile)],
        "pain_entries": [_pain_row(pid, e) for e in series.pain_entries],
        "wellbeing": [_wellbeing_row(pid, w) for w in series.wellbeing],
        "gauges": [_gauge_row(g) for g in series.gauges],
        "vitals": [_vital_row(pid, v) for v in series.vitals],
        "flares": [_flare_row(f) for f in series.flares],
    }


class CsvEncoder:
    def encode(self, patients: Iterable[tuple[PatientProfile, PatientSeries]], out_dir: Path) -> Block:
        block = Block()
        buffers = {series: io.StringIO() for series in SERIES}
        writers = {series: csv.writer(buffers[series], lineterminator="\n") for series in SERIES}
        for profile, series in patients:
            block.count(series)
            for name, table in rows(profile, series).items():
                writers[name].writerows(table)
        block.files = {FILE_NAMES[name]: buf.getvalue().encode() for name, buf in buffers.items()}
        return block


def header_bytes() -> dict[str, bytes]:
    return {FILE_NAMES[name]: (",".join(cols) + "\n").encode() for name, cols in COLUMNS.items()}


def csv_sink(out_dir: Path, *, first_shard: bool) -> FileSink:
    return FileSink(out_dir, list(FILE_NAMES.values()), header_bytes() if first_shard else None)
