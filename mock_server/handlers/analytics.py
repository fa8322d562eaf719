"""Population analytics over the workspace's consented patients, with small cohorts suppressed."""

from __future__ import annotations

from typing import Any

from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._period import period
from mock_server.handlers._shared import consents, held_scopes
from mock_server.storage.records import RecordFilter, RecordRepo
from mock_server.timeutil import day_end_iso, day_start, iso

_SERIES = {"pain_entries": ("pain_entry", "pain:read"), "wellbeing": ("wellbeing", "wellbeing:read")}


def population(req: ApiRequest) -> Reply:
    first, last = period(req)
    service = consents(req)
    _, rows = service.list_consented(req.workspace_id, "active", None, 1, 10_000)
    repo = RecordRepo(req.services.storage)
    start, end = iso(day_start(first)), day_end_iso(last)
    series: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        # what the patient granted and the credential holds: analytics:read alone reads no series
        granted = service.require(req.workspace_id, row.anon_id, None, held_scopes(req)).scopes
        series[row.anon_id] = {
            key: repo.all(RecordFilter(row.patient_ref, (name,), start, end)) if scope in granted else []
            for key, (name, scope) in _SERIES.items()
        }
    from mock_server.analytics import population as aggregate  # numpy: ~0.3 s of imports, on first use

    return ok(
        aggregate(
            series,
            metric=req.params.get("metric", "pain"),
            group_by=req.params.get("group_by", "week"),
            period_from=first,
            period_to=last,
        )
    )
