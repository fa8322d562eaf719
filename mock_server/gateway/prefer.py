"""``Prefer: code=NNN`` and ``Prefer: example=NAME``, as Stoplight Prism users expect.

Integrators test their error handling by forcing any documented status; the body is the contract's
own example for that response (so it validates), with error examples' ``request_id`` replaced by the
real one. Only documented statuses can be forced; asking for another is a 400 that lists them.
"""

from __future__ import annotations

import copy
from typing import Any

from mock_server.context import Reply
from mock_server.errors import ApiError
from mock_server.gateway.plan import OperationPlan


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
    """The forced response, or None when the request does not ask for one."""
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
    media = next(iter(response.examples), None)
    headers: dict[str, str] = {
        "Preference-Applied": ", ".join(f"{k}={v}" for k, v in prefs.items() if k in {"code", "example"})
    }
    if status == 429:
        headers["Retry-After"] = "60"
    if media is None:
        return Reply(status, None, headers)
    examples = response.examples[media]
    if example_name is not None:
        if example_name not in examples:
            raise ApiError(
                400,
                "validation_error",
                f"Prefer: example={example_name} is not an example of this response",
                {"examples": sorted(examples)},
            )
        value = examples[example_name]
    elif examples:
        value = next(iter(examples.values()))
    else:
        return Reply(status, None, headers)
    if media.endswith("json"):
        body: Any = _with_request_id(copy.deepcopy(value), request_id)
        return Reply(status, body, headers, media_type=media)
    data = value.encode() if isinstance(value, str) else bytes(value or b"")
    return Reply(status, data, headers, media_type=media)


def _with_request_id(value: Any, request_id: str) -> Any:
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        value["error"]["request_id"] = request_id
    return value
