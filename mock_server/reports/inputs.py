"""Gather one consented patient's records for a period, and analyse them on the workspace clock.

``analyze_patient`` is the one path both the JSON analysis (``GET …/analysis``) and the PDF take, so
the two cannot disagree: same records, same function, same moment (the workspace's test clock, which
a sandbox advance moves; never the wall clock).

Only series the patient granted are read: a report for a partner without ``vitals:read`` is built
without vitals (its sleep and HRV findings then say "not enough data"), so a report never reveals
more than the partner could read directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mock_server.consent import ActiveConsent
from mock_server.context import Services
from mock_server.storage.patients import PatientRepo
from mock_server.storage.records import RecordFilter, RecordRepo
from mock_server.timeutil import day_end_iso, day_start, iso, shift_date


@dataclass(frozen=True)
class PatientInputs:
    pain_entries: list[dict[str, Any]]
    wellbeing: list[dict[str, Any]]
    vitals: list[dict[str, Any]]
    timezone: str


def patient_inputs(services: Services, consent: ActiveConsent, first: date, last: date) -> PatientInputs:
    repo = RecordRepo(services.storage)
    # one day of margin each side: the patient's local days may straddle UTC midnight
    start, end = iso(day_start(shift_date(first, -1))), day_end_iso(shift_date(last, 1))

    def read(series: str, scope: str) -> list[dict[str, Any]]:
        if scope not in consent.scopes:
            return []
        return repo.all(RecordFilter(consent.patient_ref, (series,), start, end))

    with services.storage.read() as conn:
        patient = PatientRepo(services.storage).by_ref(conn, consent.patient_ref)
    timezone = patient.profile.get("timezone", "UTC") if patient else "UTC"
    return PatientInputs(
        read("pain_entry", "pain:read"),
        read("wellbeing", "wellbeing:read"),
        read("vital", "vitals:read"),
        timezone,
    )


@dataclass(frozen=True)
class PatientAnalysis:
    """The analysis of one patient's period, the records it was computed from, and when (workspace clock)."""

    inputs: PatientInputs
    result: dict[str, Any]
    generated_at: datetime


def analyze_patient(
    services: Services, workspace_id: str, consent: ActiveConsent, first: date, last: date
) -> PatientAnalysis:
    from mock_server.reports.analysis import analyze  # numpy: imported on first use, not at start-up

    inputs = patient_inputs(services, consent, first, last)
    moment = services.clock.now(workspace_id)
    result = analyze(
        inputs.pain_entries,
        inputs.wellbeing,
        inputs.vitals,
        period_from=first,
        period_to=last,
        patient_id=consent.anon_id,
        now=moment,
        tz=inputs.timezone,
    )
    return PatientAnalysis(inputs, result, moment)
