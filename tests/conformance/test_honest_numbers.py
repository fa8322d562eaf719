"""Honest numbers: not run is not a score, coverage leaves out deliberate skips, failures group by cause,
secrets never reach a reproduction or a HAR log."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from conformance import redact
from conformance.har import HarRecorder
from conformance.ledger import PROTECTED_PLACEHOLDER, Ledger
from conformance.reporting.markdown import render as markdown
from conformance.results import Collector, RunReport
from conformance.score import EXPLANATION, compute, group_failures, score_report
from tests.conformance.har_schema import har_errors

AUTH = "[ignored_auth] Received: ST401 API accepts invalid authentication: Expected 401 or 403, got `{status}` for `{op}`\nDocumented: Secured operations reject missing or bad credentials."


def report(collector: Collector, operations: list[str], skipped: dict[str, str] | None = None) -> RunReport:
    return RunReport(
        target="http://t",
        spec="openapi.yaml",
        profile="quick",
        seed=1,
        started_at="2026-01-01T00:00:00Z",
        duration=1.0,
        operations=operations,
        results=collector.results(),
        deliberately_skipped=skipped or {},
    )


def test_a_check_that_did_not_run_has_no_score() -> None:
    collector = Collector()
    collector.skipped("GET /v1/patients/{patient_id}", "tenant_isolation", "needs --second-api-key")
    collector.passed("GET /v1/patients", "request_id_header")
    scores = score_report(report(collector, ["GET /v1/patients", "GET /v1/patients/{patient_id}"]))
    assert scores.per_check["tenant_isolation"].value is None
    assert scores.per_check["tenant_isolation"].shown == "not run"
    assert scores.per_check["tenant_isolation"].to_dict()["score"] is None
    assert scores.per_check["request_id_header"].shown == "100.0"
    empty = compute([], ["GET /v1/patients"])
    assert empty.overall.shown == "not run" and empty.index_shown == "not run"


def test_coverage_leaves_out_what_the_run_never_calls_and_names_it() -> None:
    collector = Collector()
    collector.passed("GET /v1/patients", "request_id_header")
    never = {"POST /v1/sandbox/reset": "wipes the whole workspace"}
    scores = score_report(report(collector, ["GET /v1/patients", "POST /v1/sandbox/reset"], never))
    assert scores.coverage == 100.0 and scores.selected == 1
    assert scores.excluded == never
    text = markdown(report(collector, ["GET /v1/patients", "POST /v1/sandbox/reset"], never))
    assert "Deliberately not called" in text and "POST /v1/sandbox/reset" in text
    assert EXPLANATION in text


def test_failures_with_one_cause_form_one_group_with_a_count() -> None:
    collector = Collector()
    operations = [f"GET /v1/thing{i}/{{id}}" for i in range(38)]
    for op in operations:
        collector.failed(op, "ignored_auth", AUTH.format(status="200 OK", op=op), reproduce=f"curl {op}")
    collector.failed("POST /v1/x", "ignored_auth", AUTH.format(status="201 Created", op="POST /v1/x"))
    collector.failed("GET /v1/y", "error_envelope", "[error_envelope] Received: GET /v1/y -> 404 bare")
    groups = group_failures(report(collector, operations).failures)
    assert [(g.check, len(g.operations)) for g in groups] == [("ignored_auth", 39), ("error_envelope", 1)]
    assert groups[0].count == 39 and len(groups[0].reproduce) == 3


SECRET_KEY = "sk_test_" + "A1b2C3d4E5f6"


def test_curl_and_har_redact_every_secret() -> None:
    headers = {
        "X-API-Key": SECRET_KEY,
        "Authorization": "Bearer eyJsecret",
        "Content-Type": "application/json",
    }
    body = json.dumps(
        {"url": "https://p.example", "secret": "whsec_c2VjcmV0c2VjcmV0", "client_secret": "cs_1"}
    )
    line = redact.curl("POST", "http://t/v1/webhooks", headers, body.encode())
    assert (
        SECRET_KEY not in line and "eyJsecret" not in line and "whsec_c2V" not in line and "cs_1" not in line
    )
    assert '"X-API-Key: $CARE_API_KEY"' in line
    recorder = HarRecorder()
    recorder.record(
        "POST",
        "http://t/oauth/token?code=abc",
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"grant_type=client_credentials&client_id=c&client_secret=topsecret",
        200,
        {"content-type": "application/json"},
        b'{"access_token": "tok_secret", "refresh_token": "r_secret", "token_type": "Bearer"}',
    )
    recorder.record(
        "GET",
        "http://t/v1/x",
        headers,
        None,
        404,
        {"content-type": "application/json"},
        b'{"error": {"code": "not_found", "message": "m", "request_id": "r"}}',
    )
    log = recorder.log()
    text = json.dumps(log)
    for secret in ("topsecret", "tok_secret", "r_secret", SECRET_KEY, "eyJsecret", "code=abc"):
        assert secret not in text.replace("code=REDACTED", ""), secret
    assert "not_found" in text  # error codes in JSON bodies are not secrets
    assert har_errors(log) == []
    schemathesis_sample = f"curl -X GET -H 'X-API-Key: {SECRET_KEY}' http://t/v1/patients"
    assert SECRET_KEY not in redact.scrub_curl(schemathesis_sample)


@given(
    st.dictionaries(
        st.sampled_from(["patient_id", "webhook_id", "request_id"]), st.text(min_size=1, max_size=12)
    )
)
def test_state_changing_requests_never_name_a_pre_existing_id(params: dict[str, str]) -> None:
    ledger = Ledger(existing={"webhook": {"wh_partner"}, "patient": {"p2c_anon_partner"}})
    mixed = {**params, "webhook_id": "wh_partner"}
    guarded = ledger.guard_path_parameters("DELETE", mixed)
    assert guarded is not None and guarded["webhook_id"] == PROTECTED_PLACEHOLDER
    assert not set(guarded.values()) & ledger.protected
    assert ledger.guard_path_parameters("GET", mixed) is None  # reading is harmless
    untouched = {k: v for k, v in params.items() if v not in ledger.protected}
    assert ledger.guard_path_parameters("POST", untouched) is None


def test_the_ledger_removes_only_what_the_run_created() -> None:
    ledger = Ledger(existing={"webhook": {"wh_partner"}})
    ledger.note("POST", "/v1/webhooks", 201, {"id": "wh_mine"})
    ledger.note("POST", "/v1/webhooks", 201, {"id": "wh_partner"})  # an id it already had: never "mine"
    ledger.note("POST", "/v1/webhooks", 422, {"id": "wh_refused"})
    assert ledger.mine == {"webhook": ["wh_mine"]}
    ledger.note("DELETE", "/v1/webhooks/{webhook_id}", 204, None, "wh_mine")
    assert ledger.mine == {"webhook": []}
