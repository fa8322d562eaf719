"""Determinism: same inputs, same bytes — whatever the worker count, the sharding, or how the days of a
patient are split across calls (the sandbox's test clock generates each new day as it passes)."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic_data.generate import PatientSeries, generate_days
from synthetic_data.patients import make_profile
from synthetic_data.runner import RunSpec, run
from synthetic_data.vocab import CONDITIONS, VITAL_SOURCES

SERIES = ("pain_entries", "wellbeing", "gauges", "vitals", "flares")
FILES = {
    "ndjson": [f"{s}.ndjson" for s in ("patients", *SERIES)],
    "csv": [f"{s}.csv" for s in ("patients", *SERIES)],
}


def _concat(parts: list[PatientSeries]) -> dict[str, list[dict[str, object]]]:
    return {name: [r for part in parts for r in getattr(part, name)] for name in SERIES}


def _as_dict(series: PatientSeries) -> dict[str, list[dict[str, object]]]:
    return {name: getattr(series, name) for name in SERIES}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    run_seed=st.integers(0, 2**32),
    index=st.integers(0, 10_000),
    start=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    days=st.integers(1, 120),
    cuts=st.lists(st.integers(0, 120), max_size=4),
    messiness=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_generating_in_pieces_equals_generating_at_once(
    run_seed: int, index: int, start: date, days: int, cuts: list[int], messiness: float
) -> None:
    profile = make_profile(run_seed, index)
    whole = generate_days(profile, start, 0, days, messiness)
    bounds = sorted({0, days, *(c for c in cuts if c < days)})
    parts = [
        generate_days(profile, start, a, b - a, messiness) for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    assert _concat(parts) == _as_dict(whole)


@settings(max_examples=15, deadline=None)
@given(first=st.integers(0, 200), n=st.integers(1, 60), more=st.integers(1, 60))
def test_a_window_is_the_slice_of_a_longer_run(first: int, n: int, more: int) -> None:
    """Records of days [first, first+n) do not depend on how far the caller generated."""
    profile = make_profile(5, first % 97, sources=VITAL_SOURCES)
    start = date(2026, 1, 1)
    short = generate_days(profile, start, first, n)
    longer = generate_days(profile, start, first, n + more)
    end = (start + timedelta(days=first + n)).isoformat()
    for name in ("wellbeing",):
        assert getattr(short, name) == [r for r in getattr(longer, name) if r["date"] < end]
    assert short.pain_entries == longer.pain_entries[: len(short.pain_entries)]
    assert short.vitals == longer.vitals[: len(short.vitals)]


def test_profiles_do_not_depend_on_order_or_process_state() -> None:
    forward = [make_profile(77, i) for i in range(40)]
    backward = [make_profile(77, i) for i in reversed(range(40))][::-1]
    assert forward == backward
    assert make_profile(77, 3) != make_profile(78, 3)


def test_overrides_change_only_what_they_override() -> None:
    base = make_profile(11, 4)
    other = next(c for c in CONDITIONS if c != base.condition)
    moved = make_profile(11, 4, sources=("oura",))
    assert moved.sources == ("oura",)
    assert (moved.patient_key, moved.email, moved.condition, moved.pain, moved.body) == (
        base.patient_key,
        base.email,
        base.condition,
        base.pain,
        base.body,
    )
    assert make_profile(11, 4, condition=other).condition == other
    assert make_profile(11, 4, condition=other).patient_key == base.patient_key
    assert make_profile(11, 4, baseline_severity="severe").baseline_severity == "severe"
    assert make_profile(11, 4, locale="fi_FI").timezone == "Europe/Helsinki"


def _dataset(tmp: Path, fmt: str, workers: int, shard: tuple[int, int] = (1, 1), patients: int = 11) -> Path:
    out = tmp / f"{fmt}-{workers}-{shard[0]}of{shard[1]}"
    run(
        RunSpec(
            patients=patients, days=40, seed=42, start=date(2026, 2, 1), out_dir=out, format=fmt, shard=shard
        ),
        workers=workers,
    )
    return out


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_same_bytes_whatever_the_worker_count(tmp_path: Path, fmt: str) -> None:
    one, two = _dataset(tmp_path, fmt, 1), _dataset(tmp_path, fmt, 2)
    for name in [*FILES[fmt], "manifest.json"]:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


@pytest.mark.parametrize(("fmt", "shards"), [("ndjson", 3), ("csv", 4), ("ndjson", 11)])
def test_shards_concatenate_to_the_unsharded_output(tmp_path: Path, fmt: str, shards: int) -> None:
    whole = _dataset(tmp_path, fmt, 1)
    parts = [_dataset(tmp_path, fmt, 2, (i, shards)) for i in range(1, shards + 1)]
    for name in FILES[fmt]:
        assert b"".join((p / name).read_bytes() for p in parts) == (whole / name).read_bytes(), name


def test_fhir_bundles_are_identical_across_workers_and_shards(tmp_path: Path) -> None:
    one = _dataset(tmp_path, "fhir", 1, patients=5)
    two = _dataset(tmp_path, "fhir", 2, patients=5)
    shard = _dataset(tmp_path, "fhir", 1, (2, 2), patients=5)
    names = sorted(p.name for p in (one / "fhir").iterdir())
    assert len(names) == 5
    assert names == sorted(p.name for p in (two / "fhir").iterdir())
    for name in names:
        assert (one / "fhir" / name).read_bytes() == (two / "fhir" / name).read_bytes()
    for path in (shard / "fhir").iterdir():
        assert path.read_bytes() == (one / "fhir" / path.name).read_bytes()


def test_sqlite_holds_the_same_rows_whatever_the_worker_count(tmp_path: Path) -> None:
    dumps = []
    for workers in (1, 2):
        db = sqlite3.connect(_dataset(tmp_path, "sqlite", workers) / "care_synth.sqlite")
        dumps.append(list(db.iterdump()))
        db.close()
    assert dumps[0] == dumps[1]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patients=st.integers(1, 9), shards=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_any_sharding_concatenates_to_the_whole(
    tmp_path: Path, patients: int, shards: int, seed: int
) -> None:
    """Property: for any patient count and shard count, shards (even empty ones) concatenate exactly."""
    root = tmp_path / f"{patients}-{shards}-{seed}"

    def spec(shard: tuple[int, int], name: str) -> RunSpec:
        return RunSpec(
            patients=patients, days=4, seed=seed, start=date(2026, 1, 1), out_dir=root / name, shard=shard
        )

    run(spec((1, 1), "whole"))
    for i in range(1, shards + 1):
        run(spec((i, shards), f"part{i}"))
    for name in FILES["ndjson"]:
        joined = b"".join((root / f"part{i}" / name).read_bytes() for i in range(1, shards + 1))
        assert joined == (root / "whole" / name).read_bytes(), name
