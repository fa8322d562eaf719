"""Content checks for bodies no JSON schema can judge: PDF reports and FHIR R4 resources."""

from __future__ import annotations

import io
from typing import Any

from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange

PDF = "pdf_content"
FHIR = "fhir_content"


def pdf_content(exchange: Exchange) -> int:
    """The body is a PDF pypdf can parse, with at least one page, sent as a download; returns pages."""
    where = exchange.describe()
    if exchange.content_type != "application/pdf":
        raise ConformanceFailure(
            PDF,
            f"{where} Content-Type {exchange.content_type!r}",
            "application/pdf",
            operation=exchange.operation,
        )
    disposition = exchange.header("content-disposition") or ""
    if "filename" not in disposition.lower():
        raise ConformanceFailure(
            PDF,
            f"{where} Content-Disposition {disposition or None!r}",
            'Content-Disposition: attachment; filename="….pdf"',
            operation=exchange.operation,
        )
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        pages = len(PdfReader(io.BytesIO(exchange.body)).pages)
    except (PyPdfError, ValueError, OSError) as exc:
        raise ConformanceFailure(
            PDF,
            f"{where}: pypdf cannot parse the body ({exc})",
            "a well-formed PDF",
            operation=exchange.operation,
        ) from None
    if pages < 1:
        raise ConformanceFailure(
            PDF,
            f"{where}: a PDF with no pages",
            "a report of at least one page",
            operation=exchange.operation,
        )
    return pages


def fhir_id(patient_id: str) -> str:
    """FHIR ids allow only [A-Za-z0-9-.]: implementations map the API's underscores to dashes."""
    return patient_id.replace("_", "-")


def same_patient(candidate: object, patient_id: str) -> bool:
    """Whether a FHIR id names `patient_id`, verbatim or in its FHIR-safe form."""
    return candidate in (patient_id, fhir_id(patient_id))


def fhir_searchset(exchange: Exchange, patient_id: str) -> list[dict[str, Any]]:
    """A searchset Bundle with an exact total whose entries are Observations of `patient_id`."""
    where = exchange.describe()
    body = exchange.json()

    def fail(received: str, documented: str) -> ConformanceFailure:
        return ConformanceFailure(FHIR, f"{where}: {received}", documented, operation=exchange.operation)

    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise fail(f"resourceType {body.get('resourceType') if isinstance(body, dict) else body!r}", "Bundle")
    if body.get("type") != "searchset":
        raise fail(f"Bundle.type {body.get('type')!r}", "searchset")
    total = body.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise fail(f"Bundle.total {total!r}", "a non-negative integer")
    entries = body.get("entry") or []
    if not isinstance(entries, list) or len(entries) > total:
        raise fail(
            f"{len(entries) if isinstance(entries, list) else entries!r} entries with total {total}",
            "at most total entries",
        )
    resources = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
            raise fail(f"entry {str(entry)[:120]}", "entries whose resource is an Observation")
        reference = (resource.get("subject") or {}).get("reference")
        if not (
            isinstance(reference, str)
            and reference.startswith("Patient/")
            and same_patient(reference.removeprefix("Patient/"), patient_id)
        ):
            raise fail(
                f"Observation {resource.get('id')!r} with subject {reference!r}",
                f"subject.reference 'Patient/{patient_id}' (the requested patient only)",
            )
        if resource.get("status") not in {
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        }:
            raise fail(f"Observation.status {resource.get('status')!r}", "an R4 ObservationStatus code")
        if not isinstance(resource.get("code"), dict) or not resource["code"].get("coding"):
            raise fail(
                f"Observation {resource.get('id')!r} without code.coding", "a coded Observation (LOINC)"
            )
        resources.append(resource)
    return resources


def fhir_resource(exchange: Exchange, resource_type: str) -> dict[str, Any]:
    """A single FHIR resource of the expected type, served as FHIR JSON."""
    body = exchange.json()
    where = exchange.describe()
    if exchange.content_type not in ("application/fhir+json", "application/json"):
        raise ConformanceFailure(
            FHIR,
            f"{where} Content-Type {exchange.content_type!r}",
            "application/fhir+json",
            operation=exchange.operation,
        )
    if not isinstance(body, dict) or body.get("resourceType") != resource_type:
        shown = body.get("resourceType") if isinstance(body, dict) else body
        raise ConformanceFailure(
            FHIR, f"{where}: resourceType {shown!r}", resource_type, operation=exchange.operation
        )
    return body
