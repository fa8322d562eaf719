"""openapi-core as the independent second opinion.

Schemathesis validates its own cases; everything the kit sends itself (probes, scenarios) and every
webhook delivery it receives is validated here with openapi-core, a different implementation of the
same 3.1 rules, so no single validator is ever the only judge.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from conformance.errors import ConformanceFailure
from conformance.exchange import Exchange

if TYPE_CHECKING:
    from openapi_core import OpenAPI

    from conformance.spec import Spec


def _describe(exc: Exception) -> str:
    """openapi-core nests the useful part (`schema_errors`) in the cause chain; surface it."""
    parts = [str(exc) or type(exc).__name__]
    cause: BaseException | None = exc.__cause__ or exc.__context__
    depth = 0
    while cause is not None and depth < 4:
        errors = getattr(cause, "schema_errors", None)
        if errors:
            parts.extend(
                f"{'/'.join(str(p) for p in err.absolute_path) or '<body>'}: {err.message}"
                for err in list(errors)[:3]
            )
            break
        parts.append(str(cause))
        cause = cause.__cause__ or cause.__context__
        depth += 1
    return "; ".join(part for part in parts if part)


class IndependentValidator:
    """Validates exchanges and webhook bodies against the spec with openapi-core (thread-safe)."""

    def __init__(self, spec: Spec, base_url: str) -> None:
        self._spec = spec
        self._base_url = base_url
        self._openapi: OpenAPI | None = None
        self._lock = threading.Lock()
        self.unavailable: str | None = None

    @property
    def openapi(self) -> OpenAPI | None:
        """The openapi-core app, or None when it refuses the spec (the spec layer reports why)."""
        with self._lock:
            if self._openapi is None and self.unavailable is None:
                try:
                    self._openapi = self._spec.openapi_core(self._base_url)
                except Exception as exc:
                    self.unavailable = f"openapi-core cannot load the spec: {type(exc).__name__}"
            return self._openapi

    def validate_request(
        self, exchange: Exchange, request_body: bytes | None, request_content_type: str = "application/json"
    ) -> None:
        """Raise `ConformanceFailure` when a request (a client's, seen by the proxy) breaks the spec."""
        from openapi_core.templating.paths.exceptions import PathError

        openapi = self.openapi
        if openapi is None:
            return
        try:
            openapi.validate_request(self._request(exchange, request_body, request_content_type))
        except PathError:
            return
        except Exception as exc:
            raise ConformanceFailure(
                "independent_request_validation",
                f"{exchange.method.upper()} {exchange.path}: {_describe(exc)}",
                f"a request documented for {exchange.operation or exchange.path} (openapi-core)",
                operation=exchange.operation,
            ) from None

    def _request(self, exchange: Exchange, request_body: bytes | None, request_content_type: str) -> Any:
        from openapi_core.testing import MockRequest

        parts = urlsplit(exchange.url)
        return MockRequest(
            host_url=f"{parts.scheme}://{parts.netloc}",
            method=exchange.method.lower(),
            path=parts.path,
            args=dict(parse_qsl(parts.query)),
            headers=dict(exchange.request_headers),
            data=request_body,
            content_type=request_content_type,
        )

    def validate_exchange(
        self,
        exchange: Exchange,
        request_body: bytes | None = None,
        request_content_type: str = "application/json",
    ) -> None:
        """Raise `ConformanceFailure` when the response contradicts the spec for its operation."""
        from openapi_core.templating.paths.exceptions import PathError
        from openapi_core.testing import MockResponse

        request = self._request(exchange, request_body, request_content_type)
        response = MockResponse(
            data=exchange.body,
            status_code=exchange.status,
            headers=dict(exchange.headers),
            content_type=exchange.headers.get("content-type", ""),
        )
        openapi = self.openapi
        if openapi is None:
            return
        try:
            openapi.validate_response(request, response)
        except PathError:
            return  # not a documented path: status_code_conformance and friends speak to that
        except Exception as exc:
            raise ConformanceFailure(
                "independent_response_validation",
                f"{exchange.describe()}: {_describe(exc)}",
                f"a response documented for {exchange.operation or exchange.path} (openapi-core)",
                operation=exchange.operation,
            ) from None

    def validate_webhook(self, name: str, body: bytes, headers: dict[str, str]) -> None:
        """Raise `ConformanceFailure` when a delivery's body contradicts `webhooks: <name>`."""
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        if name not in self._spec.webhooks:
            raise ConformanceFailure(
                "webhook_payload_schema",
                f"a delivery of event {name!r}",
                f"one of the events under webhooks: {sorted(self._spec.webhooks)}",
            )

        class _WebhookRequest:
            def __init__(self) -> None:
                self.name = name
                self.method = "post"
                self.body = body
                self.content_type = headers.get("content-type", "application/json").lower()
                self.parameters = RequestParameters(
                    path={}, query=ImmutableMultiDict(), header=Headers(headers), cookie=ImmutableMultiDict()
                )

        openapi = self.openapi
        if openapi is None:
            return
        try:
            openapi.validate_webhook_request(_WebhookRequest())
        except Exception as exc:
            raise ConformanceFailure(
                "webhook_payload_schema",
                f"event {name!r}: {_describe(exc)}",
                f"the body schema of webhooks: {name}",
            ) from None
