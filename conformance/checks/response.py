"""Checks that judge a single response, whoever sent the request.

They run inside Schemathesis (as custom checks) on every generated case and on every response the
kit's probes and scenarios receive, so a missing header or a bare error body is caught wherever it
appears. Each returns True if it applied and passed, False if it does not apply, and raises
`ConformanceFailure` otherwise.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Collection
from typing import Any

from conformance.errors import ConformanceFailure
from conformance.exchange import NO_JSON, Exchange

RATE_LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
FHIR_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
ENVELOPE = '{"error": {"code": str, "message": str, "details"?: object, "request_id": str}}'


def is_fhir_path(path: str) -> bool:
    """FHIR paths answer errors with an OperationOutcome instead of the JSON envelope."""
    return "/fhir/" in path


def _snippet(body: bytes, limit: int = 160) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else ""))


def error_envelope(
    exchange: Exchange, codes: Collection[str] | None = None, *, rfc6749: bool = False
) -> bool:
    """Every 4xx/5xx body is the documented error envelope (FHIR: an OperationOutcome; the OAuth
    endpoints the contract documents with RFC 6749 bodies, `rfc6749=True`: see `oauth_error_body`).

    `codes`, when given (from the spec's error-code enum), also pins `error.code` to the documented set,
    which response-schema validation cannot do for statuses the spec does not list.
    """
    if exchange.status < 400 or exchange.method.upper() == "HEAD":
        return False
    name = "error_envelope"
    where = exchange.describe()
    body = exchange.json()
    if rfc6749:
        return oauth_error_body(exchange)
    if is_fhir_path(exchange.path):
        _check_operation_outcome(exchange, body)
        return True
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        raise ConformanceFailure(
            name, f"{where} with body {_snippet(exchange.body)}", ENVELOPE, operation=where
        )
    error: dict[str, Any] = body["error"]
    for key in ("code", "message", "request_id"):
        if not isinstance(error.get(key), str) or not error[key]:
            raise ConformanceFailure(
                name,
                f"{where}: error.{key} = {error.get(key)!r}",
                f"non-empty string error.{key}",
                operation=where,
            )
    details = error.get("details")
    if details is not None and not isinstance(details, dict):
        raise ConformanceFailure(name, f"{where}: error.details = {details!r}", "an object", operation=where)
    if codes and error["code"] not in codes:
        raise ConformanceFailure(
            name, f"{where}: error.code = {error['code']!r}", f"one of {sorted(codes)}", operation=where
        )
    header = exchange.header("x-request-id")
    if header and header != error["request_id"]:
        raise ConformanceFailure(
            name,
            f"{where}: error.request_id {error['request_id']!r} but X-Request-Id {header!r}",
            "error.request_id equal to the X-Request-Id header",
            operation=where,
        )
    return True


OAUTH_ERROR = '{"error": "<RFC 6749 code>", "error_description"?: str, "error_uri"?: str} (RFC 6749 §5.2)'


def _rfc6749_chars(value: str) -> bool:
    """RFC 6749 appendix A.7: printable ASCII except `"` and `\\`."""
    return bool(value) and all(0x20 <= ord(ch) <= 0x7E and ch not in '"\\' for ch in value)


def oauth_error_body(exchange: Exchange) -> bool:
    """An OAuth endpoint's error is an RFC 6749 section 5.2 body, and a 401 names its challenge.

    OAuth client libraries read `error` as a string; the API's own envelope there breaks them.
    """
    if exchange.status < 400 or exchange.method.upper() == "HEAD":
        return False
    name = "error_envelope"  # the envelope check's verdict, for endpoints documented with RFC 6749 bodies
    where = exchange.describe()
    body = exchange.json()
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        raise ConformanceFailure(
            name, f"{where} with body {_snippet(exchange.body)}", OAUTH_ERROR, operation=where
        )
    if not _rfc6749_chars(body["error"]):
        raise ConformanceFailure(name, f"{where}: error = {body['error']!r}", OAUTH_ERROR, operation=where)
    for key in ("error_description", "error_uri"):
        value = body.get(key)
        if value is not None and not (isinstance(value, str) and _rfc6749_chars(value)):
            raise ConformanceFailure(
                name, f"{where}: {key} = {value!r}", f"{key} a string of RFC 6749 characters", operation=where
            )
    if exchange.status == 401 and not exchange.header("www-authenticate"):
        raise ConformanceFailure(
            name,
            f"{where} without WWW-Authenticate",
            "a 401 names its challenge (RFC 6749 §5.2)",
            operation=where,
        )
    return True


def _check_operation_outcome(exchange: Exchange, body: Any) -> None:
    where = exchange.describe()
    documented = 'FHIR OperationOutcome {"resourceType": "OperationOutcome", "issue": [{severity, code}, …]}'
    if body is NO_JSON or not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        raise ConformanceFailure(
            "error_envelope", f"{where} with body {_snippet(exchange.body)}", documented, operation=where
        )
    issues = body.get("issue")
    if not isinstance(issues, list) or not issues:
        raise ConformanceFailure(
            "error_envelope", f"{where}: issue = {issues!r}", documented, operation=where
        )
    for issue in issues:
        if (
            not isinstance(issue, dict)
            or issue.get("severity") not in FHIR_SEVERITIES
            or not isinstance(issue.get("code"), str)
        ):
            raise ConformanceFailure(
                "error_envelope", f"{where}: issue {issue!r}", documented, operation=where
            )


def request_id_header(exchange: Exchange) -> bool:
    """Every response carries a non-empty X-Request-Id, so partners can quote it to support."""
    if not (exchange.header("x-request-id") or "").strip():
        where = exchange.describe()
        raise ConformanceFailure(
            "request_id_header",
            f"{where} without X-Request-Id",
            "X-Request-Id on every response",
            operation=where,
        )
    return True


def rate_limit_headers(exchange: Exchange) -> bool:
    """Every response carries consistent X-RateLimit-Limit/Remaining/Reset integers."""
    where = exchange.describe()
    values: dict[str, int] = {}
    for name in RATE_LIMIT_HEADERS:
        raw = exchange.header(name)
        if raw is None:
            raise ConformanceFailure(
                "rate_limit_headers",
                f"{where} without {_title(name)}",
                "X-RateLimit-Limit, -Remaining and -Reset on every response",
                operation=where,
            )
        try:
            values[name] = int(raw.strip())
        except ValueError:
            raise ConformanceFailure(
                "rate_limit_headers",
                f"{where}: {_title(name)}: {raw!r}",
                "a non-negative integer",
                operation=where,
            ) from None
        if values[name] < 0:
            raise ConformanceFailure(
                "rate_limit_headers",
                f"{where}: {_title(name)}: {raw!r}",
                "a non-negative integer",
                operation=where,
            )
    limit, remaining = values["x-ratelimit-limit"], values["x-ratelimit-remaining"]
    if remaining > limit:
        raise ConformanceFailure(
            "rate_limit_headers",
            f"{where}: Remaining {remaining} > Limit {limit}",
            "X-RateLimit-Remaining <= X-RateLimit-Limit",
            operation=where,
        )
    return True


def retry_after_on_429(exchange: Exchange) -> bool:
    """A 429 tells the client when to retry: Retry-After as delay-seconds or an HTTP-date."""
    if exchange.status != 429:
        return False
    where = exchange.describe()
    raw = (exchange.header("retry-after") or "").strip()
    if raw.isdigit():
        return True
    if raw and _is_http_date(raw):
        return True
    raise ConformanceFailure(
        "retry_after_on_429",
        f"{where} with Retry-After {raw or None!r}",
        "Retry-After: <seconds> or an HTTP-date on every 429",
        operation=where,
    )


def _is_http_date(raw: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(raw) is not None
    except (TypeError, ValueError):
        return False


def _title(name: str) -> str:
    return "-".join("RateLimit" if part == "ratelimit" else part.capitalize() for part in name.split("-"))


ResponseCheck = Callable[[Exchange], bool]
RESPONSE_CHECKS: tuple[ResponseCheck, ...] = (
    error_envelope,
    request_id_header,
    rate_limit_headers,
    retry_after_on_429,
)
