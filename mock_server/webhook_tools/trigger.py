"""``care-sandbox webhooks trigger``: make a running sandbox emit a realistic event now.

Like ``stripe trigger``, it fakes nothing: it drives the sandbox's own public API the way an
integrator plus a patient would (ask for consent, accept, check in, push vitals, …), so the event
that arrives is produced by the same code path as in a real flow, with real ids that can be looked
up afterwards. Only ``link_request.expired`` needs the test clock, which it advances by 31 days.
"""

from __future__ import annotations

import contextlib
import http.server
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from mock_server.scopes import PATIENT_DATA_SCOPES
from mock_server.timeutil import iso, parse_iso
from synthetic_data.vocab import BODY_AREAS, PAIN_QUALITIES, VITAL_SOURCES, WHO5_DIMENSIONS, VitalSource

DISABLE_WAIT_SECONDS = 15.0
# one plausible reading per source: a metric the source reports (``vocab.SOURCE_METRICS``), in a unit and
# range ``vocab.PHYSIOLOGICAL_RANGES`` accepts (tests/mock_server/webhook_tools/test_trigger.py checks it)
VITALS_BY_SOURCE: dict[VitalSource, Callable[[random.Random], dict[str, Any]]] = {
    "polar": lambda r: {
        "metric": "heart_rate",
        "value": r.randint(58, 92),
        "unit": "bpm",
        "device": "Polar H10",
    },
    "oura": lambda r: {
        "metric": "hrv_rmssd",
        "value": r.randint(25, 70),
        "unit": "ms",
        "device": "Oura Ring Gen3",
    },
    "withings": lambda r: _blood_pressure(r),
    "health_connect": lambda r: {
        "metric": "steps",
        "value": r.randint(800, 9000),
        "unit": "count",
        "device": None,
    },
}


def _blood_pressure(r: random.Random) -> dict[str, Any]:
    systolic, diastolic = r.randint(112, 138), r.randint(70, 88)
    return {
        "metric": "blood_pressure",
        "value": systolic,
        "unit": "mmHg",
        "components": {"systolic": systolic, "diastolic": diastolic},
        "device": "Withings BPM Connect",
    }


def pain_entry_body(r: random.Random) -> dict[str, Any]:
    """A ``SandboxPainEntryCreate``: areas and qualities from the one vocabulary (the contract's enums)."""
    level = r.randint(2, 8)
    areas = r.sample(BODY_AREAS, r.randint(1, 2))
    return {
        "pain_level": level,
        "areas": [{"id": a, "max_intensity": max(0, level - i)} for i, a in enumerate(areas)],
        "qualities": r.sample(PAIN_QUALITIES, r.randint(1, 3)),
        "overall_wellbeing": round(r.uniform(1.5, 4.5), 1),
        "notes": "Logged by care-sandbox webhooks trigger",
    }


def wellbeing_body(r: random.Random) -> dict[str, Any]:
    """A ``SandboxWellbeingCreate``: one WHO-5 answer (1-5) per dimension."""
    return {"dimensions": {k: r.randint(1, 5) for k in WHO5_DIMENSIONS}}


class TriggerError(RuntimeError):
    """The sandbox refused a step; the message carries its error envelope."""


@dataclass
class Triggered:
    """What was done, for the console: one line, and the ids involved."""

    event: str
    summary: str
    ids: dict[str, str] = field(default_factory=dict)


class SandboxClient:
    """The few API calls the triggers need, failing with the sandbox's own error message."""

    def __init__(self, base_url: str, api_key: str, transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), headers={"X-API-Key": api_key}, timeout=30.0, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            resp = self.http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise TriggerError(f"cannot reach the sandbox at {self.http.base_url}: {exc}") from exc
        if resp.status_code >= 400:
            raise TriggerError(f"{method} {path} → {resp.status_code}: {_error_text(resp)}")
        return resp.json() if resp.content else None

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            body = self.call("GET", path, params={**params, "page": page, "per_page": 100})
            yield from body["data"]
            if page * 100 >= body["pagination"]["total"]:
                return
            page += 1


def _error_text(resp: httpx.Response) -> str:
    try:
        error = resp.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return resp.text[:300]


# -- building blocks ------------------------------------------------------------------------------


def open_link_request(sb: SandboxClient, patient: str | None) -> dict[str, Any]:
    """A pending link request for ``patient`` (sandbox patient id or email), or for any free one.

    Free means no active consent and no pending request for this workspace; when every sandbox patient
    is taken, a new one is created.
    """
    if patient is not None:
        return _request_for(sb, _email_of(sb, patient))
    for candidate in sb.pages("/v1/sandbox/patients"):
        try:
            return _request_for(sb, candidate["email"])
        except TriggerError as exc:
            if "409" not in str(exc):
                raise
    fresh = sb.call("POST", "/v1/sandbox/patients", json={"history_days": 14})
    return _request_for(sb, fresh["email"])


