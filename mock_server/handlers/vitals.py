"""Device vitals: read them (source/metric filters), or push them as a device vendor (seed 004).

The contract's schema already enforces units and physiological ranges per metric; what JSON Schema
cannot say — a diastolic pressure above the systolic one, a measurement from the future, a source that
never reports that metric — is checked here and answered with 422 and seed 003's field-error map.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from mock_server.blocking import loop_first
from mock_server.context import ApiRequest, Reply, created, ok
from mock_server.errors import unprocessable
from mock_server.handlers._shared import consented, now, series_page
from mock_server.storage import records as records_mod
from mock_server.timeutil import EARLIEST_RECORDED, iso, parse_iso, shift
from mock_server.webhooks.outbox import emit_event

SOURCE_METRICS: dict[str, set[str]] = {
    "polar": {"heart_rate", "resting_heart_rate", "hrv_rmssd", "sleep_duration", "steps"},
    "oura": {"resting_heart_rate", "hrv_rmssd", "sleep_duration", "steps", "body_temperature", "spo2"},
    "withings": {"blood_pressure", "weight", "heart_rate", "sleep_duration", "steps", "spo2"},
    "health_connect": {"steps", "heart_rate", "sleep_duration", "blood_glucose", "weight", "blood_pressure"},
}
_CLOCK_SKEW = timedelta(minutes=5)


@loop_first
def search(req: ApiRequest) -> Reply:
    kind = req.params.get("metric") or None
    source = req.params.get("source") or None
    return ok(series_page(req, "vitals:read", "vital", kind=kind, source=source))


def _semantic_errors(source: str, readings: list[dict[str, Any]], moment: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    latest = shift(moment, _CLOCK_SKEW)  # not measured_at - skew: that overflows on 0001-01-01
    for index, reading in enumerate(readings):
        where = f"readings[{index}]"
        if reading["metric"] not in SOURCE_METRICS[source]:
            errors.setdefault(f"{where}.metric", []).append(f"{source} does not report {reading['metric']}")
        parts = reading.get("components")
        if reading["metric"] == "blood_pressure" and parts:
            if parts["diastolic"] >= parts["systolic"]:
                errors.setdefault(f"{where}.components", []).append("diastolic must be below systolic")
            if reading["value"] != parts["systolic"]:
                errors.setdefault(f"{where}.value", []).append("value must equal components.systolic")
        measured = parse_iso(reading["measured_at"])
        if measured > latest:
            errors.setdefault(f"{where}.measured_at", []).append("must not be in the future")
        elif measured < EARLIEST_RECORDED:
            errors.setdefault(f"{where}.measured_at", []).append(
                f"must not be before {iso(EARLIEST_RECORDED)}"
            )
    return errors


def create(req: ApiRequest) -> Reply:
    consent = consented(req, "vitals:write")
    source = req.body["source"]
    moment = now(req)
    received = iso(moment)
    errors = _semantic_errors(source, req.body["readings"], moment)
    if errors:
        raise unprocessable("some readings are not plausible", errors)
    stored = []
    for reading in req.body["readings"]:
        record: dict[str, Any] = {
            "id": f"vt_{secrets.token_hex(8)}",
            "source": source,
            "metric": reading["metric"],
            "value": reading["value"],
            "unit": reading["unit"],
            "measured_at": iso(parse_iso(reading["measured_at"])),
            "received_at": received,
            "device": reading.get("device"),
        }
        if reading.get("components"):
            record["components"] = reading["components"]
        stored.append(record)
    with req.services.storage.unit_of_work() as conn:
        records_mod.insert_many(conn, consent.patient_ref, "vital", stored)
        if "vitals:read" in consent.scopes:
            emit_event(
                conn,
                workspace_id=req.workspace_id,
                event_type="vitals.received",
                patient_id=consent.anon_id,
                data={"readings": stored, "count": len(stored)},
                timestamp=received,
            )
    req.services.wake_dispatcher()
    return created({"data": stored, "count": len(stored)})
