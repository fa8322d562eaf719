"""The outermost layer: request ids, credentials, rate limits, common headers, and the error path.

Why it sits outside Connexion: every response — routed or not, success or failure, Swagger UI
included — must carry ``X-Request-Id`` and ``X-RateLimit-*``, and every failure, including the 404/405
Starlette's router raises and any exception nobody expected, must leave as the error envelope. One
``try`` here is the single place where exceptions become responses; a traceback is logged, never sent.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from connexion.exceptions import ProblemException
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.auth.principals import PrincipalResolver
from mock_server.console.api import CONSOLE_SCOPE_FLAG
from mock_server.context import Principal
from mock_server.errors import ApiError, render
from mock_server.middleware.access_log import access_line, access_logger
from mock_server.middleware.rate_limit import RateLimiter, Verdict
from mock_server.middleware.state import RequestState
from mock_server.storage.errors import database_unavailable

CONSOLE_RATE_FACTOR = 10
"""The console's calls count in a bucket of their own, ten times the key's hourly limit: an open
Events page polls every 2 s (1,800 calls an hour), which must neither spend the quota the
integrator's own client is testing against nor stop the console; the bound still caps a script
that drives the console instead of the API."""

CONSOLE_LIMIT_NAME = "the console's own rate limit"

log = logging.getLogger("care_sandbox.edge")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_PROBLEM_CODES = {
    400: "validation_error",
    401: "invalid_token",
    403: "insufficient_scope",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "rate_limit_exceeded",
}


def _code(status: int) -> str:
    """A contract error code for a status raised by a library (the envelope's code is an enum)."""
    return _PROBLEM_CODES.get(status, "validation_error" if status < 500 else "internal_error")


def allowed_methods_from(document: dict[str, Any]) -> Callable[[str], list[str]]:
    """The contract's methods for a concrete path, for a 405's ``Allow`` header.

    Starlette's router reports only the methods of the first route whose path matched, but the
    contract declares several routes per path (GET and DELETE of one resource), so ``Allow`` is
    computed from the document instead.
    """
    table = []
    for template, item in document.get("paths", {}).items():
        pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
        methods = {m.upper() for m in item if m in {"get", "post", "put", "patch", "delete"}}
        if "GET" in methods:
            methods.add("HEAD")
        table.append((pattern, sorted(methods)))

    def allowed(path: str) -> list[str]:
        for pattern, methods in table:
            if pattern.match(path):
                return methods
        return []

    return allowed


def unavailable() -> ApiError:
    return ApiError(
        503,
        "service_unavailable",
        "the sandbox's database is unavailable; retry after 1 second",
        {"retry_after": 1},
        headers={"Retry-After": "1"},
    )


def as_api_error(
    exc: BaseException, method: str, path: str, allowed: Callable[[str], list[str]] | None = None
) -> ApiError:
    """Translate anything raised below into the one error type."""
    if isinstance(exc, ApiError):
        return exc
    if database_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", method, path, exc.__class__.__name__)
        return unavailable()
    if isinstance(exc, HTTPException):
        if exc.status_code == 404:
            return ApiError(404, "not_found", f"no operation at {method} {path}")
        if exc.status_code == 405:
            if allowed is not None and allowed(path):
                allow = ", ".join(allowed(path))
                return ApiError(
                    405,
                    "method_not_allowed",
                    f"{method} is not allowed on {path}",
                    {"allowed": allow},
                    headers={"Allow": allow},
                )
            return ApiError(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {path}",
                {"allowed": (exc.headers or {}).get("Allow", "")},
                headers=dict(exc.headers or {}),
            )
        return ApiError(exc.status_code, _code(exc.status_code), str(exc.detail))
    if isinstance(exc, ProblemException):
        return ApiError(exc.status, _code(exc.status), str(exc.detail or exc.title))
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return ApiError(500, "internal_error", "the sandbox failed unexpectedly; the error has been logged")


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        resolver: PrincipalResolver,
        limiter: RateLimiter,
        default_limit: int,
        public_base_url: str = "",
        observe: Callable[[str, str, int, float], None] | None = None,
        allowed_methods: Callable[[str], list[str]] | None = None,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.access_log = access_logger() if access_log else None
        self.observe = observe
        self.allowed_methods = allowed_methods
        self.resolver = resolver
        self.limiter = limiter
        self.default_limit = default_limit
        self.public_base_url = public_base_url.rstrip("/")

    def _count(self, scope: Scope, principal: Principal | None, console: bool) -> tuple[Verdict, Verdict]:
        """Count the request against its rate limit: the verdict that admits or refuses it, and the
        state its headers show. A console call is counted in the console's own bucket, and its headers
        show the key's state, unspent (see ``CONSOLE_RATE_FACTOR``)."""
        if principal is not None:
            bucket, limit = principal.credential_id, principal.rate_limit_per_hour
        else:
            bucket, limit = f"anon:{(scope.get('client') or ('unknown', 0))[0]}", self.default_limit
        try:
            if console:
                verdict = self.limiter.hit(f"console:{bucket}", limit * CONSOLE_RATE_FACTOR)
                return verdict, self.limiter.peek(bucket, limit)
            verdict = self.limiter.hit(bucket, limit)
            return verdict, verdict
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            # counting is impossible while the database is away; fail open: the request itself will
            # meet the same outage and answer 503, and nothing is served uncounted for long
            log.warning("rate limit not counted for %s: database unavailable", bucket)
            uncounted = Verdict.uncounted(limit)
            return uncounted, uncounted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else f"req_{secrets.token_hex(12)}"
        state = RequestState(request_id, headers, self._base_url(scope, headers))
        try:
            principal, auth_error = self.resolver.resolve(headers)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            principal, auth_error = None, unavailable()  # public operations (health) still answer
        state.principal, state.auth_error = principal, auth_error
        console = principal is not None and bool(scope.get(CONSOLE_SCOPE_FLAG))
        verdict, shown = self._count(scope, principal, console)
        common = [
            (b"x-request-id", request_id.encode("latin-1")),
            (b"x-ratelimit-limit", str(shown.limit).encode()),
            (b"x-ratelimit-remaining", str(shown.remaining).encode()),
            (b"x-ratelimit-reset", str(shown.reset).encode()),
        ]
        scope["care"] = state
        started = False
        began = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if self.observe is not None:
                    self.observe(
                        state.operation_id or "unmatched",
                        scope.get("method", "GET"),
                        int(message["status"]),
                        time.perf_counter() - began,
                    )
                if self.access_log is not None:
                    self._log_access(scope, int(message["status"]), began, request_id)
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in common if h[0] not in present),
                ]
            await send(message)

        try:
            if not verdict.allowed:
                # read once: retry_after counts down with the clock, and the header, the message and
                # details.retry_after must state the same wait
                wait = verdict.retry_after
                raise ApiError(
                    429,
                    "rate_limit_exceeded",
                    f"{CONSOLE_LIMIT_NAME if console else 'rate limit'} of {verdict.limit} requests per hour "
                    f"exceeded; retry after {wait} seconds",
                    {"limit": verdict.limit, "retry_after": wait},
                    headers={"Retry-After": str(wait)},
                )
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # the one place exceptions become responses
            error = as_api_error(
                exc, scope.get("method", "GET"), scope.get("path", "/"), self.allowed_methods
            )
            if started:
                log.error("error after the response started on %s: %r", scope.get("path"), error)
                return
            await self._send_error(error, state, scope, send_with_headers)

    def _log_access(self, scope: Scope, status: int, began: float, request_id: str) -> None:
        assert self.access_log is not None
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope.get("path", "/") + (f"?{query}" if query else "")
        client = (scope.get("client") or ("-", 0))[0]
        millis = (time.perf_counter() - began) * 1000
        line = access_line(client, scope.get("method", "GET"), target, status, millis, request_id)
        self.access_log.info(line)

    async def _send_error(self, error: ApiError, state: RequestState, scope: Scope, send: Send) -> None:
        body, media = render(error, state.request_id, scope.get("path", "/"))
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", media.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items())
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body if scope.get("method") != "HEAD" else b""})

    def _base_url(self, scope: Scope, headers: dict[str, str]) -> str:
        if self.public_base_url:
            return self.public_base_url
        host = headers.get("host")
        if not host:
            server: Any = scope.get("server") or ("127.0.0.1", 80)
            host = f"{server[0]}:{server[1]}"
        return f"{scope.get('scheme', 'http')}://{host}"


async def not_found_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Innermost app: reached only when no operation matched the path."""
    raise ApiError(404, "not_found", f"no operation at {scope.get('method')} {scope.get('path')}")
