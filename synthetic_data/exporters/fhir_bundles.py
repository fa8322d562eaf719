"""FHIR R4: one transaction Bundle per patient, written to `fhir/<patient_id>.json`.

The Bundle holds the (anonymized) Patient, a LOINC-coded Observation per pain entry (SNOMED CT body
site) and per device reading, a local-coded Observation per gauge, and a QuestionnaireResponse per
WHO-5 check-in — all mapped by the pure functions of fhir.py, the same ones the sandbox's FHIR facade
serves. Entries are `PUT <type>/<id>`, so loading a bundle twice into a FHIR server is idempotent:

    curl -X POST -H 'Content-Type: application/fhir+json' --data @fhir/p2c_anon_….json $FHIR_BASE

One file per patient makes shards trivially combinable (their union is the unsharded output).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from synthetic_data.exporters.base import Block
from synthetic_data.exporters.fhir import (
    fhir_id,
    gauge_to_observation,
    pain_entry_to_observation,
    patient_to_fhir,
    vital_to_observation,
    wellbeing_to_questionnaire_response,
)
from synthetic_data.generate import PatientSeries
from synthetic_data.patients import PatientProfile

DIRECTORY = "fhir"
_NAMESPACE = uuid.UUID("6f1b8c9e-2f4c-4d7a-9c1e-5a0b3d2e7f10")  # care-synth's uuid5 namespace


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    path = f"{resource['resourceType']}/{resource['id']}"
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, path)}",
        "resource": resource,
        "request": {"method": "PUT", "url": path},
    }


def patient_bundle(profile: PatientProfile, series: PatientSeries) -> dict[str, Any]:
    """The transaction Bundle of one patient's records (a pure function of its arguments)."""
    pid = profile.patient_id
    resources: list[dict[str, Any]] = [
        patient_to_fhir(pid, gender=profile.sex, birth_year=profile.birth_year)
    ]
    resources += [pain_entry_to_observation(e, pid) for e in series.pain_entries]
    resources += [wellbeing_to_questionnaire_response(w, pid) for w in series.wellbeing]
    resources += [gauge_to_observation(g, pid) for g in series.gauges]
    resources += [vital_to_observation(v, pid) for v in series.vitals]
    return {
        "resourceType": "Bundle",
        "id": fhir_id(f"bundle_{profile.patient_key}"),
        "type": "transaction",
        "entry": [_entry(r) for r in resources],
    }


class FhirEncoder:
    def encode(self, patients: Iterable[tuple[PatientProfile, PatientSeries]], out_dir: Path) -> Block:
        block = Block()
        directory = out_dir / DIRECTORY
        directory.mkdir(parents=True, exist_ok=True)
        for profile, series in patients:
            block.count(series)
            data = orjson.dumps(patient_bundle(profile, series))
            (directory / f"{profile.patient_id}.json").write_bytes(data)
            block.bytes_written += len(data)
        return block


class FhirSink:
    """Workers write the bundles; the parent only removes stale ones and reports the total size."""

    def __init__(self, out_dir: Path) -> None:
        (out_dir / DIRECTORY).mkdir(parents=True, exist_ok=True)
        self._bytes = 0

    def write(self, block: Block) -> None:
        self._bytes += block.bytes_written

    def close(self) -> dict[str, int]:
        return {f"{DIRECTORY}/*.json": self._bytes}


def fhir_sink(out_dir: Path, *, first_shard: bool) -> FhirSink:
    return FhirSink(out_dir)
