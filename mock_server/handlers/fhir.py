"""The FHIR R4 facade: CapabilityStatement, anonymized Patient read, Observation search.

Consent and scopes apply exactly as on ``/v1``: ``fhir:read`` on the credential and from the patient,
and each series only when the credential holds *and* the patient granted its own scope (pain entries
need ``pain:read``, vitals ``vitals:read``). Errors on these paths are OperationOutcomes (rendered
by ``errors.render``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mock_server.context import ApiRequest, Reply
from mock_server.errors import ApiError
from mock_server.fhir.bundles import observation_searchset
from mock_server.fhir.capability import capability_statement
from mock_server.fhir.outcome import http_status
from mock_server.fhir.search import FhirSearchError, parse_observation_search
from mock_server.handlers._shared import consents, held_scopes, patients, records
from mock_server.handlers.operations import VERSION
from mock_server.storage.records import RecordFilter
from synthetic_data.exporters.fhir import (
    fhir_id,
    pain_entry_to_observation,
    patient_to_fhir,
    vital_to_observation,
)

FHIR_JSON = "application/fhir+json"


def _api_id(fhir_or_api_id: str) -> str:
    return fhir_or_api_id.replace("-", "_")


def metadata(req: ApiRequest) -> Reply:
    return Reply(
        200, capability_statement(f"{req.base_url}/fhir/r4", software_version=VERSION), media_type=FHIR_JSON
    )


def read_patient(req: ApiRequest) -> Reply:
    anon_id = _api_id(req.params["patient_id"])
    consent = consents(req).require(req.workspace_id, anon_id, "fhir:read")
    with req.services.storage.read() as conn:
        row = patients(req).by_ref(conn, consent.patient_ref)
    resource = patient_to_fhir(anon_id, last_updated=consent.row.granted_at)
    if row is not None:
        resource["extension"] = [
            {
                "url": "https://care-sandbox.dev/fhir/StructureDefinition/condition",
                "valueString": row.profile["condition"],
            }
        ]
    return Reply(200, resource, media_type=FHIR_JSON)


def search_observations(req: ApiRequest) -> Reply:
    query: dict[str, list[str]] = {}
    for name in ("patient", "code", "_sort"):
        if req.params.get(name) is not None:
            query[name] = [str(req.params[name])]
    if req.params.get("date"):
        query["date"] = [str(v) for v in req.params["date"]]
    query["_count"] = [str(req.params.get("_count", 50))]
    query["_page"] = [str(req.params.get("_page", 1))]
    query.setdefault("_sort", ["-date"])
    try:
        parsed = parse_observation_search(query)
    except FhirSearchError as exc:
        raise ApiError(
            http_status(exc.code),
            "invalid_parameter",
            exc.message,
            {"parameter": exc.param, "fhir_issue": exc.code},
        ) from exc
    anon_id = _api_id(parsed.patient or "")
    # an Observation category needs its data scope as well as fhir:read, on the credential and from
    # the patient (consent.scopes is that intersection)
    consent = consents(req).require(req.workspace_id, anon_id, "fhir:read", held_scopes(req))
    repo = records(req)
    observations: list[dict[str, Any]] = []
    if "pain:read" in consent.scopes:
        observations += [
            pain_entry_to_observation(e, anon_id)
            for e in repo.all(RecordFilter(consent.patient_ref, ("pain_entry",)))
        ]
    if "vitals:read" in consent.scopes:
        observations += [
            vital_to_observation(v, anon_id) for v in repo.all(RecordFilter(consent.patient_ref, ("vital",)))
        ]
    # observations reference the FHIR form of the id; the search may have used the API form
    parsed = dataclasses.replace(parsed, patient=fhir_id(anon_id))
    bundle = observation_searchset(observations, parsed, base_url=f"{req.base_url}/fhir/r4")
    return Reply(200, bundle, media_type=FHIR_JSON)
