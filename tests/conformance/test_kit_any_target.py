"""Any target, any answer: servers that answer nonsense get a verdict (exit 1), never a crash of the kit.

Each toy answers every request the same way: HTML with 200, JSON of the wrong shape, or a bare 500. The
kit must finish, write its reports, record no kit error, and give every failure a curl reproduction.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.score import group_failures
from tests.conformance.kit_helpers import run_kit
from tests.conformance.servers import serve


def constant(status: int, media: bytes, body: bytes) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", media)]})
        await send({"type": "http.response.body", "body": body})

    return app


TARGETS = {
    "html": constant(200, b"text/html", b"<html>hello</html>"),
    "wrong-json": constant(
        200, b"application/json", b'{"data": 5, "pagination": "x", "consent": [], "id": 1}'
    ),
    "server-error": constant(500, b"text/plain", b"boom"),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_nonsense_gets_a_verdict_with_reproductions_not_a_crash(name: str) -> None:
    with serve(TARGETS[name]) as url:
        report = run_kit(url, "key", layers=("spec", "custom", "scenarios"), webhook_timeout=1.0)
    assert report.kit_errors == []
    assert not report.conforms
    groups = group_failures(report.failures)
    assert groups and all(group.reproduce for group in groups), [g.check for g in groups if not g.reproduce]
    assert all(line.startswith("curl ") for group in groups for line in group.reproduce)
