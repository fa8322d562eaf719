"""The one error type, and the one place it becomes the error envelope.

Every failure a client can see is an :class:`ApiError` by the time it is rendered::

    ApiError(status, code, message, details)
    ├── raised by handlers and the store (not_found, conflict, invalid_state_transition, …)
    ├── raised by the gateway (invalid_api_key, invalid_token, insufficient_scope,
    │   validation_error, invalid_parameter, invalid_json, unsupported_media_type,
    │   payload_too_large, rate_limit_exceeded, idempotency_conflict, forced_response)
    └── translated from what Connexion and Starlette raise themselves (routing 404/405,
        ProblemException) and, as a last resort, from any other exception (500 internal_error,
        logged with its traceback, never sent)

:func:`render` turns one into ``{"error": {"code", "message", "details"?, "request_id"}}`` — or a FHIR
OperationOutcome on ``/fhir`` paths, or RFC 6749's ``{"error", "error_description"}`` on the OAuth
endpoints — so the shape cannot drift between call sites.
"""

from __future__ import annotations

from typing import Any

import orjson

from mock_server.fhir.outcome import operation_outcome as fhir_outcome

FHIR_PREFIX = "/fhir/"
OAUTH_PATHS = frozenset({"/oauth/token", "/oauth/authorize"})
"""Endpoints that answer in RFC 6749's error shape, which OAuth client libraries parse, not the envelope."""

_OAUTH_REQUEST_CODES = frozenset(
    {"validation_error", "invalid_parameter", "invalid_json", "unsupported_media_type", "payload_too_large"}
)
"""The gateway's own refusals of a malformed request; RFC 6749 calls all of them ``invalid_request``."""

_FHIR_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    503: "transient",
}


class ApiError(Exception):
    """A failure with an HTTP status, a stable machine-readable code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.code!r}, {self.message!r})"


def not_found(what: str, ident: str | None = None) -> ApiError:
    details = {"resource": what} if ident is None else {"resource": what, "id": ident}
    return ApiError(404, "not_found", f"{what} not found", details)


def validation_error(message: str, **details: Any) -> ApiError:
    return ApiError(400, "validation_error", message, details or None)


def invalid_parameter(name: str, value: Any, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message, {"parameter": name, "value": value})


def unprocessable(message: str, errors: dict[str, list[str]]) -> ApiError:
    """422 with seed 003's field-error map, inside the envelope's ``details``."""
    return ApiError(422, "unprocessable_entity", message, {"errors": errors})


def conflict(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(409, code, message, details or None)


MAX_MESSAGE = 500
MAX_ECHO = 200


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_details(value: Any) -> Any:
    """Echoed client input is cut short: a 10 kB bad value must not come back as a 10 kB error."""
    if isinstance(value, str):
        return _clip(value, MAX_ECHO)
    if isinstance(value, dict):
        return {k: _clip_details(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clip_details(v) for v in value[:20]]
    return value


def envelope(error: ApiError, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": error.code,
        "message": _clip(error.message, MAX_MESSAGE),
        "request_id": request_id,
    }
    if error.details:
        body["details"] = _clip_details(error.details)
    return {"error": body}


def operation_outcome(error: ApiError, request_id: str) -> dict[str, Any]:
    """The FHIR R4 form of an error, for ``/fhir`` paths (built by the FHIR facade's own helper)."""
    # the FHIR facade may name the issue type itself (a valid search it does not implement is
    # `not-supported`, not `invalid`); otherwise the status says it
    issue = (error.details or {}).get("fhir_issue") or _FHIR_ISSUE_CODES.get(error.status, "exception")
    outcome = fhir_outcome(str(issue), _clip(error.message, MAX_MESSAGE))
    outcome["id"] = request_id.replace("_", "-")  # FHIR ids cannot contain "_"
    outcome["issue"][0]["details"] = {"text": error.code}
    return outcome


def rfc6749_text(text: str) -> str:
    """``text`` in the characters RFC 6749 allows in ``error_description`` (printable ASCII but ``"``
    and ``\\``), so strict client libraries accept it."""
    text = text.replace("…", "...").replace('"', "'").replace("\\", "/")
    return "".join(ch if 0x20 <= ord(ch) <= 0x7E else "?" for ch in text)


def oauth_body(error: ApiError) -> dict[str, Any]:
    """RFC 6749 section 5.2: ``{"error", "error_description"}``; the request id travels in X-Request-Id."""
    code = "invalid_request" if error.code in _OAUTH_REQUEST_CODES else error.code
    return {"error": code, "error_description": rfc6749_text(_clip(error.message, MAX_MESSAGE))}


def render(error: ApiError, request_id: str, path: str) -> tuple[bytes, str]:
    """Serialize ``error`` for ``path``; returns (body, media type)."""
    if path in OAUTH_PATHS:
        return orjson.dumps(oauth_body(error)), "application/json"
    if path.startswith(FHIR_PREFIX):
        return orjson.dumps(operation_outcome(error, request_id)), "application/fhir+json"
    return orjson.dumps(envelope(error, request_id)), "application/json"
