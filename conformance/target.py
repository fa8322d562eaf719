"""The implementation under test, as the kit's probes and scenarios talk to it.

Every response passing through `Target.request` is judged by the per-response checks and by the
independent openapi-core validator before the caller sees it, so the kit's own traffic is held to the
same contract as Schemathesis' generated cases.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from conformance import redact
from conformance.checks.response import RESPONSE_CHECKS, error_envelope
from conformance.errors import ConformanceFailure, KitError
from conformance.exchange import Exchange, lower_headers
from conformance.results import Collector
from conformance.spec import Spec
from conformance.validation import IndependentValidator

if TYPE_CHECKING:
    from conformance.har import HarRecorder
    from conformance.ledger import Ledger

REQUEST_COMPLETED = "request_completed"

USER_AGENT = "care-conformance"


class Target:
    """HTTP access to the API under test with the kit's checks applied to every response."""

    def __init__(
        self,
        base_url: str,
        spec: Spec,
        collector: Collector,
        credentials: Mapping[str, str],
        *,
        timeout: float = 10.0,
        validator: IndependentValidator | None = None,
        recorder: HarRecorder | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.spec = spec
        self.collector = collector
        self.credentials = dict(credentials)
        self.validator = validator
        self.recorder = recorder
        self.ledger = ledger
        self.client = httpx.Client(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )
        self.requests_sent = 0
        # Until the preflight has reached the server, a transport error means a wrong URL (exit 2);
        # afterwards it is the target failing mid-run, a conformance failure with its reproduction.
        self.reached = False
        self.last_curl = ""
        self.last_sent = 0.0

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        template: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
        validate: bool = True,
    ) -> Exchange:
        """Send one request to `template` (a documented path) and return the judged `Exchange`.

        Transport errors are not conformance verdicts the kit can explain; they surface as `KitError`
        (unreachable server) and stop the run.
        """
        path = template
        for name, value in (path_params or {}).items():
            path = path.replace("{" + name + "}", str(value))
        request_headers = dict(self.credentials if credentials is None else credentials)
        request_headers.update(headers or {})
        content, content_type = _encode_body(json_body, form, request_headers)
        started = time.perf_counter()
        request = self.client.build_request(
            method,
            self.base_url + path,
            params=params if isinstance(params, list) else dict(params or {}),
            content=content,
            headers=request_headers,
        )
        self.last_curl = redact.curl(method, str(request.url), dict(request.headers), content)
        self.last_sent = time.monotonic()
        operation = f"{method.upper()} {template}"
        response = self._send(request, method, operation, path)
        self.reached = True
        self.requests_sent += 1
        elapsed = time.perf_counter() - started
        if self.recorder is not None:
            self.recorder.record(
                method,
                str(request.url),
                dict(request.headers),
                content,
                response.status_code,
                dict(response.headers),
                response.content,
                elapsed=elapsed,
            )
        exchange = Exchange(
            method=method.upper(),
            url=str(response.request.url),
            status=response.status_code,
            headers=lower_headers(dict(response.headers)),
            body=response.content,
            operation=operation,
            elapsed=elapsed,
            request_headers=lower_headers(dict(response.request.headers)),
            reproduce=self.last_curl,
        )
        if self.ledger is not None:
            self.ledger.created(method, template, exchange, path_params)
        self.judge(exchange, request_body=content, request_content_type=content_type, validate=validate)
        return exchange

    def _send(self, request: httpx.Request, method: str, operation: str, path: str) -> httpx.Response:
        """Send; a transport error is kit misuse before the preflight reached the server (``KitError``),
        and a recorded ``request_completed`` failure after it."""
        try:
            return self.client.send(request)
        except httpx.TransportError as exc:
            if not self.reached:
                raise KitError(f"Cannot reach {self.base_url} ({method} {path}): {exc}") from None
            what = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
            failure = ConformanceFailure(
                REQUEST_COMPLETED,
                f"{method.upper()} {path} {what}: {type(exc).__name__} {exc}".strip(),
                "a response within --request-timeout",
                operation=operation,
                reproduce=self.last_curl,
            )
            self.collector.error(operation, REQUEST_COMPLETED, failure.message, reproduce=self.last_curl)
            raise failure from None

    def judge(
        self,
        exchange: Exchange,
        *,
        request_body: bytes | None = None,
        request_content_type: str = "application/json",
        validate: bool = True,
    ) -> None:
        """Run the per-response checks (and openapi-core) on `exchange`, recording each outcome."""
        operation = exchange.operation
        codes = self.spec.error_codes_for(exchange.path)
        rfc6749 = exchange.path in self.spec.rfc6749_error_paths
        for check in RESPONSE_CHECKS:
            try:
                if check is error_envelope:
                    applied = error_envelope(exchange, codes, rfc6749=rfc6749)
                else:
                    applied = check(exchange)
            except ConformanceFailure as failure:
                self.collector.failed(operation, failure.check, failure.message, reproduce=self.last_curl)
            else:
                if applied:
                    self.collector.passed(operation, check.__name__)
        if validate and self.validator is not None:
            try:
                self.validator.validate_exchange(exchange, request_body, request_content_type)
            except ConformanceFailure as failure:
                self.collector.failed(operation, failure.check, failure.message, reproduce=self.last_curl)
            else:
                if self.validator.unavailable is None:
                    self.collector.passed(operation, "independent_response_validation")


def body_of(exchange: Exchange) -> Any:
    """JSON body or None: probes and scenarios branch on shape, and checks already judged the rest."""
    value = exchange.json()
    return value if isinstance(value, dict | list) else None


def _encode_body(
    json_body: Any, form: Mapping[str, str] | None, headers: dict[str, str]
) -> tuple[bytes | None, str]:
    """The request body and its media type (JSON unless a form is given); sets Content-Type unless
    the caller did."""
    if json_body is not None:
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(json_body).encode(), "application/json"
    if form is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urlencode(dict(form)).encode(), "application/x-www-form-urlencoded"
    return None, "application/json"
