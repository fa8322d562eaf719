"""Validate our dicts against a component schema of ``openapi.yaml`` (the contract others build to).

Skips, rather than fails, while the spec does not define the component yet: the spec is written in
parallel, and its own tests own its completeness.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

SPEC = Path(__file__).resolve().parents[3] / "openapi.yaml"


@cache
def _components() -> dict[str, Any]:
    if not SPEC.exists():
        return {}
    components: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8")).get("components", {})
    return components


def validator(name: str) -> Any:
    components = _components()
    if name not in components.get("schemas", {}):
        pytest.skip(f"openapi.yaml has no components.schemas.{name} yet")
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


def assert_valid(name: str, instance: Any) -> None:
    errors = [f"{e.instance_path}: {e.message}" for e in validator(name).iter_errors(instance)]
    assert not errors, errors[:5]
