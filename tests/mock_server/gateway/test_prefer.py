"""``gateway.prefer`` on its own: parsing the ``Prefer`` header, and the forced replies it asks for."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.errors import ApiError
from mock_server.gateway.plan import build_plan
from mock_server.gateway.prefer import forced_reply, parse_prefer

TOKEN = st.text(
    alphabet=st.characters(categories=["L", "N"]) | st.sampled_from("-_."), min_size=1, max_size=12
)


@given(st.dictionaries(TOKEN, TOKEN, max_size=5), st.sampled_from([", ", ",", "; ", ";"]))
def test_every_name_value_pair_is_read_lowercased(prefs: dict[str, str], separator: str) -> None:
    header = separator.join(f"{name}={value}" for name, value in prefs.items())
    expected: dict[str, str] = {}
    for name, value in prefs.items():
        expected[name.lower()] = value  # a later pair of the same (lowercased) name wins
    assert parse_prefer(header) == expected


@given(st.text())
def test_any_header_parses_without_error_into_nonempty_pairs(header: str) -> None:
    for name, value in parse_prefer(header).items():
        assert name and value and name == name.lower()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        ('code=404, example="not_found"', {"code": "404", "example": "not_found"}),
        ("Code = 429 ; respond-async", {"code": "429"}),  # a flag without a value is ignored
    ],
)
def test_examples(header: str | None, expected: dict[str, str]) -> None:
    assert parse_prefer(header) == expected


ERROR = {
    "application/json": {
        "schema": {"type": "object"},
        "examples": {
            "not_found": {"value": {"error": {"code": "not_found", "message": "no", "request_id": "req_x"}}}
        },
    }
}
OPERATION: dict[str, Any] = {
    "operationId": "toy.get",
    "responses": {
        "200": {
            "content": {
                "application/json": {"schema": {"type": "object"}, "examples": {"ok": {"value": {"ok": 1}}}}
            }
        },
        "404": {"content": ERROR},
    },
}
PLAN = build_plan("get", "/toy", OPERATION, {"security": []}, {})


def test_no_preference_means_no_forced_reply() -> None:
    assert forced_reply(PLAN, {}, "req_1") is None


def test_a_documented_code_is_forced_with_the_example_and_the_real_request_id() -> None:
    reply = forced_reply(PLAN, {"code": "404"}, "req_real")
    assert reply is not None and reply.status == 404
    assert reply.body["error"]["request_id"] == "req_real"
    assert reply.headers["Preference-Applied"] == "code=404"


def test_an_undocumented_code_is_a_400_listing_the_documented_ones() -> None:
    with pytest.raises(ApiError) as caught:
        forced_reply(PLAN, {"code": "418"}, "req_1")
    assert caught.value.status == 400 and caught.value.details == {"documented_statuses": [200, 404]}


def test_an_example_alone_picks_the_success_status() -> None:
    reply = forced_reply(PLAN, {"example": "ok"}, "req_1")
    assert reply is not None and (reply.status, reply.body) == (200, {"ok": 1})


def test_an_example_the_response_does_not_have_is_a_400() -> None:
    with pytest.raises(ApiError) as caught:
        forced_reply(PLAN, {"example": "missing"}, "req_1")
    assert caught.value.status == 400
