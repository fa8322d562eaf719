"""Parquet: one dataset (a directory of part files) per series, typed, zstd-compressed.

Layout (README "care-synth Parquet schema" documents the columns):

    <out>/<series>/part-<first patient index, 9 digits>.parquet

A part holds the patients [k·PART_PATIENTS, (k+1)·PART_PATIENTS) of the run (clipped to the shard), so
a million patients are a thousand files per series, each small enough to read alone, and part files
sort by name in patient order: `read_parquet('out/pain_entries/*.parquet')` in DuckDB or
`pandas.read_parquet('out/pain_entries')` read a series directly. The part boundaries depend only on
patient indices, never on workers, blocks or a Dask cluster's size, which is what keeps the bytes
identical for any `--workers` or `--scheduler`: a part is generated and encoded whole by one task.

Types: timestamps are `timestamp[ms, UTC]` (whole seconds), dates `date32`, closed vocabularies
(metric, source, unit, gauge type, condition, …) dictionary-encoded strings, a pain entry's body
areas a list of
`struct<area, max_intensity>` and its qualities a list of strings, `patients.sources`/`devices` lists.
Rows are the NDJSON records flattened the way CSV and SQLite flatten them (same column names).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from synthetic_data.exporters.base import Block
from synthetic_data.exporters.csvfiles import _patient_row as csv_patient_row
from synthetic_data.generate import PatientSeries
from synthetic_data.models.gauges import GaugeColumns
from synthetic_data.models.pain import AREA_INDEX, QUALITY_INDEX, SNAPSHOT_METRICS, PainColumns, Snapshots
from synthetic_data.models.vitals import VitalColumns
from synthetic_data.models.wellbeing import DIMENSIONS, WellbeingColumns
from synthetic_data.patient_records import patient_record
from synthetic_data.patients import PatientProfile
from synthetic_data.simulation import Ids, day_tags
from synthetic_data.vocab import BODY_AREAS, PAIN_QUALITIES, SERIES

PART_PATIENTS = 1_000
COMPRESSION = "zstd"
ROW_GROUP_PATIENTS = 200  # patients per row group (~320k vitals rows a year): bounds a worker's memory

TS = pa.timestamp("ms", tz="UTC")  # Parquet has no seconds unit; ms is what reads back
ENUM = pa.dictionary(pa.int32(), pa.string())
AREA = pa.struct([("area", pa.string()), ("max_intensity", pa.int8())])

SCHEMAS: dict[str, pa.Schema] = {
    "patients": pa.schema(
        [
            ("patient_id", pa.string()),
            ("patient_key", pa.string()),
            ("index", pa.int64()),
            ("display_name", pa.string()),
            ("given_name", pa.string()),
            ("family_name", pa.string()),
            ("email", pa.string()),
            ("locale", ENUM),
            ("sex", ENUM),
            ("birth_year", pa.int16()),
            ("timezone", ENUM),
            ("condition", ENUM),
            ("baseline_severity", ENUM),
            ("sources", pa.list_(pa.string())),
            ("devices", pa.list_(pa.string())),
            ("pain_baseline", pa.float64()),
            ("pain_sd", pa.float64()),
            ("pain_ar1", pa.float64()),
            ("flares_per_6_weeks", pa.float64()),
            ("flare_magnitude", pa.float64()),
            ("resting_hr", pa.float64()),
            ("hrv_rmssd", pa.float64()),
            ("sleep_hours", pa.float64()),
            ("steps", pa.int32()),
            ("diabetic", pa.bool_()),
            ("who5_baseline", pa.float64()),
        ]
    ),
    "pain_entries": pa.schema(
        [
            ("patient_id", pa.string()),
            ("id", pa.string()),
            ("logged_at", TS),
            ("pain_level", pa.int8()),
            ("areas", pa.list_(AREA)),
            ("qualities", pa.list_(pa.string())),
            ("overall_wellbeing", pa.float64()),
            ("vitals_source", ENUM),
            ("vitals_hrv", pa.int16()),
            ("vitals_sleep_duration", pa.float64()),
            ("vitals_resting_heart_rate", pa.int16()),
            ("vitals_steps", pa.int32()),
            ("notes", pa.string()),
        ]
    ),
    "wellbeing": pa.schema(
        [
            ("patient_id", pa.string()),
            ("id", pa.string()),
            ("date", pa.date32()),
            ("completed_at", TS),
            ("raw_score", pa.int8()),
            ("composite_score", pa.int8()),
            ("cheerful", pa.int8()),
            ("calm", pa.int8()),
            ("active", pa.int8()),
            ("rested", pa.int8()),
            ("interested", pa.int8()),
        ]
    ),
    "gauges": pa.schema(
        [
            ("patient_id", pa.string()),
            ("id", pa.string()),
            ("gauge_type", ENUM),
            ("value", pa.int16()),
            ("scale_min", pa.int16()),
            ("scale_max", pa.int16()),
            ("recorded_at", TS),
            ("created_at", TS),
            ("notes", pa.string()),
        ]
    ),
    "vitals": pa.schema(
        [
            ("patient_id", pa.string()),
            ("id", pa.string()),
            ("source", ENUM),
            ("metric", ENUM),
            ("value", pa.float64()),
            ("unit", ENUM),
            ("systolic", pa.int16()),
            ("diastolic", pa.int16()),
            ("measured_at", TS),
            ("received_at", TS),
            ("device", ENUM),
        ]
    ),
    "flares": pa.schema(
        [
            ("patient_id", pa.string()),
            ("id", pa.string()),
            ("start", TS),
            ("end", TS),
            ("duration_hours", pa.float64()),
            ("peak_delta", pa.float64()),
        ]
    ),
}


def part_name(series: str, first_index: int) -> str:
    return f"{series}/part-{first_index:09d}.parquet"


def part_bounds(indices: range) -> list[tuple[int, int]]:
    """The parts of a shard: [lo, hi) ranges cut at multiples of PART_PATIENTS."""
    bounds = []
    lo = indices.start
    while lo < indices.stop:
        hi = min((lo // PART_PATIENTS + 1) * PART_PATIENTS, indices.stop)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def _plain(schema: pa.Schema) -> pa.Schema:
    """`schema` with dictionary columns as plain strings and timestamps as text (how chunks are built:
    dictionaries are computed once per part, timestamps parsed once per column)."""
    fields = []
    for f in schema:
        if pa.types.is_dictionary(f.type) or f.type == TS or f.type == pa.date32():
            fields.append(pa.field(f.name, pa.string()))
        else:
            fields.append(f)
    return pa.schema(fields)


PLAIN = {name: _plain(schema) for name, schema in SCHEMAS.items()}


Columns = dict[str, Any]
"""A row group's columns being gathered. Most are lists of Python values; `patient_id` (outside
`patients`) holds (id, rows) runs, `id` (outside `patients`) holds one chunk per patient (the
generator's `Ids`, or a list of strings from dict records), the `_ARRAY_COLUMNS` hold numpy arrays,
one per patient, and enums are `_Codes`."""


class _Codes:
    """An enum column gathered as integer codes into a vocabulary (no string per row).

    It is written as a dictionary array whose values are sorted, so the bytes do not depend on the
    order values were first met: the column path and the dict path give the same file.
    A vocabulary entry may be a tuple (the vitals' source, metric, unit and device, coded together);
    `array(position)` then writes one field of it.
    """

    def __init__(self) -> None:
        self.vocabulary: dict[Any, int] = {}
        self.parts: list[npt.NDArray[np.int32]] = []

    def code(self, value: Any) -> int:
        return self.vocabulary.setdefault(value, len(self.vocabulary))

    def array(self, position: int | None = None) -> pa.DictionaryArray:
        entries = list(self.vocabulary)
        fields = [entry if position is None else entry[position] for entry in entries]
        rows = _merged(self.parts, np.int32)
        used = np.bincount(rows, minlength=len(entries)) > 0  # a code may have had no row
        values = sorted(
            {value for value, u in zip(fields, used.tolist(), strict=True) if u and value is not None}
        )
        where = {value: i for i, value in enumerate(values)}
        remap = np.asarray([where.get(value, -1) for value in fields], dtype=np.int32)
        indices = remap[rows] if rows.size else rows
        return pa.DictionaryArray.from_arrays(
            pa.array(indices, type=pa.int32(), mask=indices < 0), pa.array(values, pa.string())
        )


def _rows_of(columns: Columns, pid: str, n: int) -> None:
    """`n` rows of patient `pid` follow (one run in `patient_id`, not a string per row)."""
    if n:
        columns["patient_id"].append((pid, n))


def _ints(values: list[Any]) -> npt.NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64)


def _ms(texts: list[str]) -> npt.NDArray[np.int64]:
    """RFC 3339 timestamps of dict records as the int64 ms `_typed` takes (parsed by Arrow)."""
    parsed: npt.NDArray[np.int64] = pa.array(texts, pa.string()).cast(TS).cast(pa.int64()).to_numpy()
    return parsed


def _merged(parts: list[npt.NDArray[Any]], dtype: type = np.int64) -> npt.NDArray[Any]:
    """One patient's arrays after another (an empty array of `dtype` for none)."""
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _patient_columns(profile: PatientProfile, columns: Columns) -> None:
    record = patient_record(profile)
    flat = csv_patient_row(profile)
    row = (*flat[:13], record["sources"], record["devices"], *flat[15:24], bool(flat[24]), flat[25])
    for name, value in zip(SCHEMAS["patients"].names, row, strict=True):
        columns[name].append(value)


def _pain_columns(pid: str, entries: list[dict[str, Any]], columns: Columns) -> None:
    """Pain entries column by column; areas go to flat child columns plus list offsets."""
    _rows_of(columns, pid, len(entries))
    columns["id"].append([e["id"] for e in entries])
    columns["logged_at"].append(_ms([e["logged_at"] for e in entries]))
    columns["pain_level"].append(_ints([e["pain_level"] for e in entries]))
    columns["_area_code"].append(_ints([AREA_INDEX[a["id"]] for e in entries for a in e["areas"]]))
    columns["_area_max"].append(_ints([a["max_intensity"] for e in entries for a in e["areas"]]))
    columns["_area_count"].append(_ints([len(e["areas"]) for e in entries]))
    columns["_quality_code"].append(_ints([QUALITY_INDEX[q] for e in entries for q in e["qualities"]]))
    columns["_quality_count"].append(_ints([len(e["qualities"]) for e in entries]))
    columns["overall_wellbeing"] += [e["overall_wellbeing"] for e in entries]
    snapshots = [e["vitals"] for e in entries]
    source: _Codes = columns["vitals_source"]
    source.parts.append(np.asarray([source.code(v["source"] if v else None) for v in snapshots], np.int32))
    for name in SNAPSHOT_METRICS:
        values = [v["metrics"].get(name) if v else None for v in snapshots]
        absent = np.asarray([x is None for x in values], dtype=np.bool_)
        full = np.asarray([0 if x is None else x for x in values], dtype=_SNAPSHOT_DTYPES[name])
        columns[f"vitals_{name}"].append((full, absent))
    columns["notes"] += [e["notes"] for e in entries]


def _pain_from_columns(pid: str, pain: PainColumns, columns: Columns) -> None:
    """Pain entries from the generator's columns (no dict per entry or area)."""
    _rows_of(columns, pid, len(pain.ids))
    columns["id"].append(pain.ids)
    columns["logged_at"].append(pain.logged_ms)
    columns["pain_level"].append(pain.level)
    columns["_area_code"].append(pain.area_codes)
    columns["_area_max"].append(pain.area_levels)
    columns["_area_count"].append(np.diff(pain.area_offsets))
    columns["_quality_code"].append(pain.quality_codes)
    columns["_quality_count"].append(np.diff(pain.quality_offsets))
    columns["overall_wellbeing"] += pain.wellbeing
    _snapshot_columns(pain.snapshots, columns)
    columns["notes"] += pain.notes


_SNAPSHOT_DTYPES = {
    "hrv": np.int64,
    "sleep_duration": np.float64,
    "resting_heart_rate": np.int64,
    "steps": np.int64,
}
_MASKED_COLUMNS = {("pain_entries", f"vitals_{name}") for name in SNAPSHOT_METRICS} | {
    ("vitals", "systolic"),
    ("vitals", "diastolic"),
}


def _snapshot_columns(snapshots: Snapshots, columns: Columns) -> None:
    """An entry's device snapshot as full-length numpy columns with a null mask (no dict per entry)."""
    n, rows = snapshots.n, snapshots.rows
    source: _Codes = columns["vitals_source"]
    codes = np.full(n, source.code(None), dtype=np.int32)
    if snapshots.source is not None:
        codes[rows] = source.code(snapshots.source)
    source.parts.append(codes)
    for name in SNAPSHOT_METRICS:
        full = np.zeros(n, dtype=_SNAPSHOT_DTYPES[name])
        absent = np.ones(n, dtype=np.bool_)
        if name in snapshots.metrics:
            values, present = snapshots.metrics[name]
            full[rows[present]] = values[present]
            absent[rows[present]] = False
        columns[f"vitals_{name}"].append((full, absent))


def _wellbeing_from_columns(pid: str, checkins: WellbeingColumns, columns: Columns) -> None:
    """Check-ins from the generator's columns (dates as text, completion times as int64 ms)."""
    _rows_of(columns, pid, len(checkins))
    columns["id"].append(checkins.ids)
    origin = calendar.timegm(checkins.timeline.start.timetuple())
    columns["date"].append(checkins.days + origin // 86_400)  # date32: days since 1970-01-01
    columns["completed_at"].append((checkins.completed + origin) * 1000)
    columns["raw_score"].append(checkins.raw)
    columns["composite_score"].append(checkins.raw * 4)
    for name, values in zip(DIMENSIONS, checkins.items, strict=True):
        columns[name].append(values)


def _gauges_from_columns(gauges: GaugeColumns, columns: Columns) -> None:
    """Gauges from the generator's columns (day-major, type-minor; times are per day)."""
    n, per_day = len(gauges), len(gauges.kinds)
    _rows_of(columns, gauges.patient_id, n)
    columns["id"].append(gauges.ids)
    types: _Codes = columns["gauge_type"]
    types.parts.append(
        np.tile(np.asarray([types.code(g) for g, _, _ in gauges.kinds], np.int32), n // per_day)
    )
    columns["value"].append(gauges.values)
    columns["scale_min"].append(np.tile(_ints([lo for _, lo, _ in gauges.kinds]), n // per_day))
    columns["scale_max"].append(np.tile(_ints([hi for _, _, hi in gauges.kinds]), n // per_day))
    origin = calendar.timegm(gauges.timeline.start.timetuple())
    columns["recorded_at"].append(np.repeat((gauges.recorded + origin) * 1000, per_day))
    columns["created_at"].append(np.repeat((gauges.created + origin) * 1000, per_day))
    columns["notes"] += [None] * n


def _wellbeing_columns(pid: str, checkins: list[dict[str, Any]], columns: Columns) -> None:
    _rows_of(columns, pid, len(checkins))
    columns["id"].append([w["id"] for w in checkins])
    columns["date"].append(
        np.asarray([date.fromisoformat(w["date"]).toordinal() - _EPOCH_ORDINAL for w in checkins], np.int64)
    )
    for name in ("raw_score", "composite_score"):
        columns[name].append(_ints([w[name] for w in checkins]))
    columns["completed_at"].append(_ms([w["completed_at"] for w in checkins]))
    dimensions = [w["dimensions"] for w in checkins]
    for name in DIMENSIONS:
        columns[name].append(_ints([d[name] for d in dimensions]))


def _record_columns(series: str, pid: str, records: list[dict[str, Any]], columns: Columns) -> None:
    """Gauges and flares of patient `pid`: flat records (timestamps as text, parsed here into the
    int64 ms `_typed` takes)."""
    _rows_of(columns, pid, len(records))
    for name in SCHEMAS[series].names:
        if name == "patient_id":
            continue
        if name == "id":
            columns["id"].append([r["id"] for r in records])
        elif (series, name) in _MS_COLUMNS:
            columns[name].append(_ms([r[name] for r in records]))
        elif (series, name) in _ARRAY_COLUMNS:
            columns[name].append(_ints([r[name] for r in records]))
        elif isinstance(columns[name], _Codes):
            codes = columns[name]
            codes.parts.append(np.asarray([codes.code(r[name]) for r in records], dtype=np.int32))
        else:
            columns[name] += [r[name] for r in records]


def _vital_columns(pid: str, vitals: VitalColumns, columns: Columns) -> None:
    """Readings straight from the generator's columns: no dict and no timestamp text per reading."""
    ems = vitals.emitters
    k = vitals.emitter
    _rows_of(columns, pid, len(vitals))
    columns["id"].append(vitals.ids)
    kinds: _Codes = columns["_kinds"]  # (source, metric, unit, device), coded together
    codes = np.asarray([kinds.code((e.source, e.metric, e.unit, e.device)) for e in ems], dtype=np.int32)
    kinds.parts.append(codes[k])
    columns["value"].append(vitals.value)
    columns["systolic"].append((vitals.systolic, vitals.systolic < 0))
    columns["diastolic"].append((vitals.diastolic, vitals.diastolic < 0))
    columns["measured_at"].append((vitals.measured + vitals.origin) * 1000)  # int64 ms, one array
    columns["received_at"].append((vitals.received + vitals.origin) * 1000)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MS_COLUMNS = {
    ("vitals", "measured_at"),
    ("vitals", "received_at"),
    ("pain_entries", "logged_at"),
    ("gauges", "recorded_at"),
    ("wellbeing", "completed_at"),
    ("gauges", "created_at"),
}
# Columns the generator hands over as numpy arrays, one per patient (no Python value per row on the
# way): integers, the readings' float values, and check-in dates as days since 1970.
_ARRAY_COLUMNS = _MS_COLUMNS | {
    ("vitals", "value"),
    ("pain_entries", "pain_level"),
    ("gauges", "value"),
    ("gauges", "scale_min"),
    ("gauges", "scale_max"),
    ("wellbeing", "date"),
    ("wellbeing", "raw_score"),
    ("wellbeing", "composite_score"),
    *(("wellbeing", name) for name in DIMENSIONS),
}


def _empty_columns(name: str) -> Columns:
    columns: Columns = {field: [] for field in SCHEMAS[name].names}
    if name == "pain_entries":
        # areas and qualities: vocabulary codes of the flat children, and each entry's count
        columns |= {"_area_code": [], "_area_max": [], "_area_count": []}
        columns |= {"_quality_code": [], "_quality_count": []}
    if name == "vitals":  # source, metric, unit and device come as codes into `_kinds`
        columns["_kinds"] = _Codes()
    if name == "gauges":
        columns["gauge_type"] = _Codes()
    if name == "pain_entries":
        columns["vitals_source"] = _Codes()
    return columns


_KIND_COLUMNS = ("source", "metric", "unit", "device")


def _typed(name: str, columns: Columns) -> pa.Table:
    """Columns of one series as a typed table (timestamps parsed or taken as ms, enums
    dictionary-encoded, a pain entry's areas assembled from flat children and offsets)."""
    schema, plain = SCHEMAS[name], PLAIN[name]
    arrays = []
    for target, field in zip(schema, plain, strict=True):
        values = columns[target.name]
        if name == "pain_entries" and target.name == "areas":
            children = pa.StructArray.from_arrays(
                [
                    _AREAS.take(_merged(columns["_area_code"])),
                    pa.array(_merged(columns["_area_max"])).cast(pa.int8()),
                ],
                fields=list(AREA),
            )
            arrays.append(
                pa.ListArray.from_arrays(_offsets(columns["_area_count"]), children, type=target.type)
            )
            continue
        if name == "pain_entries" and target.name == "qualities":
            flat = _QUALITIES.take(_merged(columns["_quality_code"]))
            arrays.append(
                pa.ListArray.from_arrays(_offsets(columns["_quality_count"]), flat, type=target.type)
            )
            continue
        if name == "vitals" and target.name in _KIND_COLUMNS:
            arrays.append(columns["_kinds"].array(_KIND_COLUMNS.index(target.name)))
            continue
        if isinstance(values, _Codes):
            arrays.append(values.array())
            continue
        if target.name == "patient_id" and name != "patients":
            arrays.append(_patient_ids(values))
            continue
        if target.name == "id" and name != "patients":
            arrays.append(_record_ids(values))
            continue
        if (name, target.name) in _MASKED_COLUMNS:  # (values, absent) numpy pairs, one per patient
            merged, absent = _merged([v for v, _ in values]), _merged([a for _, a in values], np.bool_)
            arrays.append(pa.array(merged, mask=absent).cast(target.type))
            continue
        if (name, target.name) in _ARRAY_COLUMNS:  # numpy arrays, one per patient
            merged = _merged(values)
            if target.type == pa.date32():  # Arrow casts to date32 from int32 only
                merged = merged.astype(np.int32)
            arrays.append(pa.array(merged).cast(target.type))
            continue
        array = pa.array(values, type=field.type)
        if target.type == TS or target.type == pa.date32():
            array = array.cast(target.type)
        elif pa.types.is_dictionary(target.type):
            array = array.dictionary_encode().cast(target.type)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=schema)


# Free text and unique values: a dictionary page is tried, outgrows its limit and is thrown away.
_NEVER_DICTIONARY = {"id", "patient_key", "display_name", "given_name", "family_name", "email", "notes"}


def _leaves(field: pa.Field, prefix: str = "") -> Iterator[tuple[str, pa.DataType]]:
    """Parquet's leaf column paths under `field` (`areas.list.element.area`), with their types."""
    path = prefix + field.name
    if pa.types.is_list(field.type):  # written as Parquet's compliant three-level list
        yield from _leaves(field.type.value_field.with_name("element"), path + ".list.")
    elif pa.types.is_struct(field.type):
        for child in field.type:
            yield from _leaves(child, path + ".")
    else:
        yield path, field.type


def _writer_options(schema: pa.Schema) -> dict[str, Any]:
    """How a series is written, chosen per column by what it holds (measured in bench/README,
    "Parquet encoding", 2026-12-07: a third less time in `write_table` and files a third smaller).

    - Dictionary pages only for columns with few distinct values (enums, small integers, the
      patient id of every row): on ids, free text, floats and timestamps Parquet builds a dictionary,
      overflows its page limit and falls back, which costs time and gains nothing.
    - Timestamps delta-encoded: they rise within a patient, so deltas pack into a few bits.
    - Statistics (min/max per row group, what DuckDB and pandas prune with) for the patient id and the
      time columns, the ones queries filter on; per-value statistics of every text column cost time.
    """
    dictionary, delta, statistics = [], [], []
    for top in schema:
        for path, kind in _leaves(top):
            if kind == TS:
                delta.append(path)
                statistics.append(path)
            elif top.name not in _NEVER_DICTIONARY and not pa.types.is_floating(kind):
                dictionary.append(path)
            if top.name in ("patient_id", "index", "date"):
                statistics.append(path)
    return {
        "compression": COMPRESSION,
        "use_dictionary": dictionary,
        "write_statistics": statistics,
        "column_encoding": dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
    }


WRITER_OPTIONS = {name: _writer_options(schema) for name, schema in SCHEMAS.items()}


def _record_ids(chunks: list[Ids | list[str]]) -> pa.Array:
    """Record ids of a row group: `Ids` are joined in Arrow (head + day tag + suffix, three takes and
    one join for all the group's rows) rather than made one Python string at a time."""
    chunks = [c for c in chunks if len(c)]  # a patient with no records of the series
    coded = [c for c in chunks if isinstance(c, Ids)]
    if not coded or len(coded) < len(chunks) or any(c.suffixes is not coded[0].suffixes for c in coded):
        # dict records, or mixed: the strings themselves
        return pa.array([i for c in chunks for i in (c.tolist() if isinstance(c, Ids) else c)], pa.string())
    days = np.concatenate([c.day for c in coded])
    heads = pa.array([c.head for c in coded], pa.string())
    owner = np.repeat(np.arange(len(coded)), [len(c) for c in coded])
    tags = pa.array(day_tags(int(days.max()) + 1 if days.size else 1), pa.string())
    suffixes = pa.array(list(coded[0].suffixes), pa.string())
    return pc.binary_join_element_wise(
        heads.take(pa.array(owner)),
        tags.take(pa.array(days)),
        suffixes.take(pa.array(np.concatenate([c.suffix for c in coded]))),
        "",
    )


_AREAS = pa.array(BODY_AREAS, pa.string())
_QUALITIES = pa.array(PAIN_QUALITIES, pa.string())


def _offsets(counts: list[npt.NDArray[np.int64]]) -> pa.Array:
    """List offsets (int32, from 0) from each entry's child count."""
    return pa.array(np.concatenate(([0], np.cumsum(_merged(counts)))).astype(np.int32))


def _patient_ids(runs: list[tuple[str, int]]) -> pa.Array:
    """The patient id of every row, from (id, rows) runs: one string per patient, repeated in Arrow."""
    ids = pa.array([pid for pid, _ in runs], pa.string())
    rows = np.repeat(np.arange(len(runs)), [n for _, n in runs])
    return ids.take(pa.array(rows))


class _PartWriter:
    """One series' part file, written a row group at a time into memory (the bytes are small:
    zstd-compressed columns), so a part's rows never need to be held whole."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._sink = pa.BufferOutputStream()
        self._writer = pq.ParquetWriter(self._sink, SCHEMAS[name], **WRITER_OPTIONS[name])
        self._empty = True

    def write(self, columns: Columns) -> None:
        if columns["patient_id"]:  # patients, or runs of rows (never empty ones)
            self._writer.write_table(_typed(self.name, columns), row_group_size=1 << 30)
            self._empty = False

    def close(self) -> bytes:
        if self._empty:  # a file with the schema and no rows (readers still see the columns)
            self._writer.write_table(_typed(self.name, _empty_columns(self.name)))
        self._writer.close()
        return bytes(self._sink.getvalue().to_pybytes())


class ParquetEncoder:
    """Encodes one whole part (the runner's blocks are part-aligned in this format) into files.

    A row group holds ROW_GROUP_PATIENTS consecutive patients of the part, counted from its first
    patient: the layout depends only on patient indices (same bytes for any workers), and memory
    is bounded by one row group's rows whatever the part size. Rows are gathered column by column
    (never as per-record tuples), and the vitals — most of the rows — come from the generator as
    columns (`generate_days(..., vitals_as_columns=True)`), without a dict per reading.
    """

    def encode(self, patients: Iterable[tuple[PatientProfile, PatientSeries]], out_dir: Path) -> Block:
        block = Block()
        writers = {name: _PartWriter(name) for name in SERIES}
        pending = {name: _empty_columns(name) for name in SERIES}
        first: int | None = None
        waiting = 0

        def flush() -> None:
            for name in SERIES:
                writers[name].write(pending[name])
                pending[name] = _empty_columns(name)

        for profile, series in patients:
            if first is None:
                first = profile.index
            block.count(series)
            pid = profile.patient_id
            _patient_columns(profile, pending["patients"])
            if series.pain_columns is not None:
                _pain_from_columns(pid, series.pain_columns, pending["pain_entries"])
            else:
                _pain_columns(pid, series.pain_entries, pending["pain_entries"])
            if series.wellbeing_columns is not None:
                _wellbeing_from_columns(pid, series.wellbeing_columns, pending["wellbeing"])
            else:
                _wellbeing_columns(pid, series.wellbeing, pending["wellbeing"])
            if series.gauge_columns is not None:
                _gauges_from_columns(series.gauge_columns, pending["gauges"])
            else:
                _record_columns("gauges", pid, series.gauges, pending["gauges"])
            _record_columns("flares", pid, series.flares, pending["flares"])
            if series.vital_columns is not None:
                _vital_columns(pid, series.vital_columns, pending["vitals"])
            elif series.vitals:  # dict records (a caller that did not ask for columns)
                _vital_dicts(pid, series.vitals, pending["vitals"])
            waiting += 1
            if waiting >= ROW_GROUP_PATIENTS:
                flush()
                waiting = 0
        flush()
        files = {name: writer.close() for name, writer in writers.items()}
        if first is not None:
            block.files = {part_name(name, first): data for name, data in files.items()}
        return block


def _vital_dicts(pid: str, vitals: list[dict[str, Any]], columns: Columns) -> None:
    """`VitalReading` dicts into the vitals columns (timestamps parsed from their text)."""
    _rows_of(columns, pid, len(vitals))
    columns["id"].append([v["id"] for v in vitals])
    columns["value"].append(np.asarray([v["value"] for v in vitals], dtype=np.float64))
    kinds: _Codes = columns["_kinds"]
    kinds.parts.append(
        np.asarray(
            [kinds.code((v["source"], v["metric"], v["unit"], v["device"])) for v in vitals], dtype=np.int32
        )
    )
    comps = [v.get("components") or {} for v in vitals]
    for name in ("systolic", "diastolic"):
        values = np.asarray([c.get(name, -1) for c in comps], dtype=np.int64)
        columns[name].append((values, values < 0))
    for name in ("measured_at", "received_at"):
        columns[name].append(_ms([v[name] for v in vitals]))


class ParquetSink:
    """Writes each block's part files under their names (a block is a whole part here).

    Part files of this shard's patient range (and, for the last shard, every later one) left by an
    earlier run are removed first, as the other formats truncate their files: a smaller re-run must
    not leave stale parts behind.
    """

    def __init__(self, out_dir: Path, indices: range, *, last_shard: bool = True) -> None:
        for name in SERIES:
            folder = out_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("part-*.parquet"):
                first = old.stem.removeprefix("part-")
                if first.isdigit() and (
                    int(first) in indices or (last_shard and int(first) >= indices.start)
                ):
                    old.unlink()
        self._out = out_dir
        self._sizes: dict[str, int] = {}

    def write(self, block: Block) -> None:
        for name, data in block.files.items():
            path = self._out / name
            path.write_bytes(data)
            self._sizes[name] = len(data)
        for name, spilled in block.spilled.items():
            path = self._out / name
            _move(Path(spilled), path)
            self._sizes[name] = path.stat().st_size

    def close(self) -> dict[str, int]:
        return dict(sorted(self._sizes.items()))


def _move(source: Path, target: Path) -> None:
    """Rename when on one file system, else copy (spilled parts usually sit in /dev/shm)."""
    try:
        source.replace(target)
    except OSError:
        target.write_bytes(source.read_bytes())
        source.unlink()


def parquet_sink(out_dir: Path, indices: range, *, last_shard: bool) -> ParquetSink:
    return ParquetSink(out_dir, indices, last_shard=last_shard)


# Reading back: rows of the part files as the API records NDJSON holds (for `describe`, `plot` and
# loading a dataset into the sandbox).


def part_files(directory: Path, series: str) -> list[Path]:
    """The part files of `series`, in patient order (names sort that way)."""
    return sorted((directory / series).glob("part-*.parquet"))


def iter_rows(
    directory: Path, series: str, batch_rows: int = 8_192
) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """(file, row number in the file, row) of a series, streamed in batches (bounded memory)."""
    for path in part_files(directory, series):
        row_number = 0
        with pq.ParquetFile(path) as handle:
            for batch in handle.iter_batches(batch_size=batch_rows):
                for row in batch.to_pylist():
                    yield path, row_number, row
                    row_number += 1


def _ts(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _number(value: Any) -> Any:
    """Vitals values are float64 in Parquet; integral ones were ints in the API record."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def api_record(series: str, row: dict[str, Any]) -> dict[str, Any]:
    """The NDJSON record (API shape plus `patient_id`) a Parquet row was flattened from."""
    if series == "patients":
        return row
    if series == "pain_entries":
        metrics = {
            name: row[f"vitals_{name}"]
            for name in ("hrv", "sleep_duration", "resting_heart_rate", "steps")
            if row[f"vitals_{name}"] is not None
        }
        return {
            "patient_id": row["patient_id"],
            "id": row["id"],
            "pain_level": row["pain_level"],
            "areas": [{"id": a["area"], "max_intensity": a["max_intensity"]} for a in row["areas"]],
            "qualities": row["qualities"],
            "overall_wellbeing": row["overall_wellbeing"],
            "vitals": {"source": row["vitals_source"], "metrics": metrics} if row["vitals_source"] else None,
            "notes": row["notes"],
            "logged_at": _ts(row["logged_at"]),
        }
    if series == "wellbeing":
        day = row["date"]
        return {
            "patient_id": row["patient_id"],
            "id": row["id"],
            "date": day.isoformat() if isinstance(day, date) else day,
            "completed_at": _ts(row["completed_at"]),
            "raw_score": row["raw_score"],
            "composite_score": row["composite_score"],
            "dimensions": {d: row[d] for d in ("cheerful", "calm", "active", "rested", "interested")},
        }
    if series == "gauges":
        return {
            "id": row["id"],
            "patient_id": row["patient_id"],
            "gauge_type": row["gauge_type"],
            "value": row["value"],
            "scale_min": row["scale_min"],
            "scale_max": row["scale_max"],
            "recorded_at": _ts(row["recorded_at"]),
            "notes": row["notes"],
            "created_at": _ts(row["created_at"]),
        }
    if series == "vitals":
        record = {
            "patient_id": row["patient_id"],
            "id": row["id"],
            "source": row["source"],
            "metric": row["metric"],
            "value": _number(row["value"]),
            "unit": row["unit"],
            "measured_at": _ts(row["measured_at"]),
            "received_at": _ts(row["received_at"]),
            "device": row["device"],
        }
        if row["systolic"] is not None:
            record["components"] = {"systolic": row["systolic"], "diastolic": row["diastolic"]}
        return record
    return {  # flares
        "id": row["id"],
        "patient_id": row["patient_id"],
        "start": _ts(row["start"]),
        "end": _ts(row["end"]),
        "duration_hours": row["duration_hours"],
        "peak_delta": row["peak_delta"],
    }
