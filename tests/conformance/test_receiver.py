"""The kit's webhook receiver: answers like a careful partner and keeps every verdict."""

from __future__ import annotations

import json
import time

import httpx

from conformance.checks.webhooks import new_secret, signed_headers
from conformance.receiver import Receiver
from conformance.spec import Spec
from conformance.validation import IndependentValidator

EVENT = {
    "id": "evt_9",
    "event": "pain_entry.created",
    "patient_id": "p2c_anon_a1",
    "timestamp": "2026-05-04T09:00:00Z",
    "data": {"id": "pe_1", "pain_level": 6, "logged_at": "2026-05-04T09:00:00Z"},
}


def post(url: str, payload: object, secret: str, stamp: int | None = None) -> int:
    body = json.dumps(payload).encode()
    headers = signed_headers(body, secret, "msg_1", stamp or int(time.time()))
    return httpx.post(url, content=body, headers=headers).status_code


def test_receiver_verifies_and_validates(toy_spec: Spec) -> None:
    secret = new_secret()
    with Receiver(IndependentValidator(toy_spec, "http://localhost")) as receiver:
        url = receiver.endpoint([secret])
        assert post(url, EVENT, secret) == 204
        assert post(url, EVENT, new_secret()) == 401
        assert post(url, EVENT, secret, stamp=int(time.time()) - 600) == 400
        assert post(url, {**EVENT, "data": {"id": "pe_1", "pain_level": "high"}}, secret) == 204
        delivery = receiver.wait_for(lambda item: True, timeout=1)
        assert delivery is not None and delivery.failures == [] and delivery.event == "pain_entry.created"
        verdicts = [{failure.check for failure in item.failures} for item in receiver.deliveries]
        assert verdicts == [
            set(),
            {"webhook_signature"},
            {"webhook_timestamp_fresh"},
            {"webhook_payload_schema"},
        ]


def test_wait_for_times_out() -> None:
    with Receiver() as receiver:
        started = time.monotonic()
        assert receiver.wait_for(lambda item: True, timeout=0.2) is None
        assert time.monotonic() - started >= 0.2
