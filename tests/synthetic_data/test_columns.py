"""The column paths (issue 19, speed) write exactly what the record paths write.

NDJSON formats vitals, pain, gauges and wellbeing lines straight from the generator's columns, and
Parquet takes those series as columns; both must give the bytes the per-record dicts give, for any
patient, window and messiness. These properties compare the two paths directly (the NDJSON/CSV
determinism tests only compare a run with itself).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic_data.exporters.ndjson import (
    gauge_lines,
    lines,
    pain_lines,
    patient_head,
    vital_lines,
    wellbeing_lines,
)
from synthetic_data.exporters.parquet import ParquetEncoder
from synthetic_data.generate import generate_days, timeline_for
from synthetic_data.models.gauges import build_gauges, gauge_columns
from synthetic_data.models.pain import build_pain_entries, pain_columns
from synthetic_data.models.vitals import build_vitals, vital_columns
from synthetic_data.models.wellbeing import build_wellbeing, wellbeing_columns
from synthetic_data.patients import make_profile
from synthetic_data.simulation import build_simulation

WINDOWS = st.tuples(st.integers(0, 90), st.integers(1, 60))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    run_seed=st.integers(0, 2**32),
    index=st.integers(0, 100_000),
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    window=WINDOWS,
    messiness=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_ndjson_lines_from_columns_equal_lines_from_dicts(
    run_seed: int, index: int, start: date, window: tuple[int, int], messiness: float
) -> None:
    first, n = window
    profile = make_profile(run_seed, index)
    sim = build_simulation(profile, timeline_for(start), first + n, messiness)
    head = patient_head(profile)
    vitals = vital_columns(sim, first, first + n)
    dicts = build_vitals(sim, first, first + n)
    assert (vital_lines(head, vitals) if vitals is not None else b"") == lines(dicts, head)
    assert (len(vitals) if vitals is not None else 0) == len(dicts)
    gauges = gauge_columns(sim, first, first + n)
    gauge_dicts = build_gauges(sim, first, first + n)
    assert (gauge_lines(gauges) if gauges is not None else b"") == lines(gauge_dicts, b"{")
    checkins = wellbeing_columns(sim, first, first + n)
    checkin_dicts = build_wellbeing(sim, first, first + n)
    assert (wellbeing_lines(head, checkins) if checkins is not None else b"") == lines(checkin_dicts, head)
    pain = pain_columns(sim, first, first + n)
    entries = build_pain_entries(sim, first, first + n)
    assert (pain_lines(head, pain) if pain is not None else b"") == lines(entries, head)
    assert (pain.ids.tolist() if pain is not None else []) == [e["id"] for e in entries]
    if pain is not None:
        areas = [[(a["id"], a["max_intensity"]) for a in e["areas"]] for e in entries]
        offsets = pain.area_offsets
        children = list(zip(pain.area_ids, pain.area_levels.tolist(), strict=True))
        assert [children[offsets[i] : offsets[i + 1]] for i in range(len(entries))] == areas
        q_offsets = pain.quality_offsets
        qualities = [pain.quality_ids[q_offsets[i] : q_offsets[i + 1]] for i in range(len(entries))]
        assert qualities == [e["qualities"] for e in entries]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    run_seed=st.integers(0, 2**32),
    first_index=st.integers(0, 100_000),
    days=st.integers(1, 120),
    messiness=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_parquet_parts_from_columns_equal_parts_from_dicts(
    run_seed: int, first_index: int, days: int, messiness: float
) -> None:
    start = date(2026, 3, 1)  # spans the EU daylight-saving switch
    profiles = [make_profile(run_seed, first_index + i) for i in range(6)]
    from_dicts = ParquetEncoder().encode(
        ((p, generate_days(p, start, 0, days, messiness)) for p in profiles), Path(".")
    )
    from_columns = ParquetEncoder().encode(
        (
            (
                p,
                generate_days(
                    p,
                    start,
                    0,
                    days,
                    messiness,
                    vitals_as_columns=True,
                    pain_as_columns=True,
                    gauges_as_columns=True,
                    wellbeing_as_columns=True,
                ),
            )
            for p in profiles
        ),
        Path("."),
    )
    assert from_columns.counts == from_dicts.counts
    assert from_columns.files.keys() == from_dicts.files.keys()
    for name, data in from_dicts.files.items():
        assert from_columns.files[name] == data, name
