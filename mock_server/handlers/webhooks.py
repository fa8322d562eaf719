"""Webhook subscriptions: endpoints, their secrets, test events, the delivery log and redelivery.

Thin on purpose: validation of meaning (event names, URL safety) and the subscriptions service live in
``mock_server.webhooks``; this module maps them onto operations. Everything is scoped to the caller's
workspace. Whatever queues a delivery wakes the dispatcher after the commit, so it is sent at once.
"""

from __future__ import annotations

from typing import Any

from mock_server import quotas
from mock_server.context import ApiRequest, Reply, accepted, no_content, ok
from mock_server.errors import ApiError, unprocessable
from mock_server.timeutil import iso, utcnow
from mock_server.webhooks import subscriptions
from mock_server.webhooks.event_types import EVENT_TYPES, WILDCARD
from mock_server.webhooks.outbox import emit_event
from mock_server.webhooks.targets import TargetError, check_url

TEST_MESSAGE = "This is a test event from the Pain2Care sandbox. If you can read it, your endpoint works."
_FORM_REASONS = {"invalid_url", "invalid_scheme", "missing_host", "credentials_in_url", "invalid_port"}


def create(req: ApiRequest) -> Reply:
    body = req.body or {}
    url = _safe_url(req, body.get("url"))
    events = _events(body.get("events"))
    with req.services.storage.unit_of_work() as conn:
        quotas.check_webhook_endpoints(req.services.settings, conn, req.workspace_id)
        view = subscriptions.create_endpoint(
            conn,
            workspace_id=req.workspace_id,
            url=url,
            events=events,
            description=body.get("description"),
            box=req.services.secretbox,
        )
    # the secret is shown once: an idempotent replay of this response omits it (never stored)
    return Reply(201, view, secret_fields=("secret",))


def search(req: ApiRequest) -> Reply:
    page, per_page = _paging(req)
    with req.services.storage.read() as conn:
        items, total = subscriptions.list_endpoints(conn, req.workspace_id, page=page, per_page=per_page)
    return ok(_list(items, total, page, per_page))


def get(req: ApiRequest) -> Reply:
    with req.services.storage.read() as conn:
        return ok(subscriptions.get_endpoint(conn, req.workspace_id, req.params["webhook_id"]))


def update(req: ApiRequest) -> Reply:
    body: dict[str, Any] = dict(req.body or {})
    if not body:
        raise unprocessable(
            "nothing to update", {"body": ["give at least one of url, events, description, enabled"]}
        )
    if "url" in body:
        body["url"] = _safe_url(req, body["url"])
    if "events" in body:
        body["events"] = _events(body["events"])
    with req.services.storage.unit_of_work() as conn:
        view, resumed = subscriptions.update_endpoint(conn, req.workspace_id, req.params["webhook_id"], body)
    if resumed:
        req.services.wake_dispatcher()  # deliveries paused while disabled resume now
    return ok(view)


def delete(req: ApiRequest) -> Reply:
    with req.services.storage.unit_of_work() as conn:
        subscriptions.delete_endpoint(conn, req.workspace_id, req.params["webhook_id"])
    return no_content()


def send_test(req: ApiRequest) -> Reply:
    endpoint_id = req.params["webhook_id"]
    with req.services.storage.unit_of_work() as conn:
        if not subscriptions.is_enabled(conn, req.workspace_id, endpoint_id):
            raise ApiError(409, "invalid_state_transition", "the endpoint is disabled; enable it first")
        event_id = emit_event(
            conn,
            workspace_id=req.workspace_id,
            event_type="webhook.test",
            patient_id=None,
            data={"message": TEST_MESSAGE},
            timestamp=iso(utcnow()),
            only_endpoint_id=endpoint_id,
        )
        delivery_id = subscriptions.delivery_id_for(conn, event_id, endpoint_id)
    req.services.wake_dispatcher()
    return accepted({"event_id": event_id, "delivery_id": delivery_id})


def rotate_secret(req: ApiRequest) -> Reply:
    body = req.body or {}
    grace = body.get("grace_period_seconds")
    if grace is None:
        grace = req.services.settings.webhook_secret_grace_seconds
    with req.services.storage.unit_of_work() as conn:
        rotated = subscriptions.rotate_secret(
            conn,
            req.workspace_id,
            req.params["webhook_id"],
            grace_seconds=int(grace),
            box=req.services.secretbox,
        )
    return Reply(200, rotated, secret_fields=("secret",))


def list_deliveries(req: ApiRequest) -> Reply:
    """The delivery log. Response snippets are shown only while the endpoint's URL passes today's
    target rule: the log must not become a way to read internal services' answers (an attempt made
    under a laxer rule, before a restart on a public bind, keeps its status but not its snippet)."""
    page, per_page = _paging(req)
    with req.services.storage.read() as conn:
        url = subscriptions.get_endpoint(conn, req.workspace_id, req.params["webhook_id"])["url"]
        items, total = subscriptions.delivery_log(
            conn,
            req.workspace_id,
            req.params["webhook_id"],
            status=req.params.get("status"),
            page=page,
            per_page=per_page,
        )
    try:
        check_url(url, allow_private=req.services.settings.private_webhook_targets_allowed)
    except TargetError:
        for item in items:
            item["response_snippet"] = None
    return ok(_list(items, total, page, per_page))


def redeliver(req: ApiRequest) -> Reply:
    with req.services.storage.unit_of_work() as conn:
        scheduled = subscriptions.redeliver(
            conn, req.workspace_id, req.params["webhook_id"], req.params["delivery_id"]
        )
    req.services.wake_dispatcher()
    return accepted(scheduled)


def _safe_url(req: ApiRequest, url: Any) -> str:
    """A deliverable URL, or 422 for its form / 400 ``validation_error`` for an address we refuse."""
    try:
        check_url(url, allow_private=req.services.settings.private_webhook_targets_allowed)
    except TargetError as exc:
        if exc.reason in _FORM_REASONS:
            raise unprocessable("the webhook URL is not usable", {"url": [exc.message]}) from exc
        details: dict[str, Any] = {"field": "url", "reason": exc.reason, "rule": _rule(req)}
        if exc.address:
            details["address"] = exc.address
        raise ApiError(400, "validation_error", exc.message, details) from exc
    return str(url)


def _rule(req: ApiRequest) -> str:
    """The target rule in force, in words (short: details strings are capped), so a refusal says
    what to change."""
    always = "always refused: link-local, metadata, unspecified, multicast"
    if req.services.settings.private_webhook_targets_allowed:
        return f"{always}; private/loopback: allowed (loopback bind)"
    return f"{always}; private/loopback, also IPv6-embedded: refused (--allow-private-webhook-targets)"


def _events(events: Any) -> list[str]:
    """Known event types, de-duplicated in order; ``*`` alone stands for all of them."""
    if not isinstance(events, list) or not events:
        raise unprocessable("events must be a non-empty list", {"events": ["list at least one event type"]})
    unknown = [e for e in events if e != WILDCARD and e not in EVENT_TYPES]
    if unknown:
        raise unprocessable(
            "unknown event type",
            {"events": [f"unknown event type {e!r}; known: {', '.join(EVENT_TYPES)}" for e in unknown]},
        )
    if WILDCARD in events:
        return [WILDCARD]
    return list(dict.fromkeys(events))


def _paging(req: ApiRequest) -> tuple[int, int]:
    return int(req.params.get("page", 1)), int(req.params.get("per_page", 50))


def _list(items: list[dict[str, Any]], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"data": items, "pagination": {"total": total, "page": page, "per_page": per_page}}
