"""``gateway.params`` on its own: coercion of raw text into typed values, and every refusal's shape.

Property tests: the input space (any text for any parameter type) is too large for examples alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.errors import ApiError
from mock_server.gateway.params import parse_headers, parse_path, parse_query
from mock_server.gateway.plan import OperationPlan, build_plan


def plan_with(*parameters: dict[str, Any]) -> OperationPlan:
    operation = {"operationId": "toy.get", "parameters": list(parameters), "responses": {"200": {}}}
    return build_plan("get", "/toy/{id}", operation, {"security": []}, {})


def query(name: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, **extra}


LIMIT = query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20})
RATIO = query("ratio", {"type": "number"})
FLAG = query("flag", {"type": "boolean"})
TYPES = query("type", {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}}, explode=False)
PLAN = plan_with(LIMIT, RATIO, FLAG, TYPES)


def refusal(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.status == 400 and caught.value.code == "invalid_parameter"
    return caught.value


@given(st.integers(min_value=1, max_value=100))
def test_an_integer_in_range_is_coerced(value: int) -> None:
    assert parse_query(PLAN, f"limit={value}".encode())["limit"] == value


@given(st.integers().filter(lambda v: not 1 <= v <= 100))
def test_an_integer_out_of_range_is_refused_naming_the_parameter(value: int) -> None:
    error = refusal(lambda: parse_query(PLAN, f"limit={value}".encode()))
    assert "'limit'" in error.message


@given(st.text(min_size=1).filter(lambda t: not t.strip().lstrip("+-").isdigit()))
def test_text_that_is_no_integer_is_refused(text: str) -> None:
    error = refusal(lambda: parse_query(PLAN, f"limit={quote(text)}".encode()))
    assert "'limit'" in error.message


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_finite_number_round_trips(value: float) -> None:
    assert parse_query(PLAN, f"ratio={quote(repr(value))}".encode())["ratio"] == value


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "NaN"])
def test_nan_and_infinity_are_no_numbers(raw: str) -> None:
    refusal(lambda: parse_query(PLAN, f"ratio={raw}".encode()))


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("1", True), ("FALSE", False), ("0", False)])
def test_booleans(raw: str, value: bool) -> None:
    assert parse_query(PLAN, f"flag={raw}".encode())["flag"] is value


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1))
def test_a_comma_separated_array_keeps_its_items(items: list[str]) -> None:
    assert parse_query(PLAN, f"type={','.join(items)}".encode())["type"] == items


def test_defaults_apply_and_absent_optional_parameters_stay_absent() -> None:
    assert parse_query(PLAN, b"") == {"limit": 20}


def test_an_unknown_parameter_is_refused_with_the_allowed_ones() -> None:
    error = refusal(lambda: parse_query(PLAN, b"form=2026-01-01&limit=5"))
    assert error.details == {
        "parameter": "form",
        "unknown": ["form"],
        "allowed": ["flag", "limit", "ratio", "type"],
    }


def test_a_scalar_given_twice_is_refused() -> None:
    assert "only once" in refusal(lambda: parse_query(PLAN, b"limit=1&limit=2")).message


def test_a_query_string_that_is_not_utf8_is_refused() -> None:
    refusal(lambda: parse_query(PLAN, b"limit=%ff\xff"))


def test_a_required_query_parameter_must_be_given() -> None:
    plan = plan_with(query("from", {"type": "string"}, required=True))
    assert "required" in refusal(lambda: parse_query(plan, b"")).message


def test_path_parameters_are_coerced_and_checked() -> None:
    plan = plan_with(
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
    )
    assert parse_path(plan, {"id": "7"}) == {"id": 7}
    refusal(lambda: parse_path(plan, {"id": "0"}))


def test_headers_are_matched_case_insensitively_and_required_ones_enforced() -> None:
    plan = plan_with(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "maxLength": 8},
        }
    )
    assert parse_headers(plan, {"idempotency-key": "abc"}) == {"Idempotency-Key": "abc"}
    assert "required" in refusal(lambda: parse_headers(plan, {})).message
    refusal(lambda: parse_headers(plan, {"idempotency-key": "x" * 9}))
