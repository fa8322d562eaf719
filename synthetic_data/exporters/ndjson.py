"""NDJSON: one `<series>.ndjson` per series, one record per line, patients in index order.

Each line is the API record exactly as `generate_days` returns it (the openapi.yaml shape), with the
patient's id added as the first key, `patient_id`, so a line stands on its own (gauges and flares
already carry it). `patients.ndjson` holds one `patient_record` per patient. Serialized with orjson:
keys in insertion order, floats in shortest round-trip form, no spaces.

Speed note: writing `head` and `orjson.dumps(r, option=OPT_APPEND_NEWLINE)[1:]` into one BytesIO is
the fastest form measured here (~0.26 µs a record). Keeping orjson's own output objects alive in a list
is 4x slower (each one is a separately allocated, shrunk buffer), and one `dumps` of the whole list
plus a `bytes.replace` on the record boundaries is no faster. Vitals, pain entries, gauges and wellbeing
(all but flares) skip the dicts: the generator hands them over as columns (`VitalColumns`, …) and
`vital_lines`, `pain_lines`, `gauge_lines` format each line from constant pieces. The bytes are the
ones orjson writes for the dicts: keys in the same order, constant pieces and strings JSON-encoded by
orjson, numbers formatted by one orjson call over a whole column (floats keep orjson's shortest form);
tests/synthetic_data/test_columns.py proves the two paths equal.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from synthetic_data.exporters.base import Block
from synthetic_data.exporters.files import FileSink
from synthetic_data.generate import PatientSeries
from synthetic_data.models.gauges import GaugeColumns
from synthetic_data.models.pain import PainColumns
from synthetic_data.models.vitals import VitalColumns
from synthetic_data.models.wellbeing import WellbeingColumns
from synthetic_data.patient_records import patient_record
from synthetic_data.patients import PatientProfile
from synthetic_data.vocab import SERIES

FILE_NAMES = {series: f"{series}.ndjson" for series in SERIES}
RECORD_SERIES = ("pain_entries", "wellbeing", "gauges", "vitals", "flares")
HAS_PATIENT_ID = frozenset({"gauges", "flares"})


def lines(records: list[dict[str, Any]], head: bytes) -> bytes:
    """NDJSON of `records`, each line starting with `head` instead of `{`."""
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    buffer = io.BytesIO()
    write = buffer.write
    for record in records:
        write(head)
        write(dumps(record, option=newline)[1:])
    return buffer.getvalue()


def vital_lines(head: bytes, columns: VitalColumns) -> bytes:
    """The NDJSON lines of `columns` (each starting with `head`), byte for byte what `lines` writes
    for the `VitalReading` dicts `build_vitals` makes of the same columns."""
    start = head.decode()
    pieces = [
        (
            f'","source":{_json(e.source)},"metric":{_json(e.metric)},"value":',
            f',"unit":{_json(e.unit)},"measured_at":"',
            '","received_at":"',
            f'","device":{_json(e.device)}',
        )
        for e in columns.emitters
    ]
    values = orjson.dumps(columns.values())[1:-1].decode().split(",") if len(columns) else []
    iso_many = columns.timeline.iso_many
    out: list[str] = []
    append = out.append
    rows = zip(
        columns.ids.tolist(),
        columns.emitter.tolist(),
        values,
        iso_many(columns.measured),
        iso_many(columns.received),
        *columns.components(),  # systolic, diastolic
        strict=True,
    )
    for id_, k, value, measured, received, systolic, diastolic in rows:
        to_value, to_measured, to_received, device = pieces[k]
        line = f'{start}"id":"{id_}{to_value}{value}{to_measured}{measured}{to_received}{received}{device}'
        if systolic is None:
            append(line + "}\n")
        else:
            append(f'{line},"components":{{"systolic":{systolic},"diastolic":{diastolic}}}}}\n')
    return "".join(out).encode()


def gauge_lines(columns: GaugeColumns) -> bytes:
    """The NDJSON lines of `columns`, byte for byte what `lines` writes for `build_gauges`' dicts
    (gauges carry their own `patient_id`, after `id`)."""
    patient = f',"patient_id":{_json(columns.patient_id)},"gauge_type":'
    pieces = [
        (f'{patient}{_json(gauge)},"value":', f',"scale_min":{lo},"scale_max":{hi},"recorded_at":"')
        for gauge, lo, hi in columns.kinds
    ]
    iso_many = columns.timeline.iso_many
    out: list[str] = []
    append = out.append
    rows = iter(zip(columns.ids.tolist(), columns.values.tolist(), strict=True))
    for recorded, created in zip(iso_many(columns.recorded), iso_many(columns.created), strict=True):
        tail = f'","notes":null,"created_at":"{created}"}}\n'
        # `pieces` first: zip stops on it without taking the next day's first row from `rows`
        for (to_value, to_recorded), (id_, value) in zip(pieces, rows, strict=False):
            append(f'{{"id":"{id_}"{to_value}{value}{to_recorded}{recorded}{tail}')
    return "".join(out).encode()


def pain_lines(head: bytes, columns: PainColumns) -> bytes:
    """The NDJSON lines of `columns`, byte for byte what `lines` writes for `build_pain_entries`'
    dicts: per-area and per-quality JSON pieces cached, wellbeing formatted by one orjson call."""
    start = head.decode()
    n = len(columns.ids)
    a_ids = columns.area_ids
    area_head: dict[str, str] = {}
    for name in set(a_ids):
        area_head[name] = f'{{"id":{_json(name)},"max_intensity":'
    a_levels, a_offsets = columns.area_levels.tolist(), columns.area_offsets.tolist()
    q_ids, q_offsets = columns.quality_ids, columns.quality_offsets.tolist()
    wellbeing = orjson.dumps(columns.wellbeing)[1:-1].decode().split(",") if n else []
    dumps = orjson.dumps
    out: list[str] = []
    append = out.append
    rows = zip(
        columns.ids.tolist(),
        columns.level.tolist(),
        wellbeing,
        columns.snapshots.dicts(),
        columns.notes,
        columns.timeline.iso_many(columns.logged),
        strict=True,
    )
    for i, (id_, level, wb, snapshot, note, logged) in enumerate(rows):
        lo, hi = a_offsets[i], a_offsets[i + 1]
        areas = ",".join([f"{area_head[a_ids[j]]}{a_levels[j]}}}" for j in range(lo, hi)])
        qualities = dumps(q_ids[q_offsets[i] : q_offsets[i + 1]]).decode()
        vitals = "null" if snapshot is None else dumps(snapshot).decode()
        notes = "null" if note is None else dumps(note).decode()
        append(
            f'{start}"id":"{id_}","pain_level":{level},"areas":[{areas}],"qualities":{qualities},'
            f'"overall_wellbeing":{wb},"vitals":{vitals},"notes":{notes},"logged_at":"{logged}"}}\n'
        )
    return "".join(out).encode()


def wellbeing_lines(head: bytes, columns: WellbeingColumns) -> bytes:
    """The NDJSON lines of `columns`, byte for byte what `lines` writes for `build_wellbeing`'s dicts."""
    start = head.decode()
    date_str = columns.timeline.date_str
    rows = zip(
        columns.ids.tolist(),
        columns.days.tolist(),
        columns.timeline.iso_many(columns.completed),
        columns.raw.tolist(),
        *columns.items.tolist(),
        strict=True,
    )
    return "".join(
        [
            f'{start}"id":"{id_}","date":"{date_str(day)}","completed_at":"{done}","raw_score":{raw},'
            f'"composite_score":{raw * 4},"dimensions":{{"cheerful":{c1},"calm":{c2},"active":{c3},'
            f'"rested":{c4},"interested":{c5}}}}}\n'
            for id_, day, done, raw, c1, c2, c3, c4, c5 in rows
        ]
    ).encode()


