"""GET gauges (seed 003's shape: gauge_type, value, scale_min/scale_max, start_date/end_date)."""

from __future__ import annotations

from mock_server.blocking import loop_first
from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._shared import series_page


@loop_first
def search(req: ApiRequest) -> Reply:
    kind = req.params.get("gauge_type") or None
    return ok(series_page(req, "gauges:read", "gauge", start="start_date", end="end_date", kind=kind))
