"""JSON: the whole `RunReport` (results, score, stats), for machines and for diffing two runs."""

from __future__ import annotations

import json

from conformance.results import RunReport


def render(report: RunReport) -> str:
    """The report as indented JSON."""
    return json.dumps(report.to_dict(), indent=2, sort_keys=False) + "\n"
