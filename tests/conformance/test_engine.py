"""An ``ignored_auth`` failure's curl line replays what the target wrongly accepted.

Why: Schemathesis attaches the original, authenticated request to the failure, and the kit turned its
key into ``$CARE_API_KEY``; against Prism the report said "API accepts invalid authentication" next to
``curl -H "X-API-Key: $CARE_API_KEY" …``, a request that is meant to succeed, so a CI user pasting it
saw a correct 200 and no bug. The line now sends no credential (the no-auth probe) or an invalid one.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import AuthScenario, IgnoredAuth

from conformance.engine import _fold
from conformance.results import Collector

LABEL = "GET /v1/patients"
SAMPLE = "curl -X GET -H 'X-API-Key: [Filtered]' -H 'Accept: application/json' 'http://t/v1/patients?page=1'"
STATUS = SimpleNamespace(SUCCESS="success", FAILURE="failure", ERROR="error")


def _reproduction(failure: Failure, sample: str = SAMPLE, check: str = "ignored_auth") -> str:
    node = SimpleNamespace(
        name=check,
        status=STATUS.FAILURE,
        failure_info=SimpleNamespace(failure=failure, code_sample=sample),
    )
    case = SimpleNamespace(value=SimpleNamespace(operation=SimpleNamespace(label=LABEL)))
    recorder: Any = SimpleNamespace(checks={"c1": [node]}, cases={"c1": case}, label=LABEL)
    collector = Collector()
    _fold(recorder, collector, STATUS)
    (result,) = collector.results()
    (line,) = result.reproduce
    return line


def _ignored(scenario: AuthScenario) -> IgnoredAuth:
    return IgnoredAuth(operation=LABEL, message="Expected 401 or 403, got `200 OK`", scenario=scenario)


@pytest.mark.parametrize("scenario", [AuthScenario.INVALID_AUTH, AuthScenario.GENERATED_AUTH])
def test_accepted_invalid_credentials_are_shown_invalid(scenario: AuthScenario) -> None:
    line = _reproduction(_ignored(scenario))
    assert "$CARE_API_KEY" not in line and "[Filtered]" not in line, line
    assert "-H 'X-API-Key: not-a-valid-key'" in line, line
    assert line.endswith("'http://t/v1/patients?page=1'") and "Accept: application/json" in line


def test_accepted_missing_credentials_send_none() -> None:
    line = _reproduction(_ignored(AuthScenario.NO_AUTH))
    assert "X-API-Key" not in line and "$CARE_API_KEY" not in line, line
    assert line.startswith("curl -X GET -H 'Accept: application/json'"), line


def test_a_bearer_probe_is_shown_with_an_invalid_token() -> None:
    sample = "curl -X GET -H 'Authorization: [Filtered]' http://t/v1/patients"
    line = _reproduction(_ignored(AuthScenario.INVALID_AUTH), sample)
    assert "-H 'Authorization: Bearer not-a-valid-token'" in line and "$CARE_TOKEN" not in line, line


def test_other_failures_keep_the_run_credentials_as_placeholders() -> None:
    line = _reproduction(Failure(operation=LABEL, message="500"), check="not_a_server_error")
    assert '-H "X-API-Key: $CARE_API_KEY"' in line, line


def test_the_idempotency_key_a_failure_was_about_is_shown() -> None:
    """A negative_data_rejection failure on ``Idempotency-Key`` (a too long or empty value) showed it as
    ``[Filtered]``: Schemathesis hides every name holding "key". Credentials stay hidden."""
    import schemathesis

    from conformance.engine import build_config
    from conformance.options import RunOptions

    spec = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/v1/things": {
                "post": {
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "schema": {"type": "string", "maxLength": 3},
                        }
                    ],
                    "responses": {"201": {"description": "created"}},
                }
            }
        },
    }
    secret = "p2c_test_not_to_be_shown"
    config = build_config(RunOptions(base_url="http://t", api_key=secret), {"X-API-Key": secret})
    operation = schemathesis.openapi.from_dict(spec, config=config)["/v1/things"]["POST"]
    case = operation.Case(headers={"Idempotency-Key": "too-long"})
    line = case.as_curl_command(headers={"X-API-Key": secret, "Authorization": "Bearer at_secret"})
    assert "-H 'Idempotency-Key: too-long'" in line, line
    assert secret not in line and "at_secret" not in line, line


def test_an_empty_path_parameter_gets_an_id_that_cannot_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stateful link that read an empty id sent `GET /v1/patients/pain-entries/…`, a path of no
    operation; the router's bare 404 was then judged as the operation's answer (missing headers)."""
    from types import SimpleNamespace

    from conformance import engine
    from conformance.ledger import PROTECTED_PLACEHOLDER

    monkeypatch.setattr(engine._STATE, "active", True)
    monkeypatch.setattr(engine._STATE, "ledger", None)
    case = SimpleNamespace(method="GET", path_parameters={"patient_id": "", "entry_id": "pe_1"})
    engine._guard_call(None, case, {})
    assert case.path_parameters == {"patient_id": PROTECTED_PLACEHOLDER, "entry_id": "pe_1"}
    whole = SimpleNamespace(method="GET", path_parameters={"patient_id": "p2c_anon_1", "entry_id": "pe_1"})
    engine._guard_call(None, whole, {})
    assert whole.path_parameters == {"patient_id": "p2c_anon_1", "entry_id": "pe_1"}
