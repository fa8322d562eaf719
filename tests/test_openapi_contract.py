"""Static checks of openapi.yaml: the contract everyone builds against must be valid and self-consistent.

These run without a server. They pin the promises the rest of the project relies on: every operation is
named, summarised and exemplified; every error is the one envelope (or a FHIR OperationOutcome); every
response documents the request-id and rate-limit headers; and every example validates against its own
schema under JSON Schema Draft 2020-12 (the dialect of OpenAPI 3.1), formats included.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
STANDARD_HEADERS = ("X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
ERROR_SCHEMAS = {
    "#/components/schemas/Error",
    "#/components/schemas/OAuthError",
    "#/components/schemas/FhirOperationOutcome",
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = yaml.safe_load(fh)
    return loaded


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (`#/...`) until a non-reference node is reached."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def inline_refs(spec: dict[str, Any], node: Any, seen: tuple[str, ...] = ()) -> Any:
    """Return `node` with every local `$ref` replaced by its target (the schemas are not recursive)."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            assert ref not in seen, f"recursive $ref {ref}"
            target = inline_refs(spec, resolve(spec, {"$ref": ref}), (*seen, ref))
            rest = {k: inline_refs(spec, v, seen) for k, v in node.items() if k != "$ref"}
            return {"allOf": [target], **rest} if rest else target
        return {k: inline_refs(spec, v, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_refs(spec, v, seen) for v in node]
    return node


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def media_examples(spec: dict[str, Any], media: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, example in media.get("examples", {}).items():
        resolved = resolve(spec, example)
        if "value" in resolved:
            yield name, resolved["value"]


def all_examples(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (where, schema, example) in request bodies, responses, parameters, headers and webhooks."""
    items = [("paths", spec["paths"]), ("webhooks", spec.get("webhooks", {}))]
    for section, entries in items:
        for key, item in entries.items():
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = item[method]
                where = f"{section} {method.upper()} {key}"
                for param in op.get("parameters", []):
                    param = resolve(spec, param)
                    if "example" in param:
                        yield f"{where} param {param['name']}", param["schema"], param["example"]
                body = resolve(spec, op.get("requestBody", {}))
                for media_type, media in body.get("content", {}).items():
                    for name, value in media_examples(spec, media):
                        yield f"{where} request {media_type} {name}", media["schema"], value
                for status, response in op["responses"].items():
                    response = resolve(spec, response)
                    for media_type, media in response.get("content", {}).items():
                        if "schema" not in media:
                            continue
                        for name, value in media_examples(spec, media):
                            yield f"{where} {status} {media_type} {name}", media["schema"], value
                    for header_name, header in response.get("headers", {}).items():
                        header = resolve(spec, header)
                        if "example" in header:
                            yield (
                                f"{where} {status} header {header_name}",
                                header["schema"],
                                header["example"],
                            )


def test_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_operations_are_named_summarised_and_tagged(spec: dict[str, Any]) -> None:
    ids = []
    for path, method, op in operations(spec):
        assert op.get("operationId"), f"{method} {path} has no operationId"
        assert op.get("summary"), f"{method} {path} has no summary"
        assert op.get("description"), f"{method} {path} has no description"
        assert op.get("tags"), f"{method} {path} has no tags"
        assert "security" in op, f"{method} {path} does not state its security"
        ids.append(op["operationId"])
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    assert len(ids) == 52  # 48 + events.search, events.get, sandbox_requests.search, sandbox_requests.get


def test_every_operation_has_an_example(spec: dict[str, Any]) -> None:
    per_operation: dict[str, int] = {}
    for where, _schema, _value in all_examples(spec):
        if where.startswith("paths"):
            key = " ".join(where.split()[1:3])
            per_operation[key] = per_operation.get(key, 0) + 1
    for path, method, _op in operations(spec):
        assert per_operation.get(f"{method.upper()} {path}"), f"{method} {path} has no example"


def test_success_responses_have_examples_when_json(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        for status, response in op["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, media in resolve(spec, response).get("content", {}).items():
                if media_type.endswith("json"):
                    assert media.get("examples"), f"{method} {path} {status} {media_type} has no examples"


def test_errors_use_the_error_envelope(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        statuses = [s for s in op["responses"] if s[0] in "45"]
        assert "429" in statuses and "500" in statuses, f"{method} {path} lacks 429/500"
        assert any(s.startswith("4") for s in statuses)
        for status in statuses:
            response = resolve(spec, op["responses"][status])
            content = response.get("content", {})
            if status == "503" and path == "/readyz":
                continue
            assert content, f"{method} {path} {status} has no body"
            for media_type, media in content.items():
                assert media["schema"].get("$ref") in ERROR_SCHEMAS, f"{method} {path} {status} {media_type}"
                if path.startswith("/fhir/"):
                    assert media_type == "application/fhir+json"
                    assert media["schema"]["$ref"].endswith("FhirOperationOutcome")
                else:
                    assert media_type == "application/json"


def test_protected_operations_document_401_and_403(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        if op["security"] == []:
            continue
        assert "401" in op["responses"], f"{method} {path}"
        scoped = [req for req in op["security"] if req.get("OAuth2")]
        if scoped:
            assert "403" in op["responses"], f"{method} {path}"
        if "{" in path:
            assert "404" in op["responses"], f"{method} {path}"


def test_bodies_document_413_and_415_and_posts_take_idempotency_keys(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        if "requestBody" in op:
            assert {"413", "415"} <= set(op["responses"]), f"{method} {path}"
        if method == "post":
            names = [resolve(spec, p)["name"] for p in op.get("parameters", [])]
            assert "Idempotency-Key" in names, f"{method} {path}"
        names = [resolve(spec, p)["name"].lower() for p in op.get("parameters", [])]
        assert "prefer" not in names, "Prefer must not be a declared parameter (fuzzers would force 5xx)"


def test_every_response_documents_request_id_and_rate_limit_headers(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        for status, response in op["responses"].items():
            headers = resolve(spec, response).get("headers", {})
            for name in STANDARD_HEADERS:
                assert name in headers, f"{method} {path} {status} lacks {name}"
                assert resolve(spec, headers[name]).get("required") is True
            if status == "429":
                assert resolve(spec, headers["Retry-After"]).get("required") is True


def test_request_bodies_reject_unknown_fields(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        body = op.get("requestBody")
        if not body:
            continue
        for media_type, media in body["content"].items():
            if media_type != "application/json":
                continue
            schema = resolve(spec, media["schema"])
            assert schema.get("additionalProperties") is False, f"{method} {path}"


@pytest.fixture(scope="module")
def examples(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    found = list(all_examples(spec))
    assert len(found) > 100
    return found


def test_every_example_validates_against_its_schema(
    spec: dict[str, Any], examples: list[tuple[str, dict[str, Any], Any]]
) -> None:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    failures = []
    for where, schema, value in examples:
        full = inline_refs(spec, copy.deepcopy(schema))
        errors = list(jsonschema.Draft202012Validator(full, format_checker=checker).iter_errors(value))
        if errors:
            failures.append(f"{where}: {errors[0].message}")
            continue
        if not jsonschema_rs.validator_for(full, validate_formats=True).is_valid(value):
            failures.append(f"{where}: rejected by jsonschema_rs")
    assert not failures, "\n".join(failures)


def test_component_examples_and_schema_examples_validate(spec: dict[str, Any]) -> None:
    failures = []
    for name, schema in spec["components"]["schemas"].items():
        for i, value in enumerate(schema.get("examples", [])):
            full = inline_refs(spec, copy.deepcopy(schema))
            full.pop("examples", None)
            if not jsonschema_rs.validator_for(full, validate_formats=True).is_valid(value):
                failures.append(f"schema {name} example {i}")
    assert not failures, failures


def test_webhooks_document_every_event_with_signature_headers(spec: dict[str, Any]) -> None:
    events = spec["components"]["schemas"]["EventType"]["enum"]
    assert sorted(spec["webhooks"]) == sorted(events)
    for event, item in spec["webhooks"].items():
        op = item["post"]
        names = {p["name"] for p in op["parameters"]}
        assert {"X-P2C-Signature", "webhook-id", "webhook-timestamp", "webhook-signature"} <= names
        schema = resolve(spec, op["requestBody"]["content"]["application/json"]["schema"])
        assert schema["properties"]["event"]["const"] == event
        assert set(schema["required"]) == {"id", "event", "patient_id", "timestamp", "data"}


def test_negative_examples_are_rejected(spec: dict[str, Any]) -> None:
    """A few values that must NOT validate, so the schemas are not accidentally permissive."""

    def valid(name: str, value: Any) -> bool:
        full = inline_refs(spec, {"$ref": f"#/components/schemas/{name}"})
        return bool(jsonschema_rs.validator_for(full, validate_formats=True).is_valid(value))

    bp_reading = {
        "id": "vt_8b1c2d3e",
        "source": "withings",
        "metric": "blood_pressure",
        "value": 128,
        "unit": "mmHg",
        "measured_at": "2026-05-04T07:10:00Z",
        "received_at": "2026-05-04T07:12:41Z",
        "device": None,
    }
    assert not valid("VitalReading", bp_reading), "blood_pressure without components must fail"
    assert valid("VitalReading", {**bp_reading, "components": {"systolic": 128, "diastolic": 82}})
    hr = {**bp_reading, "metric": "heart_rate", "unit": "bpm", "value": 61}
    assert valid("VitalReading", hr)
    assert not valid("VitalReading", {**hr, "value": 400}), "out-of-range heart rate must fail"
    assert not valid("VitalReading", {**hr, "unit": "ms"}), "wrong unit must fail"
    assert not valid("VitalReading", {**hr, "components": {"systolic": 128, "diastolic": 82}})
    assert not valid("VitalReading", {**hr, "measured_at": "2026-05-04T07:10:00+02:00"}), "UTC Z only"
    assert not valid("LinkRequestCreate", {"patient_email": "a@b.example", "scopes": ["analytics:read"]})
    assert not valid("LinkRequestCreate", {"patient_email": "a@b.example", "scopes": ["pain:read"], "x": 1})
    assert not valid("Error", {"error": {"code": "nope", "message": "m", "request_id": "r"}})
    pain = spec["components"]["schemas"]["PainEntry"]["examples"][0]
    assert valid("PainEntry", pain)
    assert not valid("PainEntry", {**pain, "pain_level": 11})
    assert not valid("PainEntry", {**pain, "areas": []})
    assert not valid("PainEntry", {**pain, "qualities": ["burning", "burning"]})
