"""Calling the sandbox's own API in process, as the console's only way to read or change anything.

The call goes through the ASGI stack below the console (edge, routing, gateway, handler), so it is
authenticated, rate-limited, validated and answered exactly as over HTTP. It is flagged in the scope
(``care_console``) so the request log, which shows what the *integrator's* client sent, skips it.
"""

from __future__ import annotations

import json as stdjson
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.types import ASGIApp, Message

CONSOLE_SCOPE_FLAG = "care_console"


@dataclass
class ApiAnswer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        """A one-line account of a failure for the page (``code: message``)."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            err = self.body["error"]
            return f"{err.get('code')}: {err.get('message')}"
        return f"HTTP {self.status}"


def _dumps(value: Any) -> bytes:
    """JSON bytes; the standard library for what orjson refuses (an integer beyond 64 bits typed into a
    form), so the API judges it (out of range: 400) instead of the console failing with a 500."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return stdjson.dumps(value, separators=(",", ":")).encode()


class InProcessApi:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def call(
        self,
        method: str,
        path: str,
        api_key: str,
        *,
        query: dict[str, Any] | None = None,
        json: Any = None,
    ) -> ApiAnswer:
        body = b"" if json is None else _dumps(json)
        headers = [(b"x-api-key", api_key.encode("latin-1")), (b"host", b"console.internal")]
        if json is not None:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        clean = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(clean, doseq=True).encode(),
            "headers": headers,
            "client": ("127.0.0.1", 0),
            "server": ("console.internal", 80),
            CONSOLE_SCOPE_FLAG: True,
        }
        sent = False
        status = 500
        answer_headers: dict[str, str] = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                answer_headers.update(
                    (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in message.get("headers", [])
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        raw = b"".join(chunks)
        parsed: Any = None
        if raw and "json" in answer_headers.get("content-type", ""):
            parsed = orjson.loads(raw)
        return ApiAnswer(status, answer_headers, parsed)
