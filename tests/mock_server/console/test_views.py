"""The console's copyable curl line repeats the logged request, headers that change the answer included."""

from __future__ import annotations

import shlex
from typing import Any

from mock_server.console.views import _curl


def _entry(**headers: str) -> dict[str, Any]:
    return {
        "method": "GET",
        "path": "/v1/patients/p2c_anon_7f3k2m9q/report",
        "query": "from=2026-05-01",
        "credential": {"kind": "api_key", "id": "key_1"},
        "request_headers": {"host": "127.0.0.1:8080", "x-api-key": "[REDACTED]", **headers},
        "request_body": None,
    }


def test_the_curl_line_keeps_the_headers_that_choose_the_answer() -> None:
    """Prefer forces an outcome, Accept picks PDF or JSON, Idempotency-Key replays: without them the
    line answers something else than the logged request got."""
    line = _curl(
        _entry(
            prefer="code=429",
            accept="application/pdf",
            **{"idempotency-key": "k-1", "user-agent": "curl/8"},
        ),
        "http://127.0.0.1:8080/console/",
    )
    words = shlex.split(line)
    assert "Prefer: code=429" in words
    assert "Accept: application/pdf" in words
    assert "Idempotency-Key: k-1" in words
    assert not any(w.lower().startswith(("user-agent", "host")) for w in words)  # curl sends its own
    assert "X-API-Key: $CARE_API_KEY" in words  # the key never inline


def test_the_default_accept_is_left_to_curl() -> None:
    words = shlex.split(_curl(_entry(accept="*/*"), "http://127.0.0.1:8080/console/"))
    assert not any(w.lower().startswith("accept") for w in words)
    assert words[:4] == [
        "curl",
        "-X",
        "GET",
        "http://127.0.0.1:8080/v1/patients/p2c_anon_7f3k2m9q/report?from=2026-05-01",
    ]
