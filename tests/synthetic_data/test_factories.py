"""Every record the library emits validates against its component schema in openapi.yaml (stripe-mock's
`TestValidFixtures`): one exhaustive sweep over conditions, severities, source kits, locales, messiness
levels and a DST switch, plus coverage checks that the sweep really reached every variant."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from synthetic_data.generate import PatientSeries, generate_days
from synthetic_data.patient_records import sandbox_patient
from synthetic_data.patients import PatientProfile, make_profile
from synthetic_data.vocab import (
    BODY_AREAS,
    CONDITIONS,
    GAUGE_TYPES,
    LOCALES,
    PAIN_QUALITIES,
    SEVERITIES,
    SOURCE_METRICS,
    VITAL_SOURCES,
)
from tests.synthetic_data.schemas import errors, spec

# series attribute of PatientSeries -> component schema (flares are ground truth, not an API shape)
FACTORIES = {
    "pain_entries": "PainEntry",
    "wellbeing": "WellbeingCheckin",
    "gauges": "Gauge",
    "vitals": "VitalReading",
}
SOURCE_KITS = [(), *[(s,) for s in VITAL_SOURCES], tuple(VITAL_SOURCES)]
MESSINESS = (0.0, 0.3, 1.0)
START = date(2026, 3, 1)  # crosses the US (8 March) and EU (29 March) DST switches
DAYS = 45


def _sweep() -> list[tuple[PatientProfile, PatientSeries]]:
    out = []
    for i, (condition, severity, sources) in enumerate(product(CONDITIONS, SEVERITIES, SOURCE_KITS)):
        profile = make_profile(
            2026,
            i,
            condition=condition,
            baseline_severity=severity,
            sources=sources,
            locale=LOCALES[i % len(LOCALES)],
        )
        out.append((profile, generate_days(profile, START, 0, DAYS, messiness=MESSINESS[i % 3])))
    return out


@pytest.fixture(scope="module")
def sweep() -> list[tuple[PatientProfile, PatientSeries]]:
    return _sweep()


def test_every_series_has_a_factory_entry() -> None:
    # `*_columns` are the same series in column form (test_columns.py proves them equal to the dicts)
    series_fields = {f for f in PatientSeries.__dataclass_fields__ if not f.endswith("_columns")} - {"flares"}
    assert series_fields == set(FACTORIES)
    schemas = spec()["components"]["schemas"]
    assert all(name in schemas for name in [*FACTORIES.values(), "SandboxPatient"])


def test_every_record_validates(sweep: list[tuple[PatientProfile, PatientSeries]]) -> None:
    failures: list[str] = []
    counts = dict.fromkeys(FACTORIES, 0)
    for profile, series in sweep:
        for attribute, component in FACTORIES.items():
            for record in getattr(series, attribute):
                counts[attribute] += 1
                problems = errors(component, record)
                if problems:
                    failures.append(f"{component} {record.get('id')} ({profile.condition}): {problems[:3]}")
    assert not failures, "\n".join(failures[:20])
    assert all(n > 500 for n in counts.values()), counts


def test_sandbox_patient_validates() -> None:
    for i, locale in enumerate(LOCALES):
        profile = make_profile(9, i, locale=locale)
        record = sandbox_patient(profile, history_days=90, created_at="2026-05-04T09:00:00Z")
        assert errors("SandboxPatient", record) == []
        server_id = sandbox_patient(
            profile, history_days=0, created_at="2026-05-04T09:00:00Z", patient_id="sp_Ai7x2Lq"
        )
        assert errors("SandboxPatient", server_id) == []


def test_the_sweep_reaches_every_variant(sweep: list[tuple[PatientProfile, PatientSeries]]) -> None:
    """Coverage: every metric/unit pair a source can report, every gauge type, area and quality."""
    metric_units = {(v["source"], v["metric"], v["unit"]) for _, s in sweep for v in s.vitals}
    for source, metrics in SOURCE_METRICS.items():
        assert {m for s, m, _ in metric_units if s == source} == set(metrics), source
    units = {(m, u) for _, m, u in metric_units}
    assert {("sleep_duration", "h"), ("sleep_duration", "min"), ("weight", "kg"), ("weight", "lb")} <= units
    assert {("blood_glucose", "mg/dL"), ("blood_glucose", "mmol/L")} <= units
    assert {g["gauge_type"] for _, s in sweep for g in s.gauges} == set(GAUGE_TYPES)
    assert {a["id"] for _, s in sweep for e in s.pain_entries for a in e["areas"]} == set(BODY_AREAS)
    assert {q for _, s in sweep for e in s.pain_entries for q in e["qualities"]} == set(PAIN_QUALITIES)
    assert any(e["vitals"] is None for _, s in sweep for e in s.pain_entries)
    assert any(e["notes"] for _, s in sweep for e in s.pain_entries)
    assert any(v["id"].endswith("_d") for _, s in sweep for v in s.vitals)  # duplicate uploads


def test_records_respect_the_contract_beyond_the_schema(
    sweep: list[tuple[PatientProfile, PatientSeries]],
) -> None:
    """What JSON Schema cannot say: unique ids, unique areas, the most intense area, received >= measured."""
    ids: set[str] = set()
    for profile, series in sweep:
        for attribute in FACTORIES:
            for record in getattr(series, attribute):
                assert record["id"] not in ids
                ids.add(record["id"])
        for entry in series.pain_entries:
            area_ids = [a["id"] for a in entry["areas"]]
            assert len(area_ids) == len(set(area_ids))
            assert max(a["max_intensity"] for a in entry["areas"]) == entry["pain_level"]
        for reading in series.vitals:
            assert reading["received_at"] >= reading["measured_at"]
            assert reading["source"] in profile.sources
            assert reading["metric"] in SOURCE_METRICS[reading["source"]]
            if reading["metric"] == "blood_pressure":
                assert reading["components"]["diastolic"] < reading["components"]["systolic"]
                assert reading["value"] == reading["components"]["systolic"]
        for gauge in series.gauges:
            assert gauge["patient_id"] == profile.patient_id
            assert gauge["created_at"] >= gauge["recorded_at"]
        for checkin in series.wellbeing:
            assert checkin["raw_score"] == sum(checkin["dimensions"].values())
            assert checkin["composite_score"] == 4 * checkin["raw_score"]
