"""``gateway.body.decode_body`` on its own: media types, the forgiving cases, and the refusals."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.errors import ApiError
from mock_server.gateway.body import decode_body, media_type_of
from mock_server.gateway.plan import OperationPlan, build_plan

SCHEMA = {"type": "object", "properties": {"days": {"type": "integer", "minimum": 0}}, "required": ["days"]}


def plan_with(content: dict[str, Any] | None, required: bool = True) -> OperationPlan:
    operation: dict[str, Any] = {"operationId": "toy.op", "responses": {"200": {}}}
    if content is not None:
        operation["requestBody"] = {"required": required, "content": content}
    return build_plan("post", "/toy", operation, {"security": []}, {})


JSON_PLAN = plan_with({"application/json": {"schema": SCHEMA}})
FORM_PLAN = plan_with({"application/x-www-form-urlencoded": {"schema": {"type": "object"}}})
NO_BODY = plan_with(None)


def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_a_valid_json_body_decodes(days: int) -> None:
    assert decode_body(JSON_PLAN, orjson.dumps({"days": days}), "application/json; charset=utf-8") == {
        "days": days
    }


@given(st.integers(min_value=-(2**63), max_value=-1))
def test_a_body_against_the_schema_is_a_400_with_its_path(days: int) -> None:
    error = refused(lambda: decode_body(JSON_PLAN, orjson.dumps({"days": days}), "application/json"))
    assert (error.status, error.code) == (400, "validation_error")
    assert error.details is not None and error.details["errors"][0]["path"] == "/days"


def test_no_content_type_reads_json_and_a_json_object_labelled_as_a_form_too() -> None:
    assert decode_body(JSON_PLAN, b'{"days": 2}', None) == {"days": 2}
    assert decode_body(JSON_PLAN, b'{"days": 2}', "application/x-www-form-urlencoded") == {"days": 2}


def test_another_media_type_is_a_415_listing_the_accepted_ones() -> None:
    error = refused(lambda: decode_body(JSON_PLAN, b"days=2", "text/plain"))
    assert error.status == 415 and error.details == {"accepted": ["application/json"]}


def test_invalid_json_is_a_400_invalid_json() -> None:
    assert refused(lambda: decode_body(JSON_PLAN, b"{days", "application/json")).code == "invalid_json"


def test_a_required_body_must_be_sent_and_an_optional_one_may_be_omitted() -> None:
    assert refused(lambda: decode_body(JSON_PLAN, b"  ", "application/json")).code == "validation_error"
    assert decode_body(plan_with({"application/json": {"schema": SCHEMA}}, required=False), b"", None) is None


def test_an_operation_without_a_body_accepts_nothing_or_an_empty_object_only() -> None:
    assert decode_body(NO_BODY, b"", None) is None
    assert decode_body(NO_BODY, b" { } ", "application/json") is None
    assert "takes no request body" in refused(lambda: decode_body(NO_BODY, b'{"a": 1}', None)).message


def test_a_form_body_decodes_to_its_fields() -> None:
    body = decode_body(FORM_PLAN, b"grant_type=refresh_token&scope=", "application/x-www-form-urlencoded")
    assert body == {"grant_type": "refresh_token", "scope": ""}


def test_over_deep_json_is_refused_before_validation() -> None:
    deep = b"[" * 40 + b"]" * 40
    plan = plan_with({"application/json": {"schema": {}}})
    error = refused(lambda: decode_body(plan, deep, "application/json", max_depth=32))
    assert error.details == {"max_depth": 32}


@pytest.mark.parametrize(
    ("header", "media"),
    [(None, None), ("Application/JSON; charset=utf-8", "application/json"), ("  text/csv ", "text/csv")],
)
def test_media_type_of(header: str | None, media: str | None) -> None:
    assert media_type_of(header) == media
