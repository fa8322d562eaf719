"""Read, size-limit, decode and validate a request body.

The size limit is enforced while reading, not only from ``Content-Length``, so a chunked upload
cannot exhaust memory before it is refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Receive

from mock_server.errors import ApiError
from mock_server.gateway.plan import OperationPlan

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def _empty_object(raw: bytes) -> bool:
    """True for a body that is the JSON object ``{}`` (any whitespace)."""
    try:
        return bool(orjson.loads(raw) == {})
    except orjson.JSONDecodeError:
        return False


def _json_object(raw: bytes) -> bool:
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError:
        return False


async def read_body(receive: Receive, limit: int, declared_length: str | None) -> bytes:
    if declared_length is not None:
        try:
            declared = int(declared_length)
        except ValueError as exc:
            raise ApiError(400, "validation_error", "Content-Length is not a number") from exc
        if declared > limit:
            raise ApiError(
                413, "payload_too_large", f"request body exceeds {limit} bytes", {"limit_bytes": limit}
            )
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "payload_too_large", f"request body exceeds {limit} bytes", {"limit_bytes": limit}
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def media_type_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply arrays and objects nest in ``value``, counting no further than ``limit + 1``.

    Iterative, so a deep body cannot exhaust Python's stack, and it stops at the first container past
    the limit. Why it exists: orjson parses up to 1,024 levels, but the schema validator recurses per
    level and fails ("Recursion limit reached") far earlier; a 1,000-deep body was a 500.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _check_depth(raw: bytes, body: Any, limit: int) -> None:
    # a body with no more brackets than the limit cannot nest deeper: the common case costs two
    # C-speed counts and no walk
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    if nesting_depth(body, limit) > limit:
        raise ApiError(
            400,
            "validation_error",
            f"request body nests arrays and objects more than {limit} levels deep",
            {"max_depth": limit},
        )


def decode_body(plan: OperationPlan, raw: bytes, content_type: str | None, max_depth: int = 32) -> Any:
    """Decode per the declared media types, refuse over-deep JSON, then validate against the schema."""
    if not plan.body_media_types:
        if raw.strip() and not _empty_object(raw):
            raise ApiError(400, "validation_error", f"{plan.method} {plan.path} takes no request body")
        return None  # nothing, or the `{}` many HTTP clients always send: the same request
    if not raw.strip():
        if plan.body_required:
            raise ApiError(
                400,
                "validation_error",
                "a request body is required",
                {"content_types": list(plan.body_media_types)},
            )
        return None
    media = media_type_of(content_type)
    if media is None and JSON in plan.body_media_types:
        media = JSON  # no Content-Type at all: read as JSON; invalid JSON still answers 400
    elif (
        media == FORM
        and FORM not in plan.body_media_types
        and JSON in plan.body_media_types
        and _json_object(raw)
    ):
        media = JSON  # `curl -d '{"days": 31}'` labels JSON as a form; a JSON object is no form here
    if media is None or media not in plan.body_media_types:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {content_type or '(none)'} is not accepted here",
            {"accepted": list(plan.body_media_types)},
        )
    if media == FORM:
        try:
            body: Any = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise ApiError(400, "validation_error", "form body is not valid UTF-8") from exc
    else:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
        _check_depth(raw, body, max_depth)
    validator = plan.body_validator
    if validator is not None and not validator.is_valid(body):
        errors = [
            {"path": "/" + "/".join(str(p) for p in error.instance_path), "message": error.message}
            for _, error in zip(range(10), validator.iter_errors(body), strict=False)
        ]
        raise ApiError(
            400, "validation_error", f"request body is invalid: {errors[0]['message']}", {"errors": errors}
        )
    return body
