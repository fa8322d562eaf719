"""The kit against an implementation nobody here wrote: Stoplight Prism 5.16 mocking openapi.yaml.

A mock cannot conform (it ignores credentials, pagination, idempotency; it sends no webhooks; its PDF is
an example string), so the verdict is 1 — but the run must end like any other: no traceback, every
report written, every failure one of the classes a mock explains (listed below with the reason) and
each with a curl reproduction, and no third-party warning on the output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.spec import default_spec_path
from tests.conformance.har_schema import har_errors
from tests.conformance.prism import prism_binary, running_prism

_, WHY_NOT = prism_binary()
pytestmark = [
    pytest.mark.prism,
    pytest.mark.slow,
    pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT or "Prism available"),
]

# check -> why a Prism mock fails it (static mode answers the documented examples)
STATIC = {
    "ignored_auth": "a mock accepts any credentials, or none",
    "pagination_invariants": "examples ignore page and per_page",
    "negative_data_rejection": "Prism's request validation lets some schema-violating input through",
    "request_completed": "Prism stalls on some generated requests: reported as timeouts, with curl",
    "consent_lifecycle": "the example patient has every scope and never loses its consent",
    "idempotent_replay": "a mock has no Idempotency-Key semantics",
    "pdf_content": "the PDF 'example' is not a parseable PDF",
    "webhook_delivery": "a mock sends no webhooks",
    "report_job": "a mock report never completes",
    "date_filter_respected": "examples ignore from/to",
    "fhir_search": "example Bundles ignore the search parameters",
    "fhir_content": "example Bundles ignore the search parameters",
    "use_after_free": "a mock forgets nothing it never stored",
    "ensure_resource_availability": "a mock stores nothing it was sent",
    "tenant_isolation": "a mock has no workspaces",
}
# --dynamic generates bodies from the schemas (json-schema-faker): formats, patterns and states go wrong
DYNAMIC = {
    **STATIC,
    "response_schema_conformance": "generated bodies break formats and patterns the schemas set",
    "independent_response_validation": "the same generated bodies, judged by openapi-core",
    "status_code_conformance": "generated answers for undocumented combinations",
    "error_envelope": "generated error bodies with arbitrary codes",
    "content_type_conformance": "Prism's own problem+json errors",
    "not_a_server_error": "a generated 5xx example",
    "positive_data_acceptance": "Prism rejects some valid requests its validator misreads",
    "missing_required_header": "a mock does not require headers",
}
# what every mock run must show, whatever Prism generates
ALWAYS = {"ignored_auth", "webhook_delivery"}
FORMATS = ("junit", "json", "html", "markdown", "har")


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_kit_judges_prism_without_a_traceback(dynamic: bool, tmp_path: Path) -> None:
    reports = {name: tmp_path / f"report.{name}" for name in FORMATS}
    with running_prism(default_spec_path(), dynamic=dynamic) as url:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance",
                "run",
                "--base-url",
                url,
                "--api-key",
                "sk_test_prism",
                "--quiet",
                "--request-timeout",
                "5",
                "--webhook-timeout",
                "2",
                "--report",
                ",".join(f"{name}={path}" for name, path in reports.items()),
            ],
            capture_output=True,
            text=True,
            timeout=1200,  # Prism's dynamic mode under load: a CI run once needed more than 400 s
        )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "Traceback" not in output
    assert "pdf header" not in output.lower() and "pypdf" not in done.stderr.lower()
    for name, path in reports.items():
        assert path.exists() and path.stat().st_size > 0, name
    report = json.loads(reports["json"].read_text())
    assert report["conforms"] is False and report["kit_errors"] == []
    expected = DYNAMIC if dynamic else STATIC
    fired = {result["check"] for result in report["results"] if result["outcome"] in ("failed", "error")}
    assert fired <= set(expected), sorted(fired - set(expected))
    assert fired >= ALWAYS
    for group in report["failure_groups"]:
        assert group["reproduce"] and group["reproduce"][0].startswith("curl"), group
    assert "explanation" in report and report["score"]["operations_deliberately_not_called"]
    assert har_errors(json.loads(reports["har"].read_text())) == []
