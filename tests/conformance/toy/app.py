"""A tiny, conformant implementation of toy/openapi.yaml: the kit's test target before (and beside) the
real sandbox. Two workspaces (keys `key-a`, `key-b`), pagination, date filters, idempotency, envelope."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

KEYS = {"key-a": "A", "key-b": "B"}
PATIENT_RE = re.compile(r"^p2c_anon_[a-z0-9]+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _entries(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"pe_{prefix}{i:03d}",
            "pain_level": (i * 7) % 11,
            "logged_at": (START + timedelta(hours=19 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for i in range(count)
    ]


def _workspaces() -> dict[str, dict[str, Any]]:
    return {
        "A": {
            "patients": {
                "p2c_anon_a1": {"id": "p2c_anon_a1", "condition": "fibromyalgia"},
                "p2c_anon_a2": {"id": "p2c_anon_a2", "condition": "migraine"},
            },
            "entries": {"p2c_anon_a1": _entries("a1", 23), "p2c_anon_a2": _entries("a2", 5)},
            "links": {},
            "idem": {},
        },
        "B": {
            "patients": {"p2c_anon_b1": {"id": "p2c_anon_b1", "condition": "migraine"}},
            "entries": {"p2c_anon_b1": _entries("b1", 4)},
            "links": {},
            "idem": {},
        },
    }


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=headers, media_type="application/json")


def _int(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, "invalid_parameter", f"{name} out of range")
    return value


def _date(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad(name)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be a date") from None


def _bad(name: str) -> date:
    raise ApiError(400, "invalid_parameter", f"{name} must be a date")


def _page(request: Request, items: list[dict[str, Any]]) -> Response:
    page = _int(request, "page", 1, 1, 10_000)
    per_page = _int(request, "per_page", 50, 1, 100)
    chunk = items[(page - 1) * per_page : page * per_page]
    return _json(
        200, {"data": chunk, "pagination": {"total": len(items), "page": page, "per_page": per_page}}
    )


def _workspace(request: Request) -> dict[str, Any]:
    key = request.headers.get("x-api-key")
    if key not in KEYS:
        raise ApiError(401, "invalid_api_key", "missing or invalid X-API-Key")
    return request.app.state.workspaces[KEYS[key]]  # type: ignore[no-any-return]


def _patient(request: Request) -> tuple[dict[str, Any], str]:
    ws = _workspace(request)
    patient_id = request.path_params["patient_id"]
    if not PATIENT_RE.match(patient_id) or patient_id not in ws["patients"]:
        raise ApiError(404, "not_found", "no such patient")
    return ws, patient_id


async def healthz(request: Request) -> Response:
    return _json(200, {"status": "ok"})


async def patients(request: Request) -> Response:
    ws = _workspace(request)
    return _page(request, list(ws["patients"].values()))


async def patient(request: Request) -> Response:
    ws, patient_id = _patient(request)
    return _json(200, ws["patients"][patient_id])


async def pain_entries(request: Request) -> Response:
    ws, patient_id = _patient(request)
    start, end = _date(request, "from"), _date(request, "to")
    items = [
        item
        for item in ws["entries"][patient_id]
        if (start is None or item["logged_at"][:10] >= start.isoformat())
        and (end is None or item["logged_at"][:10] <= end.isoformat())
    ]
    return _page(request, items)


async def create_link(request: Request) -> Response:
    ws = _workspace(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "invalid_json", "body is not JSON") from None
    if (
        not isinstance(body, dict)
        or set(body) - {"patient_email", "scopes", "message"}
        or not isinstance(body.get("message", ""), str | None)
        or len(body.get("message") or "") > 200
        or not isinstance(body.get("patient_email"), str)
        or not EMAIL_RE.match(body["patient_email"])
        or not isinstance(body.get("scopes"), list)
        or not body["scopes"]
        or any(scope != "pain:read" for scope in body["scopes"])
        or len(set(body["scopes"])) != len(body["scopes"])
    ):
        raise ApiError(422, "validation_error", "invalid link request")
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > 64:
        raise ApiError(400, "invalid_parameter", "Idempotency-Key too long")
    if key is not None and key in ws["idem"]:
        stored_body, stored = ws["idem"][key]
        if stored_body != body:
            raise ApiError(409, "idempotency_conflict", "key reused with another body")
        return _json(201, stored)
    link = {
        "request_id": f"lr_{next(request.app.state.counter)}",
        "status": "pending",
        "patient_email": body["patient_email"],
        "scopes": body["scopes"],
    }
    ws["links"][link["request_id"]] = link
    if key is not None:
        ws["idem"][key] = (body, link)
    return _json(201, link)


async def get_link(request: Request) -> Response:
    ws = _workspace(request)
    link = ws["links"].get(request.path_params["request_id"])
    if link is None:
        raise ApiError(404, "not_found", "no such link request")
    return _json(200, link)


def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        codes = {404: "not_found", 405: "method_not_allowed"}
        error = ApiError(
            exc.status_code,
            codes.get(exc.status_code, "invalid_parameter"),
            str(exc.detail),
            dict(exc.headers or {}),
        )
    elif isinstance(exc, ApiError):
        error = exc
    else:
        error = ApiError(500, "internal_error", "unexpected")
    request_id = request.scope.setdefault("request_id", f"req_{uuid.uuid4().hex[:12]}")
    body = {"error": {"code": error.code, "message": error.message, "request_id": request_id}}
    return _json(error.status, body, error.headers)


class Decorate:
    """X-Request-Id and X-RateLimit-* on every response, as the contract demands."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["request_id"] = f"req_{uuid.uuid4().hex[:12]}"

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-request-id", scope["request_id"].encode()),
                    (b"x-ratelimit-limit", b"1000"),
                    (b"x-ratelimit-remaining", b"999"),
                    (b"x-ratelimit-reset", b"60"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app() -> Any:
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/v1/patients", patients, methods=["GET"]),
            Route("/v1/patients/{patient_id}", patient, methods=["GET"]),
            Route("/v1/patients/{patient_id}/pain-entries", pain_entries, methods=["GET"]),
            Route("/v1/link-requests", create_link, methods=["POST"]),
            Route("/v1/link-requests/{request_id}", get_link, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _error, ApiError: _error, Exception: _error},
    )
    app.state.workspaces = _workspaces()
    app.state.counter = itertools.count(1)
    return Decorate(app)
