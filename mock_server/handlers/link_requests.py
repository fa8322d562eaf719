"""The partner side of seed 000's consent flow: ask a patient, watch the request, cancel it."""

from __future__ import annotations

from mock_server.context import ApiRequest, Reply, created, ok
from mock_server.handlers._shared import consents, list_body, now, paging


def create(req: ApiRequest) -> Reply:
    body = req.body
    view = consents(req).create_request(
        req.workspace_id, body["patient_email"], body["scopes"], body.get("message"), now(req)
    )
    return created(view)


def search(req: ApiRequest) -> Reply:
    page, per_page = paging(req)
    total, items = consents(req).list_requests(req.workspace_id, req.params.get("status"), page, per_page)
    return ok(list_body(items, total, page, per_page))


def get(req: ApiRequest) -> Reply:
    return ok(consents(req).get_request(req.workspace_id, req.params["request_id"]))


def cancel(req: ApiRequest) -> Reply:
    return ok(consents(req).cancel(req.workspace_id, req.params["request_id"], now(req)))