def _json(value: str | None) -> str:
    return orjson.dumps(value).decode()


def patient_head(profile: PatientProfile) -> bytes:
    """`{"patient_id":"p2c_anon_…",`: the start of a line that adds the patient's id to a record."""
    return b'{"patient_id":"' + profile.patient_id.encode() + b'",'


class NdjsonEncoder:
    def encode(self, patients: Iterable[tuple[PatientProfile, PatientSeries]], out_dir: Path) -> Block:
        block = Block()
        chunks: dict[str, list[bytes]] = {series: [] for series in SERIES}
        for profile, series in patients:
            block.count(series)
            head = patient_head(profile)
            chunks["patients"].append(orjson.dumps(patient_record(profile)) + b"\n")
            for name in RECORD_SERIES:
                if name == "vitals" and series.vital_columns is not None:
                    chunks[name].append(vital_lines(head, series.vital_columns))
                elif name == "pain_entries" and series.pain_columns is not None:
                    chunks[name].append(pain_lines(head, series.pain_columns))
                elif name == "wellbeing" and series.wellbeing_columns is not None:
                    chunks[name].append(wellbeing_lines(head, series.wellbeing_columns))
                elif name == "gauges" and series.gauge_columns is not None:
                    chunks[name].append(gauge_lines(series.gauge_columns))
                else:
                    chunks[name].append(
                        lines(getattr(series, name), b"{" if name in HAS_PATIENT_ID else head)
                    )
        block.files = {FILE_NAMES[name]: b"".join(parts) for name, parts in chunks.items()}
        return block


def ndjson_sink(out_dir: Path, *, first_shard: bool) -> FileSink:
    return FileSink(out_dir, list(FILE_NAMES.values()))
