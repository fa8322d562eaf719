"""Body depth and size limits answer with the error envelope before any recursive work.

Every operation of the contract that takes a JSON body gets bodies nested past the limit (a 1,000-deep
body was a 500 ``RecursionError``), one level under it, and one byte over the size limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.gateway.body import nesting_depth
from mock_server.settings import Settings
from tests.fixtures.sandbox import RunningSandbox, running_sandbox
from tests.mock_server.contract_walk import Operation, operations

JSON_BODY_OPS = [
    op for op in operations() if "application/json" in op.spec.get("requestBody", {}).get("content", {})
]
LIMIT = Settings().max_body_depth


def _url(op: Operation, patient_id: str) -> str:
    url = op.path
    for param in op.parameters:
        if param.get("in") == "path":
            value = patient_id if param["name"] == "patient_id" else str(param.get("example", "x"))
            url = url.replace("{" + param["name"] + "}", value)
    return url


def _nested(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.fixture(scope="module")
def limits_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(Path(tmp_path_factory.mktemp("limits")), max_body_bytes=65_536) as running:
        yield running


def _patient(client: httpx.Client) -> str:
    return str(client.get("/v1/patients", params={"per_page": 1}).json()["data"][0]["id"])


def _assert_envelope(response: httpx.Response, status: int, codes: set[str]) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    error = body["error"] if "error" in body else {"code": body["issue"][0]["details"]["text"]}
    assert error["code"] in codes, body
    return dict(body)


@pytest.mark.parametrize("op", JSON_BODY_OPS, ids=[op.operation_id for op in JSON_BODY_OPS])
def test_deep_bodies_are_400_not_500(limits_sandbox: RunningSandbox, op: Operation) -> None:
    with limits_sandbox.client() as client:
        url = _url(op, _patient(client))
        headers = {"content-type": "application/json"}
        for depth in (LIMIT + 1, 1_000, 1_023, 1_025, 10_000):
            for kind in ("array", "object"):
                response = client.request(op.method, url, content=_nested(depth, kind), headers=headers)
                body = _assert_envelope(response, 400, {"validation_error", "invalid_json"})
                if depth <= 1_024:  # orjson's own limit answers the deeper ones (invalid_json)
                    assert body["error"]["details"] == {"max_depth": LIMIT}, body
        # at the limit the body is judged by the schema as usual: a 4xx about its content, never 5xx
        response = client.request(op.method, url, content=_nested(LIMIT, "array"), headers=headers)
        assert 400 <= response.status_code < 500 and "max_depth" not in response.text, response.text[:300]


@pytest.mark.parametrize("op", JSON_BODY_OPS[:3], ids=[op.operation_id for op in JSON_BODY_OPS[:3]])
def test_oversized_bodies_are_413(limits_sandbox: RunningSandbox, op: Operation) -> None:
    with limits_sandbox.client() as client:
        url = _url(op, _patient(client))
        big = b'{"pad": "' + b"x" * 65_536 + b'"}'
        response = client.request(op.method, url, content=big, headers={"content-type": "application/json"})
        _assert_envelope(response, 413, {"payload_too_large"})

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
            yield big[:40_000]
            yield big[40_000:]

        response = client.request(
            op.method, url, content=chunks(), headers={"content-type": "application/json"}
        )
        _assert_envelope(response, 413, {"payload_too_large"})


def _depth(value: Any) -> int:
    """The obvious recursive definition, to check the iterative one against."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=2), children, max_size=3)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(0, 8))
def test_nesting_depth_matches_the_recursive_definition(value: Any, limit: int) -> None:
    exact = _depth(value)
    measured = nesting_depth(value, limit)
    if exact <= limit:
        assert measured == exact
    else:
        assert limit < measured <= exact
