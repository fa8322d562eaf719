"""Real state changes in a running sandbox produce signed, schema-valid webhooks at a real receiver.

The check-in path is the one seed 000 promises ("within seconds of a patient logging a check-in");
the trigger test drives every event type through the sandbox's own API (as ``care-sandbox webhooks
trigger`` does) and validates each payload and its headers against the ``webhooks:`` section.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

import orjson
from standardwebhooks import Webhook

from mock_server.webhook_tools.trigger import TRIGGERS, trigger
from mock_server.webhooks.event_types import EVENT_TYPES
from tests.fixtures.sandbox import RunningSandbox

from .helpers import wait_until
from .receiver import running_receiver
from .sandbox_helpers import check_in, consented_patient, subscribed
from .schemas import assert_valid_event, webhook_header_schemas


def test_check_in_produces_a_verified_schema_valid_pain_entry_created(sandbox: RunningSandbox) -> None:
    with running_receiver() as rx, subscribed(sandbox, rx.url) as endpoint, sandbox.client() as client:
        patient_id = consented_patient(client)
        started = time.monotonic()
        entry = check_in(client, patient_id, pain_level=7)
        (got,) = rx.wait_for(1)
    assert got.at - started < 2.0  # "within seconds"; the bench measures it properly
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    digest = hmac.new(endpoint["secret"].encode("utf-8"), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-p2c-signature"], f"sha256={digest}")
    assert_valid_event(payload)
    assert payload["event"] == "pain_entry.created" and payload["patient_id"] == patient_id
    assert payload["data"] == entry
    assert got.headers["webhook-id"] == payload["id"]


def test_every_event_type_validates_against_its_schema(sandbox_factory) -> None:  # type: ignore[no-untyped-def]
    box = sandbox_factory()
    order = [
        "consent.granted",
        "link_request.declined",
        "pain_entry.created",
        "wellbeing.completed",
        "vitals.received",
        "report.completed",
        "consent.revoked",
        "webhook.test",
        "webhook.disabled",
        "link_request.expired",
    ]
    assert set(order) == set(TRIGGERS) == set(EVENT_TYPES)
    with (
        running_receiver() as rx,
        subscribed(box, rx.url, [e for e in EVENT_TYPES if e != "webhook.test"]) as endpoint,
    ):
        for event in order:
            done = trigger(event, base_url=box.base_url, api_key=box.api_key)
            assert done.event == event
        wait_until(
            lambda: {orjson.loads(r.body)["event"] for r in rx.requests} >= set(order),
            timeout=60,
            what=f"every event type (got {sorted({orjson.loads(r.body)['event'] for r in rx.requests})})",
        )
    seen: set[str] = set()
    for got in rx.requests:
        payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
        assert_valid_event(payload)
        for name, schema in webhook_header_schemas(payload["event"]).items():
            assert name in got.headers, name
            if "pattern" in schema:
                assert re.search(schema["pattern"], got.headers[name]), (name, got.headers[name])
        seen.add(payload["event"])
    assert seen >= set(order)
