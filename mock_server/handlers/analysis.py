"""GET the report's pattern analysis as JSON: the same computation the PDF prints."""

from __future__ import annotations

from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._period import period
from mock_server.handlers._shared import consented, now
from mock_server.reports.inputs import patient_inputs


def get(req: ApiRequest) -> Reply:
    consent = consented(req, "reports:read")
    first, last = period(req)
    inputs = patient_inputs(req.services, consent, first, last)
    from mock_server.reports.analysis import analyze  # numpy, on first use (see handlers.reports._render)

    return ok(
        analyze(
            inputs.pain_entries,
            inputs.wellbeing,
            inputs.vitals,
            period_from=first,
            period_to=last,
            patient_id=consent.anon_id,
            now=now(req),
            tz=inputs.timezone,
        )
    )
