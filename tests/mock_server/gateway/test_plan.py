"""``gateway.plan`` on its own: what one operation compiles into (security, params, body, responses)."""

from __future__ import annotations

from typing import Any

from mock_server.gateway.plan import build_plan

JSON_OBJECT = {"application/json": {"schema": {"type": "object", "required": ["days"]}}}


def plan_of(operation: dict[str, Any], document: dict[str, Any] | None = None, method: str = "post") -> Any:
    full = {"operationId": "toy.op", "responses": {"200": {}}, **operation}
    return build_plan(method, "/toy", full, document if document is not None else {"security": []}, {})


def test_security_alternatives_and_public_operations() -> None:
    document = {"security": [{"ApiKey": []}]}
    assert plan_of({}, document).public is False and plan_of({}, document).scope_alternatives == [frozenset()]
    either = plan_of(
        {"security": [{"ApiKey": ["pain:read"]}, {"OAuth2": ["pain:read", "fhir:read"]}]}, document
    )
    assert either.scope_alternatives == [frozenset({"pain:read"}), frozenset({"pain:read", "fhir:read"})]
    assert plan_of({"security": [{}, {"ApiKey": []}]}, document).public  # {} allows anonymous access
    assert plan_of({"security": []}, document).public


def test_parameters_by_location_with_headers_lowercased_and_path_item_ones_included() -> None:
    operation = {
        "parameters": [
            {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "ignored", "in": "cookie", "schema": {"type": "string"}},
        ]
    }
    path_item = {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    }
    plan = build_plan(
        "post", "/toy/{id}", {"operationId": "toy.op", "responses": {}, **operation}, {}, path_item
    )
    assert (
        set(plan.headers) == {"idempotency-key"}
        and set(plan.query) == {"since"}
        and set(plan.path_params) == {"id"}
    )
    assert plan.path_params["id"].kind == "integer"
    assert plan.idempotent_post  # a POST that takes Idempotency-Key
    assert plan.query_date_times == ("since",)


def test_the_body_schema_compiles_and_its_media_types_are_kept() -> None:
    plan = plan_of({"requestBody": {"required": True, "content": JSON_OBJECT}})
    assert plan.body_required and plan.body_media_types == ("application/json",)
    assert plan.body_validator is not None
    assert plan.body_validator.is_valid({"days": 1}) and not plan.body_validator.is_valid({})
    assert plan_of({}).body_validator is None and plan_of({}).body_media_types == ()


def test_responses_keep_numeric_statuses_examples_and_required_headers() -> None:
    plan = plan_of(
        {
            "responses": {
                "201": {
                    "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"type": "object"}, "example": {"id": "x"}}},
                },
                "429": {"headers": {"Retry-After": {"required": True, "schema": {"type": "integer"}}}},
                "default": {},
            }
        }
    )
    assert plan.documented_statuses == [201, 429]  # "default" is not a status
    assert [h.name for h in plan.responses[201].required_headers] == ["Location"]
    assert plan.responses[201].validators["application/json"].is_valid({"id": "x"})


def test_fhir_paths_default_to_fhir_json() -> None:
    operation = {"operationId": "fhir.read", "responses": {}}
    assert build_plan("get", "/fhir/Patient", operation, {}, {}).default_media_type == "application/fhir+json"
    assert plan_of({}).default_media_type == "application/json"
