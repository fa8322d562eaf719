"""Validate webhook payloads against their schemas in the ``webhooks:`` section of openapi.yaml."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mock_server.settings import DEFAULT_SPEC

SPEC_URI = "urn:care-sandbox:openapi"


@cache
def _spec() -> dict[str, Any]:
    with DEFAULT_SPEC.open() as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


@cache
def _validator(pointer: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(_spec(), default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def event_schema_pointer(event_type: str) -> str:
    """Where the spec documents this event's body: ``webhooks.<type>.post.requestBody``."""
    assert event_type in _spec()["webhooks"], f"openapi.yaml has no webhook for {event_type}"
    return f"/webhooks/{event_type}/post/requestBody/content/application~1json/schema"


def assert_valid_event(payload: dict[str, Any]) -> None:
    errors = sorted(_validator(event_schema_pointer(payload["event"])).iter_errors(payload), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def assert_valid_component(name: str, instance: Any) -> None:
    errors = sorted(_validator(f"/components/schemas/{name}").iter_errors(instance), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def webhook_header_schemas(event_type: str) -> dict[str, dict[str, Any]]:
    """The documented request headers of a webhook (name → schema)."""
    params = _spec()["webhooks"][event_type]["post"].get("parameters", [])
    return {p["name"].lower(): p["schema"] for p in params if p.get("in") == "header"}
