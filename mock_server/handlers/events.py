"""The events API (Stripe's): every event this workspace emitted, and what became of each delivery.

Partners reconcile with it after missed webhooks, so it reads the outbox itself (``storage.events``)
rather than any delivery log: an event nobody subscribed to is listed too. Events are kept 30 days on
the workspace's sandbox clock, so advancing the clock ages them exactly as it ages link requests.
"""

from __future__ import annotations

from datetime import timedelta

from mock_server.context import ApiRequest, Reply, ok
from mock_server.errors import not_found
from mock_server.handlers._shared import date_range, list_body, now, paging
from mock_server.storage.events import RETENTION_DAYS, EventFilter, EventRepo
from mock_server.timeutil import iso


def _since(req: ApiRequest) -> str:
    return iso(now(req) - timedelta(days=RETENTION_DAYS))


def search(req: ApiRequest) -> Reply:
    page, per_page = paging(req)
    start, end = date_range(req)
    where = EventFilter(
        since=_since(req),
        event_type=req.params.get("type"),
        patient_id=req.params.get("patient_id"),
        start=start,
        end=end,
    )
    items, total = EventRepo(req.services.storage).search(
        req.workspace_id, where, page=page, per_page=per_page
    )
    return ok(list_body(items, total, page, per_page))


def get(req: ApiRequest) -> Reply:
    event_id = req.params["event_id"]
    found = EventRepo(req.services.storage).get(req.workspace_id, event_id, since=_since(req))
    if found is None:
        raise not_found("event", event_id)
    return ok(found)
