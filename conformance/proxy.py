"""`care-conformance proxy`: a validating reverse proxy in front of any implementation.

Partners integrate against a staging server with their real client; the proxy sits between the two and
judges every exchange as it happens, like Prism's proxy mode:

- openapi-core (the independent judge) validates each request and response against the contract;
- the kit's own per-response checks (error envelope, X-Request-Id, X-RateLimit-*, Retry-After) and the
  single-page pagination check run on every response;
- a status the operation does not document is reported as such, once (not again by openapi-core), and
  a header the kit's checks already reported missing is not reported a second time either.

Each violation is printed as one line with the request id as soon as it is seen. PDFs and streams
(`STREAMED` media types) are passed through byte for byte as they arrive; only their status and headers
are judged. `GET /healthz` is answered by the proxy itself. On SIGINT or SIGTERM the proxy stops, writes
the reports asked for (JUnit, JSON, HTML, Markdown, HAR) and exits 1 if it saw any violation, else 0.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from conformance.checks.pagination import CHECK as PAGE_CHECK
from conformance.checks.pagination import page_consistent
from conformance.checks.response import RATE_LIMIT_HEADERS, RESPONSE_CHECKS, error_envelope
from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange, lower_headers
from conformance.har import MAX_BODY, HarRecorder
from conformance.results import Collector, RunReport
from conformance.spec import Operation, Spec
from conformance.validation import IndependentValidator

# Passed through as they arrive, never buffered: reports, downloads and event streams.
STREAMED = ("application/pdf", "text/event-stream", "application/octet-stream", "application/zip")
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
PROXY_CHECKS = (*RESPONSE_CHECKS, page_consistent)
# header a kit check guards -> a stand-in value, so openapi-core judges the rest without repeating it
STAND_INS = {"x-request-id": "req_stand_in", "retry-after": "1", **{name: "0" for name in RATE_LIMIT_HEADERS}}
UNDOCUMENTED = "documented_operation"

Printer = Callable[[str], None]


class Judge:
    """Judges one exchange at a time (thread-safe): records every outcome, prints every violation once."""

    def __init__(self, spec: Spec, upstream: str, printer: Printer) -> None:
        self.spec = spec
        self.collector = Collector()
        self.validator = IndependentValidator(spec, upstream)
        self.printer = printer
        self.violations = 0
        self._lock = threading.Lock()

    def __call__(
        self,
        exchange: Exchange,
        request_id: str,
        request_body: bytes,
        request_type: str,
        *,
        body_judged: bool,
    ) -> list[ConformanceFailure]:
        """All violations of one exchange (each at most once), recorded and printed."""
        operation = self.spec.match(exchange.method, exchange.path)
        failures = self._request_failures(exchange, operation, request_body, request_type)
        documented = operation is None or self._documented_status(operation, exchange.status)
        if not documented:
            failures.append(
                ConformanceFailure(
                    "status_code_conformance",
                    f"{exchange.describe()}",
                    f"one of the statuses documented for {exchange.operation}",
                    operation=exchange.operation,
                )
            )
        stand_ins = self._kit_checks(exchange, failures, body_judged=body_judged)
        if operation is not None and documented and body_judged:
            self._validate_response(exchange, stand_ins, request_body, request_type, failures)
        self._report(exchange, request_id, failures)
        return failures

    def _request_failures(
        self, exchange: Exchange, operation: Operation | None, request_body: bytes, request_type: str
    ) -> list[ConformanceFailure]:
        """An undocumented operation, or a request the contract does not allow."""
        label = exchange.operation
        if operation is None:
            return [
                ConformanceFailure(
                    UNDOCUMENTED,
                    f"{exchange.method.upper()} {exchange.path}",
                    "an operation of the contract",
                    operation=label,
                )
            ]
        try:
            self.validator.validate_request(exchange, request_body or None, request_type)
        except ConformanceFailure as failure:
            return [failure]
        self.collector.passed(label, "independent_request_validation")
        return []

    def _kit_checks(
        self, exchange: Exchange, failures: list[ConformanceFailure], *, body_judged: bool
    ) -> dict[str, str]:
        """Run the kit's own checks (appending to ``failures``); the stand-ins for headers that failed."""
        stand_ins: dict[str, str] = {}
        codes = self.spec.error_codes_for(exchange.path)
        for check in PROXY_CHECKS:
            if not body_judged and check in (error_envelope, page_consistent):
                continue
            try:
                applied = error_envelope(exchange, codes) if check is error_envelope else check(exchange)
            except ConformanceFailure as failure:
                failures.append(failure)
                stand_ins.update(
                    {name: value for name, value in STAND_INS.items() if exchange.header(name) is None}
                )
            else:
                if applied:
                    name = PAGE_CHECK if check is page_consistent else check.__name__
                    self.collector.passed(exchange.operation, name)
        return stand_ins

    def _validate_response(
        self,
        exchange: Exchange,
        stand_ins: dict[str, str],
        request_body: bytes,
        request_type: str,
        failures: list[ConformanceFailure],
    ) -> None:
        """openapi-core on the response, with stand-ins for headers a kit check already judged."""
        label = exchange.operation
        judged = exchange
        if stand_ins:
            judged = Exchange(
                method=exchange.method,
                url=exchange.url,
                status=exchange.status,
                headers={**stand_ins, **exchange.headers},
                body=exchange.body,
                operation=label,
                request_headers=exchange.request_headers,
            )
        try:
            self.validator.validate_exchange(judged, request_body or None, request_type)
        except ConformanceFailure as failure:
            failures.append(failure)
        else:
            self.collector.passed(label, "independent_response_validation")

    def _report(self, exchange: Exchange, request_id: str, failures: list[ConformanceFailure]) -> None:
        for found in failures:
            self.collector.failed(
                exchange.operation, found.check, found.message, reproduce=exchange.reproduce
            )
            first = found.received.splitlines()[0] if found.received else ""
            with self._lock:
                self.violations += 1
                self.printer(
                    f"VIOLATION {request_id} {exchange.describe()} [{found.check}] {first}"
                    f" (documented: {found.documented})"
                )

    def _documented_status(self, operation: Operation, status: int) -> bool:
        item = self.spec.resolve(self.spec.document["paths"][operation.path])
        responses = item[operation.method].get("responses", {})
        keys = {str(key).upper() for key in responses}
        return str(status) in keys or f"{str(status)[0]}XX" in keys or "DEFAULT" in keys


