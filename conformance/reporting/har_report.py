"""HAR 1.2: every exchange of the run, secrets redacted, to replay a failure in any HTTP tool."""

from __future__ import annotations

import json

from conformance.har import HarRecorder
from conformance.results import RunReport


def render(report: RunReport) -> str:
    """The run's exchanges as a HAR 1.2 document (an empty log when nothing was recorded)."""
    recorder = report.exchanges if report.exchanges is not None else HarRecorder()
    return json.dumps(recorder.log(), indent=1) + "\n"
