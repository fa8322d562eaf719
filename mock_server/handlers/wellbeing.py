"""GET daily WHO-5 wellbeing check-ins (composite and dimension scores)."""

from __future__ import annotations

from mock_server.blocking import loop_first
from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._shared import series_page


@loop_first
def search(req: ApiRequest) -> Reply:
    return ok(series_page(req, "wellbeing:read", "wellbeing"))