class ValidatingProxy:
    """The ASGI app: forwards to `upstream`, answers `/healthz` itself, hands each exchange to `Judge`."""

    def __init__(
        self,
        upstream: str,
        spec: Spec,
        *,
        printer: Printer = print,
        recorder: HarRecorder | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.spec = spec
        self.judge = Judge(spec, self.upstream, printer)
        self.recorder = recorder
        self.timeout = timeout
        self.started = time.perf_counter()
        self.started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.exchanges = 0
        self._ids = itertools.count(1)
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz" and scope["method"] in ("GET", "HEAD"):
            await self._health(send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await self._forward(scope, body, send)

    async def _health(self, send: Any) -> None:
        payload = json.dumps(
            {"status": "ok", "upstream": self.upstream, "exchanges": self.exchanges}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _forward(self, scope: Any, body: bytes, send: Any) -> None:
        import anyio

        method = scope["method"]
        client = self._http()
        request = self._upstream_request(client, scope, body)
        started = time.perf_counter()
        started_at = datetime.now(UTC)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            await self._bad_gateway(send, f"{type(exc).__name__}: {exc}")
            return
        media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        streamed = media in STREAMED
        try:
            content = await (self._relay_streamed if streamed else self._relay)(response, send)
        finally:
            await response.aclose()
        elapsed = time.perf_counter() - started
        exchange, request_id = self._exchange(scope, request, body, response, content, elapsed)
        if self.recorder is not None:
            self.recorder.record(
                method,
                str(request.url),
                dict(request.headers),
                body,
                response.status_code,
                dict(response.headers),
                content,
                elapsed=elapsed,
                started=started_at,
                comment=f"request id {request_id}",
            )
        request_type = exchange.request_headers.get("content-type", "application/json")
        await anyio.to_thread.run_sync(
            lambda: self.judge(exchange, request_id, body, request_type, body_judged=not streamed)
        )

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False)
        return self._client

    def _upstream_request(self, client: httpx.AsyncClient, scope: Any, body: bytes) -> httpx.Request:
        """The client's request, addressed to upstream, without hop-by-hop headers."""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        url = self.upstream + raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        return client.build_request(scope["method"], url, headers=headers, content=body or None)

    @staticmethod
    async def _relay_streamed(response: httpx.Response, send: Any) -> bytes:
        """Untouched: upstream's own framing headers and raw (still encoded) bytes, chunk by chunk; the
        first ``MAX_BODY`` bytes are kept for the record."""
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in HOP_BY_HOP
        ]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        kept: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            if size < MAX_BODY:
                kept.append(chunk[: MAX_BODY - size])
            size += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return b"".join(kept)

    @staticmethod
    async def _relay(response: httpx.Response, send: Any) -> bytes:
        """The whole (decoded) body, with its own length."""
        content = await response.aread()
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in ("content-length", "content-encoding")
        ]
        out.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": content})
        return content

    def _exchange(
        self,
        scope: Any,
        request: httpx.Request,
        body: bytes,
        response: httpx.Response,
        content: bytes,
        elapsed: float,
    ) -> tuple[Exchange, str]:
        """The exchange the judge sees, and its request id (upstream's, or a numbered one of ours)."""
        from conformance import redact

        method = scope["method"]
        number = next(self._ids)
        self.exchanges += 1
        response_headers = lower_headers(dict(response.headers))
        request_headers = lower_headers(dict(request.headers))
        request_id = response_headers.get("x-request-id") or f"proxy-{number:06d}"
        operation = self.spec.match(method, scope["path"])
        exchange = Exchange(
            method=method,
            url=str(request.url),
            status=response.status_code,
            headers=response_headers,
            body=content,
            operation=operation.label if operation else f"{method} {scope['path']}",
            elapsed=elapsed,
            request_headers=request_headers,
            reproduce=redact.curl(method, str(request.url), request_headers, body),
        )
        return exchange, request_id

    async def _bad_gateway(self, send: Any, reason: str) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "bad_gateway",
                    "message": f"upstream unreachable: {reason}",
                    "request_id": "-",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 502,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
        self.judge.printer(f"UPSTREAM-ERROR {reason}")

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def report(self) -> RunReport:
        """What the proxy saw, as a report every writer understands."""
        seen = sorted({result.operation for result in self.judge.collector.results()})
        notes = [f"Validating proxy in front of {self.upstream}: {self.exchanges} exchange(s) judged."]
        if self.judge.validator.unavailable:
            notes.append(f"Independent validation off: {self.judge.validator.unavailable}.")
        return RunReport(
            target=self.upstream,
            spec=str(self.spec.path),
            profile="proxy",
            seed=0,
            started_at=self.started_at,
            duration=time.perf_counter() - self.started,
            operations=[op.label for op in self.spec.operations if op.label in seen] or seen,
            results=self.judge.collector.results(),
            notes=notes,
            stats={"exchanges": self.exchanges, "violations": self.judge.violations},
            exchanges=self.recorder,
            mode="proxy: judges the traffic of a real client; sends nothing of its own",
        )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port), so the address is known before serving starts."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def serve(
    upstream: str,
    *,
    host: str,
    port: int,
    spec_path: Path | None,
    reports: Mapping[str, Path],
    printer: Printer,
) -> RunReport:
    """Serve until SIGINT/SIGTERM (uvicorn's handlers), then return the report of everything seen."""
    import uvicorn

    spec = Spec.load(spec_path)
    recorder = HarRecorder() if "har" in reports else None
    app = ValidatingProxy(upstream, spec, printer=printer, recorder=recorder)
    sock = bind(host, port)
    address = sock.getsockname()
    shown = f"[{address[0]}]" if ":" in address[0] else address[0]
    printer(f"care-conformance proxy: listening on http://{shown}:{address[1]} -> {upstream}")
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    if threading.current_thread() is threading.main_thread():
        # uvicorn re-raises a captured SIGINT/SIGTERM after shutting down, which would kill the process
        # before the reports are written; the proxy's own handlers just ask the server to stop.
        def stop(signum: int, frame: object) -> None:
            server.should_exit = True

        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
    server.run(sockets=[sock])
    sock.close()
    return app.report()
