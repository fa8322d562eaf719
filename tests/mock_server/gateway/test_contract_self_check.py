"""The sandbox's own response check judges headers and non-JSON bodies, not only JSON bodies.

Each case hands the check a reply that breaks the contract in one way and expects the 500 the
sandbox serves instead of a lie; the matching good reply passes.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from mock_server.errors import ApiError
from mock_server.gateway.dispatch import OperationRunner
from mock_server.gateway.idempotency import IdempotencyStore
from mock_server.gateway.plan import build_plan
from mock_server.reports.sample import sample_pdf
from mock_server.settings import Settings

RETRY_AFTER = {"required": True, "schema": {"type": "integer", "minimum": 0}, "example": 30}
ERROR = {"type": "object", "properties": {"error": {"type": "object"}}, "required": ["error"]}
OPERATION: dict[str, Any] = {
    "operationId": "toy.pdf",
    "responses": {
        "200": {
            "description": "a PDF",
            "headers": {
                "Content-Disposition": {
                    "required": True,
                    "schema": {"type": "string", "pattern": "^attachment"},
                }
            },
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        "204": {"description": "nothing"},
        "503": {
            "description": "later",
            "headers": {"Retry-After": RETRY_AFTER},
            "content": {"application/json": {"schema": ERROR}},
        },
    },
}


@pytest.fixture
def runner() -> OperationRunner:
    plan = build_plan("get", "/toy", OPERATION, {"security": []}, {})
    services: Any = SimpleNamespace(settings=Settings())
    return OperationRunner(
        plan, lambda request: None, services, IdempotencyStore(services, 60)
    )  # never used: no POST


def _error(wait: int | None = None) -> bytes:
    details = {"retry_after": wait} if wait is not None else None
    return orjson.dumps({"error": {"code": "service_unavailable", "message": "later", "details": details}})


GOOD = [
    (200, "application/pdf", sample_pdf(), {"Content-Disposition": 'attachment; filename="r.pdf"'}),
    (204, "application/json", b"", {}),
    (503, "application/json", _error(1), {"Retry-After": "1"}),
    (503, "application/json", _error(), {"Retry-After": "30"}),
]
BAD = {
    "missing Retry-After": (503, "application/json", _error(1), {}),
    "Retry-After not an integer": (503, "application/json", _error(), {"Retry-After": "soon"}),
    "Retry-After disagrees with the body": (503, "application/json", _error(30), {"Retry-After": "60"}),
    "missing Content-Disposition": (200, "application/pdf", sample_pdf(), {}),
    "Content-Disposition off pattern": (200, "application/pdf", sample_pdf(), {"Content-Disposition": "x"}),
    "not a PDF": (200, "application/pdf", b"hello", {"Content-Disposition": "attachment"}),
    "empty PDF": (200, "application/pdf", b"", {"Content-Disposition": "attachment"}),
    "undocumented media type": (200, "text/plain", b"hi", {"Content-Disposition": "attachment"}),
    "a body where none is documented": (204, "application/json", b"{}", {}),
    "undocumented status": (418, "application/json", b"{}", {}),
}


@pytest.mark.parametrize(("status", "media", "data", "headers"), GOOD)
def test_contract_keeping_replies_pass(
    runner: OperationRunner, status: int, media: str, data: bytes, headers: dict[str, str]
) -> None:
    runner._check_contract(status, media, data, headers)


@pytest.mark.parametrize("case", sorted(BAD))
def test_contract_breaking_replies_are_caught(runner: OperationRunner, case: str) -> None:
    status, media, data, headers = BAD[case]
    with pytest.raises(ApiError) as caught:
        runner._check_contract(status, media, data, headers)
    assert caught.value.status == 500 and caught.value.code == "internal_error"
