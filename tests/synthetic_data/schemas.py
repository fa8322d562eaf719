"""openapi.yaml component schemas as self-contained JSON Schemas (Draft 2020-12), for the factory tests.

A small `$ref` resolver: every `#/components/schemas/X` reference is inlined (the record schemas are
not recursive), so jsonschema_rs compiles each component on its own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
PREFIX = "#/components/schemas/"


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def resolve(node: Any, schemas: dict[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """`node` with every component `$ref` replaced by the (resolved) component itself."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            name = ref[len(PREFIX) :]
            if name in stack:
                raise ValueError(f"recursive schema through {' -> '.join((*stack, name))}")
            target = resolve(schemas[name], schemas, (*stack, name))
            siblings = {k: resolve(v, schemas, stack) for k, v in node.items() if k != "$ref"}
            return {"allOf": [target], **siblings} if siblings else target
        return {k: resolve(v, schemas, stack) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(item, schemas, stack) for item in node]
    return node


@cache
def validator(component: str) -> jsonschema_rs.Draft202012Validator:
    """A compiled validator for `#/components/schemas/<component>`, formats asserted."""
    schemas = spec()["components"]["schemas"]
    schema = resolve(schemas[component], schemas, (component,))
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=True)


def errors(component: str, instance: Any) -> list[str]:
    return [f"{e.instance_path}: {e.message}" for e in validator(component).iter_errors(instance)]
