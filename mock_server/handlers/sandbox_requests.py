"""The sandbox request log: what this workspace's clients sent and what the sandbox answered.

Entries are written by ``requestlog.writer`` off the request path, already redacted; this module only
reads them, after the writer has caught up (a read shows every request answered before it). Filters
map onto ``storage.request_log.RequestFilter``.
"""

from __future__ import annotations

from mock_server.context import ApiRequest, Reply, ok
from mock_server.errors import not_found
from mock_server.handlers._shared import date_range, list_body, paging
from mock_server.storage.request_log import RequestFilter, RequestLogRepo


def search(req: ApiRequest) -> Reply:
    page, per_page = paging(req)
    start, end = date_range(req)
    where = RequestFilter(
        status=req.params.get("status"),
        operation=req.params.get("operation"),
        error_code=req.params.get("error_code"),
        start=start,
        end=end,
    )
    items, total = _repo(req).search(req.workspace_id, where, page=page, per_page=per_page)
    return ok(list_body(items, total, page, per_page))


def get(req: ApiRequest) -> Reply:
    request_id = req.params["request_id"]
    found = _repo(req).get(req.workspace_id, request_id)
    if found is None:
        raise not_found("logged request", request_id)
    return ok(found)


def _repo(req: ApiRequest) -> RequestLogRepo:
    """The log's own storage (a side file on SQLite; see ``storage.request_log``), once every request
    answered before this one is in it."""
    writer = req.services.request_log
    if writer is not None:
        writer.flush()
    return RequestLogRepo(req.services.request_log_storage)
