"""Shared helpers for end-to-end kit tests: run the kit in-process and name the checks that fired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.options import RunOptions
from conformance.results import RunReport
from conformance.runner import run

# fault -> the layers that must run for its check to fire (keeps each broken-variant run short)
FAULT_LAYERS = {
    "drop_required_field": ("schemathesis",),
    "wrong_type": ("schemathesis",),
    "undocumented_status": ("schemathesis",),
    "server_error": ("schemathesis",),
    "ignore_auth": ("schemathesis",),
    "missing_request_id": ("custom",),
    "missing_rate_limit": ("custom",),
    "bare_error": ("custom",),
    "leak_other_workspace": ("custom",),
    "ignore_date_filter": ("custom",),
    "repeat_pages": ("custom",),
    "ignore_idempotency": ("custom",),
    "rate_limited_no_retry_after": ("custom",),
    "ignore_scopes": ("custom",),
    "grant_only_reads": ("custom",),
    "serve_revoked_reports": ("scenarios",),
    "bad_webhook_secret": ("scenarios",),
    "ignore_revocation": ("scenarios",),
    "broken_pdf": ("scenarios",),
    "foreign_observations": ("scenarios",),
    "clock_stuck": ("scenarios",),
}


def run_kit(base_url: str, api_key: str, *, spec: Path | None = None, **kwargs: Any) -> RunReport:
    return run(RunOptions(base_url=base_url, api_key=api_key, spec_path=spec, **kwargs))


def fired(report: RunReport) -> set[str]:
    return {result.check for result in report.failures}


def describe(report: RunReport) -> str:
    return "\n".join(f"{r.operation} {r.check}: {r.messages[:1]}" for r in report.failures)
