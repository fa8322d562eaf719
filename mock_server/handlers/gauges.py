"""GET gauges (seed 003's shape: gauge_type, value, scale_min/scale_max, start_date/end_date)."""

from __future__ import annotations

from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._shared import consented, date_range, page_body, paging, records
from mock_server.storage.records import RecordFilter


def search(req: ApiRequest) -> Reply:
    consent = consented(req, "gauges:read")
    start, end = date_range(req, "start_date", "end_date")
    page, per_page = paging(req)
    kinds = (req.params["gauge_type"],) if req.params.get("gauge_type") else ()
    result = records(req).page(
        RecordFilter(consent.patient_ref, ("gauge",), start, end, kinds), page, per_page
    )
    return ok(page_body(result, page, per_page))
