"""Capture every authenticated API request for the request log, without making it wait.

The outermost layer, so it sees exactly what the client sent and received — including the 401, 404
and 429 answers the edge produces itself. Per request it only keeps references to the body chunks
(up to a cap) and, after the response is sent, hands one :class:`Captured` to the writer's queue; the
workspace and credential come from the edge's ``RequestState`` (``scope["care"]``), the operation from
the gateway. Requests without a valid credential belong to no workspace and are not logged; nor are
reads of the log itself (the console polls it). Parsing, redaction and the database write happen in
the log's writer process (``requestlog.child``), or its thread for an in-memory database.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.console.api import CONSOLE_SCOPE_FLAG
from mock_server.middleware.state import RequestState
from mock_server.requestlog.writer import Captured, RequestLogWriter

LOGGED_PREFIXES = ("/v1/", "/fhir/", "/oauth/")
UNLOGGED_PREFIXES = ("/v1/sandbox/requests",)


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, *, writer: RequestLogWriter, capture_bytes: int) -> None:
        self.app = app
        self.writer = writer
        self.capture_bytes = capture_bytes  # more than the stored limit: redaction runs before the cut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith(LOGGED_PREFIXES)
            or path.startswith(UNLOGGED_PREFIXES)
            or scope.get(CONSOLE_SCOPE_FLAG)  # the console's own calls, not the integrator's client
        ):
            await self.app(scope, receive, send)
            return
        cap = self.capture_bytes
        began = time.perf_counter()
        sent: list[bytes] = []
        received: list[bytes] = []
        sizes = [0, 0]  # request, response bytes kept
        start: list[Message] = []  # the http.response.start message, once sent

        async def capture_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and sizes[0] < cap:
                chunk = message.get("body", b"")
                if chunk:
                    received.append(chunk)
                    sizes[0] += len(chunk)
            return message

        async def capture_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                start.append(message)
            elif kind == "http.response.body" and sizes[1] < cap:
                chunk = message.get("body", b"")
                if chunk:
                    sent.append(chunk)
                    sizes[1] += len(chunk)
            await send(message)

        try:
            await self.app(scope, capture_receive, capture_send)
        finally:
            state: RequestState | None = scope.get("care")
            principal = state.principal if state is not None else None
            if state is not None and principal is not None and start:
                self.writer.put(
                    Captured(
                        workspace_id=principal.workspace_id,
                        credential_kind=principal.kind,
                        credential_id=principal.credential_id,
                        request_id=state.request_id,
                        method=scope.get("method", "GET"),
                        path=path,
                        query=scope.get("query_string", b""),
                        operation_id=state.operation_id,
                        status=int(start[0]["status"]),
                        duration_ms=(time.perf_counter() - began) * 1000.0,
                        finished_at=time.time(),
                        request_headers=list(scope.get("headers", [])),
                        request_body=b"".join(received)[:cap],
                        response_headers=list(start[0].get("headers", [])),
                        response_body=b"".join(sent)[:cap],
                    )
                )
