"""Webhook subscription → event → signed delivery, judged by the kit's receiver."""

from __future__ import annotations

import time
from typing import Any

from conformance.context import Context
from conformance.errors import ConformanceFailure
from conformance.receiver import Delivery, Receiver

CHECK = "webhook_delivery"
OPERATION = "scenario: webhook delivery"
DELIVERY_CHECKS = ("webhook_signature", "webhook_timestamp_fresh", "webhook_payload_schema")
CHECK_IN = {
    "pain_level": 5,
    "areas": [{"id": "left_knee", "max_intensity": 5}],
    "qualities": ["aching"],
    "overall_wellbeing": 3.0,
    "vitals": None,
    "notes": "care-conformance check-in",
}


def record_delivery(ctx: Context, delivery: Delivery) -> None:
    """Fold a delivery's verdicts into the results under `webhook <event>`."""
    label = f"webhook {delivery.event or '?'}"
    failed = {failure.check for failure in delivery.failures}
    for failure in delivery.failures:
        ctx.fail(failure, label)
    for check in DELIVERY_CHECKS:
        if check not in failed:
            ctx.passed(label, check)


def _subscribe(ctx: Context, receiver: Receiver) -> tuple[str, str, str] | None:
    url = receiver.endpoint()
    events = [name for name in ctx.spec.webhooks if name != "webhook.test"] or ["pain_entry.created"]
    created = ctx.target.request(
        "POST", "/v1/webhooks", json_body={"url": url, "events": events, "description": "care-conformance"}
    )
    body = ctx.expect_status(created, CHECK, 201, "201 WebhookEndpoint with its secret")
    secret, webhook_id = body.get("secret"), body.get("id")
    if not isinstance(secret, str) or not isinstance(webhook_id, str):
        raise ConformanceFailure(
            CHECK,
            f"{created.describe()} id {webhook_id!r}, secret {secret!r}",
            "id and secret (whsec_…) on creation",
        )
    receiver.set_secrets(url, [secret])
    return url, webhook_id, secret


def _await(ctx: Context, receiver: Receiver, url: str, what: str, match: Any, started: float) -> Delivery:
    path = "/hooks/" + url.rsplit("/hooks/", 1)[-1]
    delivery = receiver.wait_for(
        lambda item: item.endpoint == path and match(item), ctx.options.webhook_timeout
    )
    if delivery is None:
        raise ConformanceFailure(
            CHECK,
            f"no {what} delivery within {ctx.options.webhook_timeout:.0f} s",
            f"a signed {what} delivery to the subscribed URL",
        )
    ctx.webhook_latencies_ms.append(max(0.0, (delivery.received_at - started) * 1000))
    record_delivery(ctx, delivery)
    return delivery


def webhook_delivery(ctx: Context, receiver: Receiver) -> None:
    """Subscribe, ask for a test event, trigger a sandbox check-in; every delivery must verify."""
    if not ctx.documented("POST", "/v1/webhooks"):
        return
    webhook_id = None
    try:
        subscribed = _subscribe(ctx, receiver)
        assert subscribed is not None
        url, webhook_id, _ = subscribed
        if ctx.documented("POST", "/v1/webhooks/{webhook_id}/test"):
            started = time.time()
            sent = ctx.target.request(
                "POST", "/v1/webhooks/{webhook_id}/test", path_params={"webhook_id": webhook_id}
            )
            ctx.expect_status(sent, CHECK, 202, "202 {event_id, delivery_id}")
            _await(ctx, receiver, url, "webhook.test", lambda item: item.event == "webhook.test", started)
        if not ctx.sandbox:
            ctx.skip(
                "webhook pain_entry.created", "webhook_signature", "a check-in needs the sandbox controls"
            )
        elif ctx.needs_patient("webhook pain_entry.created", "webhook_signature"):
            assert ctx.patient_id is not None
            started = time.time()
            made = ctx.target.request(
                "POST",
                "/v1/sandbox/patients/{patient_id}/pain-entries",
                path_params={"patient_id": ctx.patient_id},
                json_body=CHECK_IN,
            )
            entry = ctx.expect_status(made, CHECK, 201, "201 PainEntry")
            entry_id = entry.get("id")

            def is_entry(item: Delivery) -> bool:
                payload = item.payload
                return (
                    item.event == "pain_entry.created"
                    and isinstance(payload, dict)
                    and isinstance(payload.get("data"), dict)
                    and payload["data"].get("id") == entry_id
                )

            delivery = _await(ctx, receiver, url, "pain_entry.created", is_entry, started)
            if delivery.payload.get("patient_id") != ctx.patient_id:
                raise ConformanceFailure(
                    CHECK,
                    f"pain_entry.created for patient {delivery.payload.get('patient_id')!r}",
                    f"patient_id {ctx.patient_id!r}, the patient who checked in",
                )
        for delivery in receiver.deliveries:
            if delivery.failures:
                raise ConformanceFailure(
                    CHECK,
                    f"{len(delivery.failures)} problem(s) with a delivery: {delivery.failures[0].message}",
                    "signed, fresh, schema-valid deliveries",
                )
    except ConformanceFailure as failure:
        ctx.fail(failure, OPERATION)
    else:
        ctx.passed(OPERATION, CHECK)
    finally:
        if webhook_id and ctx.documented("DELETE", "/v1/webhooks/{webhook_id}"):
            ctx.target.request("DELETE", "/v1/webhooks/{webhook_id}", path_params={"webhook_id": webhook_id})
