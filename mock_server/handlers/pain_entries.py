"""GET pain entries of a consented patient (seed 000's core read)."""

from __future__ import annotations

from mock_server.blocking import loop_first
from mock_server.context import ApiRequest, RawJSON, Reply, ok
from mock_server.errors import not_found
from mock_server.handlers._shared import consented, records, series_page


@loop_first
def search(req: ApiRequest) -> Reply:
    return ok(series_page(req, "pain:read", "pain_entry"))


def get(req: ApiRequest) -> Reply:
    consent = consented(req, "pain:read")
    body = records(req).get(consent.patient_ref, "pain_entry", req.params["entry_id"])
    if body is None:
        raise not_found("pain entry", req.params["entry_id"])
    return ok(RawJSON(body))
