"""GET pain entries of a consented patient (seed 000's core read)."""

from __future__ import annotations

from mock_server.context import ApiRequest, RawJSON, Reply, ok
from mock_server.errors import not_found
from mock_server.handlers._shared import consented, date_range, page_body, paging, records
from mock_server.storage.records import RecordFilter


def search(req: ApiRequest) -> Reply:
    consent = consented(req, "pain:read")
    start, end = date_range(req)
    page, per_page = paging(req)
    result = records(req).page(RecordFilter(consent.patient_ref, ("pain_entry",), start, end), page, per_page)
    return ok(page_body(result, page, per_page))


def get(req: ApiRequest) -> Reply:
    consent = consented(req, "pain:read")
    body = records(req).get(consent.patient_ref, "pain_entry", req.params["entry_id"])
    if body is None:
        raise not_found("pain entry", req.params["entry_id"])
    return ok(RawJSON(body))
