"""``Prefer: code=NNN`` and ``Prefer: example=NAME``, as Stoplight Prism users expect.

Integrators test their error handling by forcing any documented status; the body is the contract's
own example for that response (so it validates), with error examples' ``request_id`` replaced by the
real one. Only documented statuses can be forced; asking for another is a 400 that lists them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from mock_server.context import Reply
from mock_server.errors import ApiError
from mock_server.gateway.plan import HeaderPlan, OperationPlan, ResponsePlan
from mock_server.reports.sample import sample_pdf

PDF = "application/pdf"


def parse_prefer(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    prefs: dict[str, str] = {}
    for part in header.replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name and value:
            prefs[name.strip().lower()] = value.strip().strip('"')
    return prefs


def forced_reply(plan: OperationPlan, prefs: dict[str, str], request_id: str) -> Reply | None:
    """The forced response, or None when the request does not ask for one.

    It carries every header the contract requires for that status (``Retry-After`` agreeing with the
    body, ``Location``, ``Content-Disposition``, …) and a body of the documented media type: the
    contract's example, or a real PDF for ``application/pdf``, which has no example in YAML.
    """
    code_text = prefs.get("code")
    example_name = prefs.get("example")
    if code_text is None and example_name is None:
        return None
    if code_text is not None:
        if not code_text.isdigit() or int(code_text) not in plan.responses:
            raise ApiError(
                400,
                "validation_error",
                f"Prefer: code={code_text} is not a documented status of {plan.operation_id}",
                {"documented_statuses": plan.documented_statuses},
            )
        status = int(code_text)
    else:
        status = next((s for s in plan.documented_statuses if 200 <= s < 300), plan.documented_statuses[0])
    response = plan.responses[status]
    media, body = _forced_body(response, example_name, request_id)
    headers: dict[str, str] = {
        "Preference-Applied": ", ".join(f"{k}={v}" for k, v in prefs.items() if k in {"code", "example"})
    }
    for header in response.required_headers:
        headers[header.name] = _header_value(header, body)
    return Reply(status, body, headers, media_type=media)


def _forced_body(response: ResponsePlan, example_name: str | None, request_id: str) -> tuple[str | None, Any]:
    """(media type, body) of a forced response: a named example, the first one, or a synthesized one."""
    if example_name is not None:
        for media, named in response.examples.items():
            if example_name in named:
                return media, _prepared(media, named[example_name], request_id)
        raise ApiError(
            400,
            "validation_error",
            f"Prefer: example={example_name} is not an example of this response",
            {"examples": sorted(name for named in response.examples.values() for name in named)},
        )
    if not response.media_types:
        return None, None  # 204, 302: no body documented
    for media in response.media_types:
        named = response.examples.get(media) or {}
        if named:
            return media, _prepared(media, next(iter(named.values())), request_id)
    media = response.media_types[0]
    if media == PDF:
        return media, sample_pdf()
    return media, None  # nothing to send: the contract check reports the gap


def _prepared(media: str, value: Any, request_id: str) -> Any:
    if media.endswith("json"):
        return _with_request_id(copy.deepcopy(value), request_id)
    return value.encode() if isinstance(value, str) else bytes(value or b"")


_RETRY_IN_TEXT = re.compile(r"retry after (\d+) second", re.IGNORECASE)


def retry_after_in(body: Any) -> int | None:
    """The wait a body states: ``details.retry_after``, else "retry after N seconds" in its text."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        details = error.get("details")
        if isinstance(details, dict) and isinstance(details.get("retry_after"), int):
            return int(details["retry_after"])
        text = str(error.get("message", ""))
    else:
        text = " ".join(str(i.get("diagnostics", "")) for i in body.get("issue", []) if isinstance(i, dict))
    found = _RETRY_IN_TEXT.search(text)
    return int(found.group(1)) if found else None


def _header_value(header: HeaderPlan, body: Any) -> str:
    if header.name.lower() == "retry-after":
        stated = retry_after_in(body)
        if stated is not None:  # the header and the body must not disagree
            return str(stated)
    if header.example is not None:
        return str(header.example)
    return "0" if header.kind in ("integer", "number") else "forced"


def _with_request_id(value: Any, request_id: str) -> Any:
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        value["error"]["request_id"] = request_id
    return value
