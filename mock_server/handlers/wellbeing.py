"""GET daily WHO-5 wellbeing check-ins (composite and dimension scores)."""

from __future__ import annotations

from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._shared import consented, date_range, page_body, paging, records
from mock_server.storage.records import RecordFilter


def search(req: ApiRequest) -> Reply:
    consent = consented(req, "wellbeing:read")
    start, end = date_range(req)
    page, per_page = paging(req)
    result = records(req).page(RecordFilter(consent.patient_ref, ("wellbeing",), start, end), page, per_page)
    return ok(page_body(result, page, per_page))
