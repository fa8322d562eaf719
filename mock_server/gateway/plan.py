"""Everything the gateway needs about one operation, compiled once at start-up.

Connexion's own validation builds validator objects on every request; measured here, its response
validation served a 50-entry page at ~165 req/s. An :class:`OperationPlan` instead holds Draft
2020-12 validators (jsonschema_rs, formats checked) for each parameter, the request body and every
documented response, plus the security requirement and the examples ``Prefer`` can force, so the
per-request work is lookups and validator calls only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from mock_server.gateway.temporal import body_date_times, is_date_time

JSON_TYPES = ("application/json", "application/fhir+json")


def compile_schema(schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def _primary_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return non_null[0] if non_null else "null"
    if isinstance(kind, str):
        return kind
    return "string"


@dataclass
class ParamPlan:
    name: str
    location: str  # query | path | header
    required: bool
    schema: dict[str, Any]
    kind: str  # the JSON type to coerce the raw text into
    item_kind: str | None
    default: Any
    validator: jsonschema_rs.Draft202012Validator
    explode: bool = True  # form style: repeat the name; explode=false: one comma-separated value

    @classmethod
    def build(cls, param: dict[str, Any]) -> ParamPlan:
        schema = param.get("schema", {"type": "string"})
        kind = _primary_type(schema)
        item_kind = _primary_type(schema.get("items", {})) if kind == "array" else None
        return cls(
            name=param["name"],
            location=param["in"],
            required=bool(param.get("required", param["in"] == "path")),
            schema=schema,
            kind=kind,
            item_kind=item_kind,
            default=schema.get("default"),
            validator=compile_schema(schema),
            explode=bool(param.get("explode", param.get("style", "form") == "form")),
        )


# Headers the edge middleware puts on every response; the gateway neither forces nor checks them.
EDGE_HEADERS = frozenset({"x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"})


@dataclass(frozen=True)
class HeaderPlan:
    """A header the contract requires on one response: forced replies send it, every reply is checked."""

    name: str
    kind: str  # the JSON type of its value, as for parameters
    validator: jsonschema_rs.Draft202012Validator
    example: Any

    @classmethod
    def build(cls, name: str, header: dict[str, Any]) -> HeaderPlan:
        schema = header.get("schema", {"type": "string"})
        example = header.get("example", schema.get("example", schema.get("default")))
        if example is None and isinstance(schema.get("examples"), list) and schema["examples"]:
            example = schema["examples"][0]
        return cls(name, _primary_type(schema), compile_schema(schema), example)

    def accepts(self, raw: str) -> bool:
        value: Any = raw
        if self.kind == "integer":
            if not raw.strip().lstrip("-").isdigit():
                return False
            value = int(raw)
        return bool(self.validator.is_valid(value))


@dataclass
class ResponsePlan:
    status: int
    validators: dict[str, jsonschema_rs.Draft202012Validator]  # media type -> body validator
    examples: dict[str, dict[str, Any]]  # media type -> {example name: value}
    media_types: tuple[str, ...]
    required_headers: tuple[HeaderPlan, ...] = ()  # besides EDGE_HEADERS


@dataclass
class OperationPlan:
    operation_id: str
    method: str
    path: str
    public: bool
    scope_alternatives: list[frozenset[str]]  # any one satisfied suffices; empty set = any credential
    query: dict[str, ParamPlan]
    path_params: dict[str, ParamPlan]
    headers: dict[str, ParamPlan]
    body_required: bool
    body_media_types: tuple[str, ...]
    body_validator: jsonschema_rs.Draft202012Validator | None
    responses: dict[int, ResponsePlan]
    default_media_type: str
    idempotent_post: bool = False
    query_date_times: tuple[str, ...] = ()  # query parameters with format: date-time (see temporal.py)
    body_date_times: tuple[tuple[str, ...], ...] = ()  # JSON paths of body fields with format: date-time
    # x-unknown-query-parameters: ignore (the FHIR operations, as FHIR R4 servers behave by default):
    # query parameters the contract does not declare are dropped, unless `Prefer: handling=strict`
    ignores_unknown_query: bool = False

    @property
    def documented_statuses(self) -> list[int]:
        return sorted(self.responses)


def _security_alternatives(
    operation: dict[str, Any], document: dict[str, Any]
) -> tuple[bool, list[frozenset[str]]]:
    requirements = operation.get("security", document.get("security", []))
    if not requirements:
        return True, []
    alternatives = []
    for requirement in requirements:
        if not requirement:  # {} means anonymous access is allowed
            return True, []
        scopes: set[str] = set()
        for values in requirement.values():
            scopes.update(values or [])
        alternatives.append(frozenset(scopes))
    return False, alternatives


def _responses(operation: dict[str, Any]) -> dict[int, ResponsePlan]:
    plans: dict[int, ResponsePlan] = {}
    for status_text, response in operation.get("responses", {}).items():
        if not str(status_text).isdigit():
            continue  # "default" and ranges are not used by this contract
        validators: dict[str, jsonschema_rs.Draft202012Validator] = {}
        examples: dict[str, dict[str, Any]] = {}
        content = response.get("content", {})
        for media_type, media in content.items():
            schema = media.get("schema")
            if schema is not None and media_type in JSON_TYPES:
                validators[media_type] = compile_schema(schema)
            named = {name: ex.get("value") for name, ex in media.get("examples", {}).items() if "value" in ex}
            if "example" in media:
                named.setdefault("default", media["example"])
            examples[media_type] = named
        required = tuple(
            HeaderPlan.build(name, header)
            for name, header in (response.get("headers") or {}).items()
            if header.get("required") and name.lower() not in EDGE_HEADERS
        )
        plans[int(status_text)] = ResponsePlan(
            int(status_text), validators, examples, tuple(content), required
        )
    return plans


def build_plan(
    method: str, path: str, operation: dict[str, Any], document: dict[str, Any], path_item: dict[str, Any]
) -> OperationPlan:
    """Compile one operation of a ``$ref``-inlined document."""
    params = [*path_item.get("parameters", []), *operation.get("parameters", [])]
    by_location: dict[str, dict[str, ParamPlan]] = {"query": {}, "path": {}, "header": {}}
    for param in params:
        if param.get("in") in by_location:
            plan = ParamPlan.build(param)
            key = plan.name.lower() if plan.location == "header" else plan.name
            by_location[plan.location][key] = plan
    public, scopes = _security_alternatives(operation, document)
    body = operation.get("requestBody")
    body_validator = None
    body_media: tuple[str, ...] = ()
    body_times: tuple[tuple[str, ...], ...] = ()
    if body:
        content = body.get("content", {})
        body_media = tuple(content)
        for media_type in content:
            schema = content[media_type].get("schema")
            if schema is not None:
                body_validator = compile_schema(schema)
                body_times = body_date_times(schema)
                break
    default_media = "application/fhir+json" if path.startswith("/fhir/") else "application/json"
    return OperationPlan(
        operation_id=operation["operationId"],
        method=method.upper(),
        path=path,
        public=public,
        scope_alternatives=scopes,
        query=by_location["query"],
        path_params=by_location["path"],
        headers=by_location["header"],
        body_required=bool(body and body.get("required")),
        body_media_types=body_media,
        body_validator=body_validator,
        responses=_responses(operation),
        default_media_type=default_media,
        idempotent_post=method.upper() == "POST" and "idempotency-key" in by_location["header"],
        query_date_times=tuple(n for n, p in by_location["query"].items() if is_date_time(p.schema)),
        body_date_times=body_times,
        ignores_unknown_query=operation.get("x-unknown-query-parameters") == "ignore",
    )
