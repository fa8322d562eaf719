"""Walk ``openapi.yaml`` for what edge-value tests need: operations, their temporal fields, statuses.

Tests derive their cases from the contract rather than from a hand-written list, so an operation or a
date field added to the contract is covered the day it is added.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")
_DATE_PATTERN = re.compile(r"\\d\{4\}|\[0-9\]\{4\}")


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return loaded


def resolve(node: Any, seen: tuple[str, ...] = ()) -> Any:
    """Inline local ``$ref``s (a recursive reference is cut, it is never needed here)."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return {}
            target: Any = document()
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve(target, (*seen, ref))
        return {key: resolve(value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, seen) for value in node]
    return node


def temporal_kind(schema: dict[str, Any]) -> str | None:
    """``date``, ``date-time`` or ``pattern`` (a string pattern that spells a year), else None."""
    fmt = schema.get("format")
    if fmt in ("date", "date-time"):
        return str(fmt)
    if isinstance(schema.get("pattern"), str) and _DATE_PATTERN.search(schema["pattern"]):
        return "pattern"
    return None


@dataclass(frozen=True)
class TemporalField:
    location: str  # query | body
    path: tuple[str, ...]  # body: JSON path ("*" = every array item); query: (name,)
    kind: str  # date | date-time | pattern
    schema: dict[str, Any]  # the string schema (for a query array: the item schema)
    array: bool = False  # a query parameter that is an array of such strings

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    spec: dict[str, Any]  # resolved
    parameters: tuple[dict[str, Any], ...]  # resolved, path-level ones included

    @property
    def body_example(self) -> Any:
        for media in self.spec.get("requestBody", {}).get("content", {}).values():
            for example in media.get("examples", {}).values():
                if "value" in example:
                    return example["value"]
            if "example" in media:
                return media["example"]
        return None

    @property
    def statuses(self) -> list[int]:
        return sorted(int(s) for s in self.spec.get("responses", {}) if str(s).isdigit())


def operations() -> list[Operation]:
    found = []
    for path, item in document()["paths"].items():
        shared = resolve(item.get("parameters", []))
        for method in METHODS:
            if method in item:
                spec = resolve(item[method])
                params = tuple([*shared, *spec.get("parameters", [])])
                found.append(Operation(spec["operationId"], method.upper(), path, spec, params))
    return found


def _body_fields(schema: Any, path: tuple[str, ...]) -> Iterator[TemporalField]:
    if not isinstance(schema, dict):
        return
    kind = temporal_kind(schema)
    if kind is not None and path:
        yield TemporalField("body", path, kind, schema)
    for name, sub in schema.get("properties", {}).items():
        yield from _body_fields(sub, (*path, name))
    if "items" in schema:
        yield from _body_fields(schema["items"], (*path, "*"))
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            yield from _body_fields(branch, path)


def temporal_fields(op: Operation) -> list[TemporalField]:
    """Every date, date-time or date-patterned value the operation takes, in query or body."""
    fields: dict[tuple[str, tuple[str, ...]], TemporalField] = {}
    for param in op.parameters:
        if param.get("in") != "query":
            continue
        schema = param.get("schema", {})
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            kind = temporal_kind(schema["items"])
            if kind is not None:
                fields[("query", (param["name"],))] = TemporalField(
                    "query", (param["name"],), kind, schema["items"], array=True
                )
            continue
        kind = temporal_kind(schema)
        if kind is not None:
            fields[("query", (param["name"],))] = TemporalField("query", (param["name"],), kind, schema)
    for media in op.spec.get("requestBody", {}).get("content", {}).values():
        for field in _body_fields(media.get("schema", {}), ()):
            fields.setdefault((field.location, field.path), field)
    return list(fields.values())
