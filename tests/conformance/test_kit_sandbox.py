"""End to end against the real sandbox: it conforms, and each broken variant fails by name.

The kit gets its own sandbox (module scope): it creates patients, webhooks and link requests, and its
Schemathesis phase may revoke consents, which must not leak into other tests' session sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.results import CheckResult, RunReport
from tests.conformance.faults import FAULTS, FaultProxy
from tests.conformance.kit_helpers import FAULT_LAYERS, describe, fired, run_kit
from tests.conformance.servers import serve
from tests.fixtures.sandbox import RunningSandbox, running_sandbox

# Findings the kit makes on the sandbox today, reported to its owners; each entry is (check, operation or
# "", a fragment of the message). The conformance test tolerates exactly these and nothing else.
KNOWN_SANDBOX_FINDINGS: list[tuple[str, str, str]] = []  # every finding so far has been fixed in the sandbox
# Broken variants that need only some operations under Schemathesis (keeps each run to seconds).
ST_SCOPE = ("GET /healthz", "GET /v1/patients", "GET /v1/patients/{patient_id}")


def known(result: CheckResult) -> bool:
    return any(
        result.check == check
        and (not operation or result.operation == operation)
        and any(fragment in message for message in result.messages)
        for check, operation, fragment in KNOWN_SANDBOX_FINDINGS
    )


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(tmp_path_factory.mktemp("conformance-sandbox")) as running:
        yield running


def full_run(sandbox: RunningSandbox, base_url: str | None = None, **kwargs: object) -> RunReport:
    return run_kit(
        base_url or sandbox.base_url,
        sandbox.api_key,
        second_api_key=sandbox.second_api_key,
        client_id=sandbox.alpha.client_id,
        client_secret=sandbox.alpha.client_secret,
        allow_clock=True,  # a throwaway sandbox: the clock scenario may move its clock
        **kwargs,
    )


def test_sandbox_conforms(own_sandbox: RunningSandbox) -> None:
    report = full_run(own_sandbox)
    unexpected = [result for result in report.failures if not known(result)]
    assert not unexpected, describe(report)
    executed = {r.check for r in report.results if r.passed}
    assert {
        "openapi_31_valid",
        "response_schema_conformance",
        "error_envelope",
        "pagination_invariants",
        "date_filter_respected",
        "scope_enforcement",
        "narrow_token_reads",
        "tenant_isolation",
        "idempotent_replay",
        "consent_lifecycle",
        "webhook_delivery",
        "webhook_signature",
        "webhook_payload_schema",
        "report_job",
        "report_access_after_revocation",
        "pdf_content",
        "fhir_search",
        "fhir_content",
        "independent_response_validation",
    } <= executed
    assert report.stats["webhook_latency_ms"]["count"] >= 2
    assert report.duration < 60


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_broken_sandbox_fails_with_the_right_check(own_sandbox: RunningSandbox, fault: str) -> None:
    layers = FAULT_LAYERS[fault]
    include = ST_SCOPE if layers == ("schemathesis",) else ()
    with serve(FaultProxy(own_sandbox.base_url, {fault}, primary_key=own_sandbox.api_key)) as url:
        report = full_run(own_sandbox, url, layers=layers, include=include)
    assert FAULTS[fault] in fired(report), describe(report)


def test_spec_layer_fails_on_an_invalid_document(own_sandbox: RunningSandbox, tmp_path: Path) -> None:
    from conformance.spec import default_spec_path

    broken = tmp_path / "openapi.yaml"
    broken.write_text(
        default_spec_path().read_text().replace("openapi: 3.1.0", "openapi: 3.1.0\nbogus: 1", 1)
    )
    report = run_kit(own_sandbox.base_url, own_sandbox.api_key, spec=broken, layers=("spec",))
    assert fired(report) == {"openapi_31_valid"}
