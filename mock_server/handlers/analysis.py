"""GET the report's pattern analysis as JSON: the same computation, on the same clock, the PDF prints."""

from __future__ import annotations

from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._period import period
from mock_server.handlers._shared import consented
from mock_server.reports.inputs import analyze_patient


def get(req: ApiRequest) -> Reply:
    consent = consented(req, "reports:read")
    first, last = period(req)
    return ok(analyze_patient(req.services, req.workspace_id, consent, first, last).result)
