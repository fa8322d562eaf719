"""PDF and FHIR content checks on crafted bodies."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from pypdf import PdfWriter

from conformance.checks.content import fhir_resource, fhir_searchset, pdf_content
from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_exchange(body: bytes, **headers: str) -> Exchange:
    merged = {
        "content-type": "application/pdf",
        "content-disposition": 'attachment; filename="r.pdf"',
        **headers,
    }
    return Exchange(
        "GET", "http://t/v1/reports/r/download", 200, merged, body, operation="GET /v1/reports/{id}"
    )


def test_pdf_content_passes_on_a_real_pdf() -> None:
    assert pdf_content(pdf_exchange(pdf_bytes(2))) == 2


@pytest.mark.parametrize(
    ("exchange", "fragment"),
    [
        (pdf_exchange(b"%PDF-1.7 garbage"), "pypdf"),
        (pdf_exchange(pdf_bytes(), **{"content-disposition": ""}), "Content-Disposition"),
        (pdf_exchange(pdf_bytes(), **{"content-type": "application/json"}), "Content-Type"),
        (pdf_exchange(pdf_bytes(0)), "no pages"),
    ],
)
def test_pdf_content_fires(exchange: Exchange, fragment: str) -> None:
    with pytest.raises(ConformanceFailure, match=fragment) as info:
        pdf_content(exchange)
    assert info.value.check == "pdf_content"


def observation(patient: str = "p2c_anon_1", status: str = "final") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-05-04T09:00:00Z",
    }


def bundle(*resources: dict[str, Any], total: int | None = None, kind: str = "searchset") -> Exchange:
    body = {
        "resourceType": "Bundle",
        "type": kind,
        "total": len(resources) if total is None else total,
        "entry": [{"resource": r} for r in resources],
    }
    return Exchange(
        "GET",
        "http://t/fhir/r4/Observation",
        200,
        {"content-type": "application/fhir+json"},
        json.dumps(body).encode(),
        operation="GET /fhir/r4/Observation",
    )


def test_fhir_searchset_quiet() -> None:
    assert len(fhir_searchset(bundle(observation(), observation(), total=10), "p2c_anon_1")) == 2


@pytest.mark.parametrize(
    ("exchange", "fragment"),
    [
        (bundle(observation(), kind="collection"), "searchset"),
        (bundle(observation("p2c_anon_other")), "subject"),
        (bundle(observation(status="done")), "ObservationStatus"),
        (bundle(observation(), observation(), total=1), "at most total"),
        (bundle({"resourceType": "Patient"}), "Observation"),
    ],
)
def test_fhir_searchset_fires(exchange: Exchange, fragment: str) -> None:
    with pytest.raises(ConformanceFailure, match=fragment) as info:
        fhir_searchset(exchange, "p2c_anon_1")
    assert info.value.check == "fhir_content"


def test_fhir_resource() -> None:
    ok = Exchange(
        "GET",
        "http://t/fhir/r4/metadata",
        200,
        {"content-type": "application/fhir+json"},
        b'{"resourceType": "CapabilityStatement"}',
    )
    assert fhir_resource(ok, "CapabilityStatement")["resourceType"] == "CapabilityStatement"
    with pytest.raises(ConformanceFailure, match="Patient"):
        fhir_resource(ok, "Patient")