def _email_of(sb: SandboxClient, patient: str) -> str:
    if "@" in patient:
        return patient
    for candidate in sb.pages("/v1/sandbox/patients"):
        if candidate["id"] == patient:
            return str(candidate["email"])
    raise TriggerError(f"no sandbox patient {patient!r}; list them with GET /v1/sandbox/patients")


def _request_for(sb: SandboxClient, email: str) -> dict[str, Any]:
    body = {
        "patient_email": email,
        "scopes": list(PATIENT_DATA_SCOPES),
        "message": "Sent by care-sandbox webhooks trigger",
    }
    result: dict[str, Any] = sb.call("POST", "/v1/link-requests", json=body)
    return result


def consented_patient(sb: SandboxClient, patient: str | None, scope: str) -> str:
    """``patient`` (a ``p2c_anon_`` id), else a patient whose active consent has ``scope``, else a new one."""
    if patient is not None:
        return patient
    for candidate in sb.pages("/v1/patients", status="active"):
        consent = candidate.get("consent") or {}
        if consent.get("status") == "active" and scope in consent.get("scopes", []):
            return str(candidate["id"])
    return str(consent_granted(sb, None).ids["patient_id"])


def sandbox_now(sb: SandboxClient) -> str:
    return str(sb.call("GET", "/v1/sandbox/clock")["now"])


# -- one function per event type -----------------------------------------------------------------


def consent_granted(sb: SandboxClient, patient: str | None) -> Triggered:
    request = open_link_request(sb, patient)
    accepted = sb.call("POST", f"/v1/sandbox/link-requests/{request['request_id']}/accept", json={})
    patient_id = accepted["consent"]["patient_id"]
    return Triggered(
        "consent.granted",
        f"{request['patient_email']} accepted link request {request['request_id']}",
        {"request_id": request["request_id"], "patient_id": patient_id},
    )


def link_request_declined(sb: SandboxClient, patient: str | None) -> Triggered:
    request = open_link_request(sb, patient)
    sb.call("POST", f"/v1/sandbox/link-requests/{request['request_id']}/decline")
    return Triggered(
        "link_request.declined",
        f"{request['patient_email']} declined link request {request['request_id']}",
        {"request_id": request["request_id"]},
    )


def link_request_expired(sb: SandboxClient, patient: str | None) -> Triggered:
    request = open_link_request(sb, patient)
    clock = sb.call("POST", "/v1/sandbox/clock/advance", json={"days": 31})
    return Triggered(
        "link_request.expired",
        f"link request {request['request_id']} expired: the test clock moved 31 days to {clock['now']}"
        " (consented patients generated those days of data too)",
        {"request_id": request["request_id"]},
    )


def consent_revoked(sb: SandboxClient, patient: str | None) -> Triggered:
    patient_id = consented_patient(sb, patient, "pain:read")
    sb.call("POST", f"/v1/sandbox/patients/{patient_id}/revoke")
    return Triggered("consent.revoked", f"patient {patient_id} revoked consent", {"patient_id": patient_id})


def pain_entry_created(sb: SandboxClient, patient: str | None) -> Triggered:
    patient_id = consented_patient(sb, patient, "pain:read")
    body = pain_entry_body(random.Random())
    entry = sb.call("POST", f"/v1/sandbox/patients/{patient_id}/pain-entries", json=body)
    return Triggered(
        "pain_entry.created",
        f"patient {patient_id} logged pain {body['pain_level']}/10"
        f" ({', '.join(a['id'] for a in body['areas'])})",
        {"patient_id": patient_id, "entry_id": entry["id"]},
    )


def wellbeing_completed(sb: SandboxClient, patient: str | None) -> Triggered:
    patient_id = consented_patient(sb, patient, "wellbeing:read")
    body = wellbeing_body(random.Random())
    checkin = sb.call("POST", f"/v1/sandbox/patients/{patient_id}/wellbeing", json=body)
    return Triggered(
        "wellbeing.completed",
        f"patient {patient_id} completed WHO-5 (raw score {checkin['raw_score']})",
        {"patient_id": patient_id, "checkin_id": checkin["id"]},
    )


