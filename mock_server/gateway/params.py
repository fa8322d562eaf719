"""Parse query, path and header parameters into typed values and validate them.

Unknown query parameters are rejected: a typo such as ``?form=2026-01-01`` would otherwise silently
return unfiltered data, the worst kind of sandbox lie. Every error names the parameter and the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from mock_server.errors import ApiError, invalid_parameter
from mock_server.gateway.plan import OperationPlan, ParamPlan

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def _coerce(plan: ParamPlan, kind: str | None, raw: str) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(raw)
            return value
        if kind == "boolean":
            lowered = raw.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(raw)
    except ValueError as exc:
        raise invalid_parameter(plan.name, raw, f"parameter '{plan.name}' must be a valid {kind}") from exc
    return raw


def _check(plan: ParamPlan, value: Any, raw: Any) -> Any:
    if not plan.validator.is_valid(value):
        error = next(iter(plan.validator.iter_errors(value)))
        raise invalid_parameter(plan.name, raw, f"parameter '{plan.name}' is invalid: {error.message}")
    return value


def _one(plan: ParamPlan, values: list[str]) -> Any:
    if plan.kind == "array":
        items: list[Any] = []
        for raw in values:
            parts = raw.split(",") if not plan.explode else [raw]
            items.extend(_coerce(plan, plan.item_kind, part) for part in parts)
        return _check(plan, items, values)
    if len(values) > 1:
        raise invalid_parameter(plan.name, values, f"parameter '{plan.name}' may be given only once")
    return _check(plan, _coerce(plan, plan.kind, values[0]), values[0])


def parse_query(plan: OperationPlan, query_string: bytes, *, strict: bool = False) -> dict[str, Any]:
    """The declared query parameters, coerced and checked. An undeclared one is a 400, except on an
    operation that ignores unknown parameters (``OperationPlan.ignores_unknown_query``), where it is
    dropped unless the client asked for ``strict`` handling (``Prefer: handling=strict``)."""
    try:
        text = query_string.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_parameter", "the query string is not valid UTF-8") from exc
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        grouped.setdefault(name, []).append(value)
    unknown = sorted(set(grouped) - set(plan.query))
    if unknown and plan.ignores_unknown_query and not strict:
        unknown = []
    if unknown:
        raise ApiError(
            400,
            "invalid_parameter",
            f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            {"parameter": unknown[0], "unknown": unknown, "allowed": sorted(plan.query)},
        )
    params: dict[str, Any] = {}
    for name, param in plan.query.items():
        if name in grouped:
            params[name] = _one(param, grouped[name])
        elif param.required:
            raise invalid_parameter(name, None, f"query parameter '{name}' is required")
        elif param.default is not None:
            params[name] = param.default
    return params


def parse_path(plan: OperationPlan, path_params: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, param in plan.path_params.items():
        raw = str(path_params.get(name, ""))
        params[name] = _check(param, _coerce(param, param.kind, raw), raw)
    return params


def parse_headers(plan: OperationPlan, headers: Mapping[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, param in plan.headers.items():
        raw = headers.get(key)
        if raw is None:
            if param.required:
                raise invalid_parameter(param.name, None, f"header '{param.name}' is required")
            continue
        params[param.name] = _check(param, _coerce(param, param.kind, raw), raw)
    return params
