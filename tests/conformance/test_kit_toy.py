"""End to end against the toy implementation: it conforms, and each broken variant fails by name."""

from __future__ import annotations

import pytest

from tests.conformance.conftest import TOY_SPEC
from tests.conformance.faults import FAULTS, FaultProxy
from tests.conformance.kit_helpers import FAULT_LAYERS, describe, fired, run_kit
from tests.conformance.servers import serve

# the toy has no OAuth, webhooks, consent controls, reports, FHIR or clock
SANDBOX_ONLY = {
    "ignore_scopes",
    "grant_only_reads",
    "serve_revoked_reports",
    "bad_webhook_secret",
    "ignore_revocation",
    "broken_pdf",
    "foreign_observations",
    "clock_stuck",
}


def test_toy_conforms(toy_url: str) -> None:
    report = run_kit(toy_url, "key-a", spec=TOY_SPEC, second_api_key="key-b")
    assert report.conforms, describe(report)
    checks = {r.check for r in report.results}
    assert {
        "openapi_31_valid",
        "response_schema_conformance",
        "error_envelope",
        "pagination_invariants",
        "date_filter_respected",
        "idempotent_replay",
        "tenant_isolation",
    } <= checks
    assert report.stats["schemathesis_cases"] > 0


@pytest.mark.parametrize("fault", sorted(set(FAULTS) - SANDBOX_ONLY))
def test_broken_toy_fails_with_the_right_check(toy_url: str, fault: str) -> None:
    with serve(FaultProxy(toy_url, {fault}, primary_key="key-a")) as url:
        report = run_kit(url, "key-a", spec=TOY_SPEC, second_api_key="key-b", layers=FAULT_LAYERS[fault])
    assert FAULTS[fault] in fired(report), describe(report)


def test_same_seed_same_cases(toy_url: str) -> None:
    def counts(seed: int) -> dict[tuple[str, str], int]:
        report = run_kit(toy_url, "key-a", spec=TOY_SPEC, seed=seed, layers=("schemathesis",))
        return {(r.operation, r.check): r.passed + r.failed for r in report.results}

    assert counts(5) == counts(5)


def test_without_second_key_isolation_is_skipped_with_reason(toy_url: str) -> None:
    report = run_kit(toy_url, "key-a", spec=TOY_SPEC, layers=("custom",))
    skipped = [r for r in report.results if r.check == "tenant_isolation"]
    assert skipped and all("--second-api-key" in (r.skip_reason or "") for r in skipped)
    scope = [r for r in report.results if r.check == "scope_enforcement"]
    assert scope and "--client-id" in (scope[0].skip_reason or "")
