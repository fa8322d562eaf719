"""The CapabilityStatement served at ``GET /fhir/r4/metadata``.

It states exactly what the facade implements — Patient read, Observation search-type with ``patient``,
``code``, ``date``, ``_count`` and ``_sort`` — so generic FHIR clients (and the conformance kit) can
discover it instead of guessing. ``date`` is a fixed release date rather than "now", so the document is
stable and cacheable.
"""

from __future__ import annotations

from typing import Any

from mock_server.fhir.search import MAX_COUNT

FHIR_VERSION = "4.0.1"
RELEASE_DATE = "2026-01-01"

_SEARCH_PARAMS = (
    (
        "patient",
        "reference",
        "http://hl7.org/fhir/SearchParameter/clinical-patient",
        "Required. The patient (id or Patient/id); one patient per search.",
    ),
    (
        "code",
        "token",
        "http://hl7.org/fhir/SearchParameter/clinical-code",
        "LOINC (or local) code: code, system|code, |code or system|. Comma = OR, repeat = AND.",
    ),
    (
        "date",
        "date",
        "http://hl7.org/fhir/SearchParameter/clinical-date",
        "Effective time with prefixes eq, ne, gt, lt, ge, le; repeatable (AND).",
    ),
    ("_count", "number", None, f"Page size, 0-{MAX_COUNT} (default 50; 0 answers the total only)."),
    ("_sort", "string", None, "date or -date (default date)."),
)


def capability_statement(base_url: str, *, software_version: str = "0.1.0") -> dict[str, Any]:
    """The server's CapabilityStatement; ``base_url`` is the FHIR base, e.g. ``http://host/fhir/r4``."""
    search_params = []
    for name, kind, definition, documentation in _SEARCH_PARAMS:
        param: dict[str, Any] = {"name": name, "type": kind, "documentation": documentation}
        if definition:
            param["definition"] = definition
        search_params.append(param)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": RELEASE_DATE,
        "publisher": "care-sandbox",
        "kind": "instance",
        "software": {"name": "care-sandbox", "version": software_version},
        "implementation": {
            "description": "care-sandbox FHIR R4 facade (patient-consented pain, wellbeing and vitals data)",
            "url": base_url.rstrip("/"),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": "X-API-Key or OAuth 2.0 bearer token with the fhir:read scope.",
                },
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}],
                        "readHistory": False,
                        "updateCreate": False,
                    },
                    {
                        "type": "Observation",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": search_params,
                    },
                ],
            }
        ],
    }
