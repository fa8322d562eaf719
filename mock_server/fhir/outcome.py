"""OperationOutcome: the error body of every FHIR path (instead of the API's ``{"error": …}`` envelope).

FHIR clients look for ``issue[].code`` (a value of the IssueType code system) and ``diagnostics``;
``expression`` names the offending search parameter. ``http_status`` maps an issue type to the status
the handler should send, so the mapping lives in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mock_server.fhir.search import FhirSearchError

SEVERITIES = ("fatal", "error", "warning", "information")

#: IssueType codes this server uses, with the HTTP status each implies.
ISSUE_STATUS: dict[str, int] = {
    "invalid": 400,
    "structure": 400,
    "required": 400,
    "value": 400,
    "not-supported": 400,
    "too-costly": 400,
    "login": 401,
    "security": 403,
    "forbidden": 403,
    "suppressed": 403,
    "not-found": 404,
    "too-long": 413,
    "deleted": 410,
    "conflict": 409,
    "throttled": 429,
    "processing": 422,
    "business-rule": 422,
    "exception": 500,
    "transient": 503,
}


def operation_outcome(
    code: str,
    diagnostics: str,
    severity: str = "error",
    *,
    expression: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One-issue OperationOutcome; ``ValueError`` for a code or severity outside the value sets."""
    if code not in ISSUE_STATUS:
        raise ValueError(f"unknown IssueType code {code!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown IssueSeverity {severity!r}")
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = list(expression)
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def http_status(code: str) -> int:
    """The HTTP status for an IssueType code (400 for codes this server does not list)."""
    return ISSUE_STATUS.get(code, 400)


def from_search_error(error: FhirSearchError) -> dict[str, Any]:
    """The OperationOutcome for a rejected search, pointing at the parameter."""
    return operation_outcome(error.code, error.message, expression=[error.param])