def vitals_received(sb: SandboxClient, patient: str | None) -> Triggered:
    r = random.Random()
    patient_id = consented_patient(sb, patient, "vitals:write")
    sources = sb.call("GET", f"/v1/patients/{patient_id}").get("sources") or ["polar"]
    source: VitalSource = next((known for known in VITAL_SOURCES if known == sources[0]), "polar")
    measured = iso(parse_iso(sandbox_now(sb)) - timedelta(minutes=5))
    reading = {**VITALS_BY_SOURCE[source](r), "measured_at": measured}
    pushed = sb.call(
        "POST", f"/v1/patients/{patient_id}/vitals", json={"source": source, "readings": [reading]}
    )
    return Triggered(
        "vitals.received",
        f"{source} pushed {reading['metric']} {reading['value']} {reading['unit']} for patient {patient_id}",
        {"patient_id": patient_id, "reading_id": pushed["data"][0]["id"]},
    )


REPORT_WAIT_SECONDS = 60.0


def report_completed(sb: SandboxClient, patient: str | None) -> Triggered:
    """Queue a report and wait until it is rendered: ``report.completed`` is then in the outbox.

    Waiting matters since a job re-checks consent before it completes: a revoke triggered right after
    would otherwise fail the job (correctly) and the event asked for would never come.
    """
    patient_id = consented_patient(sb, patient, "reports:read")
    job = sb.call("POST", f"/v1/patients/{patient_id}/reports", json={"lang": "en"})
    deadline = time.monotonic() + REPORT_WAIT_SECONDS
    while job["status"] not in {"completed", "failed"} and time.monotonic() < deadline:
        time.sleep(0.1)
        job = sb.call("GET", f"/v1/reports/{job['id']}")
    if job["status"] != "completed":
        raise TriggerError(f"report {job['id']} did not complete: {job['status']} ({job.get('error')})")
    return Triggered(
        "report.completed",
        f"report {job['id']} rendered for patient {patient_id}; report.completed is on its way",
        {"patient_id": patient_id, "report_id": job["id"]},
    )


def webhook_test(sb: SandboxClient, _patient: str | None) -> Triggered:
    sent = [
        sb.call("POST", f"/v1/webhooks/{endpoint['id']}/test")["event_id"]
        for endpoint in sb.pages("/v1/webhooks")
        if endpoint["enabled"]
    ]
    if not sent:
        raise TriggerError("no enabled webhook endpoint to test; create one with POST /v1/webhooks")
    return Triggered(
        "webhook.test", f"test event sent to {len(sent)} endpoint(s)", {"event_ids": ", ".join(sent)}
    )


@contextlib.contextmanager
def _gone_receiver() -> Iterator[str]:
    """A loopback receiver that answers every delivery ``410 Gone``; yields its URL."""

    class Gone(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(410)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/gone"
    finally:
        server.shutdown()
        server.server_close()


def webhook_disabled(sb: SandboxClient, _patient: str | None) -> Triggered:
    """An endpoint that answers 410 is disabled at its first delivery, which emits the event.

    The 410 receiver runs in this process on loopback, so the sandbox must be able to reach it
    (a sandbox on this machine, with private targets allowed — the default)."""
    with _gone_receiver() as url:
        endpoint = sb.call("POST", "/v1/webhooks", json={"url": url, "events": ["webhook.test"]})
        try:
            sb.call("POST", f"/v1/webhooks/{endpoint['id']}/test")
            deadline = time.monotonic() + DISABLE_WAIT_SECONDS
            while sb.call("GET", f"/v1/webhooks/{endpoint['id']}")["enabled"]:
                if time.monotonic() > deadline:
                    raise TriggerError(
                        "the 410 endpoint was not disabled in time; "
                        "can the sandbox reach this machine's loopback?"
                    )
                time.sleep(0.1)
        finally:
            sb.call("DELETE", f"/v1/webhooks/{endpoint['id']}")
    return Triggered(
        "webhook.disabled",
        f"endpoint {endpoint['id']} answered 410 and was disabled (then deleted)",
        {"webhook_id": endpoint["id"]},
    )


TRIGGERS: dict[str, Callable[[SandboxClient, str | None], Triggered]] = {
    "consent.granted": consent_granted,
    "consent.revoked": consent_revoked,
    "link_request.declined": link_request_declined,
    "link_request.expired": link_request_expired,
    "pain_entry.created": pain_entry_created,
    "wellbeing.completed": wellbeing_completed,
    "vitals.received": vitals_received,
    "report.completed": report_completed,
    "webhook.test": webhook_test,
    "webhook.disabled": webhook_disabled,
}


def trigger(
    event: str,
    *,
    base_url: str,
    api_key: str,
    patient: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Triggered:
    """Make the sandbox at ``base_url`` emit ``event``; raises ``TriggerError`` with the sandbox's reason."""
    if event not in TRIGGERS:
        raise TriggerError(f"unknown event {event!r}; choose one of {', '.join(TRIGGERS)}")
    sb = SandboxClient(base_url, api_key, transport)
    try:
        return TRIGGERS[event](sb, patient)
    finally:
        sb.close()
