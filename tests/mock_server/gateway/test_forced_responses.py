"""``Prefer: code=N`` for every documented status of every operation keeps the contract.

For each (operation, status) pair in ``openapi.yaml`` the sandbox is asked to force that status; the
answer must have that status, every header the contract requires for it, a body of a documented media
type (a real PDF for ``application/pdf``), and pass openapi-core's response validation, the judge that
shares no code with the sandbox. The sandbox's own response check is on, so a forced reply that broke
the contract would come back as a 500 and fail here too.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_core.testing import MockRequest, MockResponse
from pypdf import PdfReader

from conformance.spec import Spec
from mock_server.gateway.prefer import retry_after_in
from tests.fixtures.sandbox import RunningSandbox, running_sandbox
from tests.mock_server.contract_walk import SPEC, Operation, operations

CASES = [(op, status) for op in operations() for status in op.statuses]


@pytest.fixture(scope="module")
def forced_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with running_sandbox(Path(tmp_path_factory.mktemp("forced"))) as running:
        yield running


@pytest.fixture(scope="module")
def judge(forced_sandbox: RunningSandbox) -> Any:
    return Spec.load(SPEC).openapi_core(forced_sandbox.base_url)


def _example(param: dict[str, Any]) -> str | None:
    schema = param.get("schema", {})
    value = param.get("example", schema.get("example", schema.get("default")))
    if value is None and param.get("examples"):
        value = next(iter(param["examples"].values())).get("value")
    if value is None and (schema.get("enum") or "const" in schema):
        value = schema["enum"][0] if schema.get("enum") else schema["const"]
    if isinstance(value, list):
        value = value[0]
    return None if value is None else str(value)


def _request(op: Operation) -> tuple[str, dict[str, str]]:
    url, query = op.path, {}
    for param in op.parameters:
        if param.get("in") == "path":
            url = url.replace("{" + param["name"] + "}", _example(param) or "x")
        elif param.get("in") == "query" and param.get("required"):
            # a forced reply is decided before parameters are read; sent when the contract has a value
            value = _example(param)
            if value is not None:
                query[param["name"]] = value
    return url, query


def _required_headers(op: Operation, status: int) -> dict[str, dict[str, Any]]:
    response = op.spec["responses"][str(status)]
    return {name: h for name, h in (response.get("headers") or {}).items() if h.get("required")}


def _problems(op: Operation, status: int, response: httpx.Response, judge: Any) -> list[str]:
    problems = []
    if response.status_code != status:
        problems.append(f"status {response.status_code}: {response.text[:200]}")
        return problems
    for name, header in _required_headers(op, status).items():
        value = response.headers.get(name)
        if value is None:
            problems.append(f"missing required header {name}")
        elif header.get("schema", {}).get("type") == "integer" and not value.isdigit():
            problems.append(f"header {name}={value!r} is not an integer")
    content = op.spec["responses"][str(status)].get("content") or {}
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if content:
        if media not in content:
            problems.append(f"media type {media!r}, documented {sorted(content)}")
        if not response.content:
            problems.append("empty body")
    elif response.content:
        problems.append(f"a body where none is documented: {response.content[:80]!r}")
    if media == "application/pdf":
        problems.extend(_pdf_problems(response.content))
    stated = retry_after_in(response.json()) if media.endswith("json") else None
    if (
        "retry-after" in response.headers
        and stated is not None
        and str(stated) != response.headers["retry-after"]
    ):
        problems.append(f"Retry-After {response.headers['retry-after']} but the body says {stated}")
    if media != "application/pdf":  # openapi-core cannot read binary bodies; checked above instead
        request = MockRequest(
            response.request.url.scheme + "://" + response.request.url.netloc.decode(),
            op.method.lower(),
            response.request.url.path,
            args=dict(response.request.url.params),
            headers=dict(response.request.headers),
        )
        mock = MockResponse(
            response.content, status_code=status, headers=dict(response.headers), content_type=media or None
        )
        try:
            judge.validate_response(request, mock)
        except Exception as exc:  # the judge's verdict, whatever its exception type
            problems.append(f"openapi-core: {type(exc).__name__}: {exc}; {getattr(exc, '__cause__', '')}")
    return problems


def _pdf_problems(data: bytes) -> list[str]:
    if not data.startswith(b"%PDF-"):
        return ["application/pdf body is not a PDF"]
    # pypdf (a dependency, the parser the kit's pdf_content check uses): no poppler on the machine needed
    try:
        text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    except Exception as exc:  # the parser's verdict, whatever its exception type
        return [f"pypdf cannot read the forced PDF: {type(exc).__name__}: {exc}"]
    if not text.strip():
        return ["the forced PDF has no text"]
    return []


def test_every_documented_status_can_be_forced_without_breaking_the_contract(
    forced_sandbox: RunningSandbox, judge: Any
) -> None:
    mismatches: dict[str, list[str]] = {}
    with forced_sandbox.client() as client:
        for op, status in CASES:
            url, query = _request(op)
            response = client.request(op.method, url, params=query, headers={"Prefer": f"code={status}"})
            problems = _problems(op, status, response, judge)
            if problems:
                mismatches[f"{op.operation_id} {status}"] = problems
    assert len(CASES) > 300  # every operation, every status: the walk found them
    assert not mismatches, (
        f"{len(mismatches)} of {len(CASES)} forced responses break the contract: "
        + "\n".join(f"{k}: {v}" for k, v in sorted(mismatches.items()))
    )


def test_prefer_example_selects_a_named_example_with_its_headers(forced_sandbox: RunningSandbox) -> None:
    with forced_sandbox.client() as client:
        response = client.get("/healthz", headers={"Prefer": "code=429, example=rate_limit_exceeded"})
        assert response.status_code == 429
        assert response.headers["retry-after"] == str(response.json()["error"]["details"]["retry_after"])
        unknown = client.get("/healthz", headers={"Prefer": "example=no_such_example"})
        assert unknown.status_code == 400 and unknown.json()["error"]["details"]["examples"]


def test_a_real_429_states_one_wait(tmp_path: Path) -> None:
    with running_sandbox(tmp_path, default_rate_limit_per_hour=2) as sandbox, sandbox.client() as client:
        client.get("/healthz", headers={"X-API-Key": "nobody"})
        answers = [client.get("/healthz", headers={"X-API-Key": "nobody"}) for _ in range(3)]
        limited = [r for r in answers if r.status_code == 429]
        assert limited, [r.status_code for r in answers]
        for response in limited:
            body = response.json()["error"]
            wait = response.headers["retry-after"]
            assert str(body["details"]["retry_after"]) == wait
            assert re.search(rf"retry after {wait} seconds", body["message"]), body["message"]
