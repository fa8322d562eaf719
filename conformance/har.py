"""Every exchange of a run (or of proxied traffic) as a HAR 1.2 log, secrets redacted.

HAR is what browsers, Insomnia, Postman and Charles import, so a failure found by the kit can be replayed
in whatever HTTP tool the partner already uses. Entries are recorded as plain data (no live objects) under
a lock: Schemathesis workers, the kit's own requests and the proxy's event loop all write here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance import redact

MAX_BODY = 256 * 1024  # bodies beyond this are cut (HAR readers choke on huge inline PDFs)
TEXT_TYPES = ("json", "text/", "xml", "x-www-form-urlencoded", "javascript")


@dataclass(frozen=True)
class Recorded:
    """One request/response pair, as sent and received."""

    started: datetime
    elapsed_ms: float
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    comment: str = ""


class HarRecorder:
    """Thread-safe list of `Recorded` exchanges; `log()` renders the HAR 1.2 document."""

    def __init__(self, creator: str = "care-conformance") -> None:
        self.creator = creator
        self._lock = threading.Lock()
        self._entries: list[Recorded] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def record(
        self,
        method: str,
        url: str,
        request_headers: Mapping[str, str],
        request_body: bytes | None,
        status: int,
        response_headers: Mapping[str, str],
        response_body: bytes,
        *,
        elapsed: float = 0.0,
        started: datetime | None = None,
        comment: str = "",
    ) -> None:
        entry = Recorded(
            started=started or datetime.now(UTC),
            elapsed_ms=max(0.0, elapsed * 1000),
            method=method.upper(),
            url=url,
            request_headers=tuple((str(k), str(v)) for k, v in request_headers.items()),
            request_body=request_body or b"",
            status=status,
            response_headers=tuple((str(k), str(v)) for k, v in response_headers.items()),
            response_body=response_body[:MAX_BODY],
            comment=comment,
        )
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[Recorded]:
        with self._lock:
            return list(self._entries)

    def log(self) -> dict[str, Any]:
        """The HAR 1.2 document (`{"log": {...}}`)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            kit_version = version("care-sandbox")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            kit_version = "0"
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": self.creator, "version": kit_version},
                "entries": [_entry(item) for item in self.entries()],
            }
        }


def _pairs(items: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in redact.headers(items)]


def _header(items: tuple[tuple[str, str], ...], name: str) -> str:
    return next((value for key, value in items if key.lower() == name), "")


def _is_text(media: str) -> bool:
    return any(part in media for part in TEXT_TYPES)


def _entry(item: Recorded) -> dict[str, Any]:
    parts = urlsplit(item.url)
    request_type = _header(item.request_headers, "content-type")
    response_type = _header(item.response_headers, "content-type")
    request: dict[str, Any] = {
        "method": item.method,
        "url": redact.url(item.url),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _pairs(item.request_headers),
        "queryString": [
            {"name": k, "value": redact.query_value(k, v)}
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(item.request_body),
    }
    if item.request_body:
        request["postData"] = {
            "mimeType": request_type or "application/octet-stream",
            "text": redact.body_text(item.request_body, request_type),
        }
    content: dict[str, Any] = {"size": len(item.response_body), "mimeType": response_type or "x-unknown"}
    if item.response_body:
        if _is_text(response_type.lower()):
            content["text"] = redact.body_text(item.response_body, response_type)
        else:
            import base64

            content["text"] = base64.b64encode(item.response_body).decode("ascii")
            content["encoding"] = "base64"
    entry: dict[str, Any] = {
        "startedDateTime": item.started.isoformat().replace("+00:00", "Z"),
        "time": round(item.elapsed_ms, 3),
        "request": request,
        "response": {
            "status": item.status,
            "statusText": _reason(item.status),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(item.response_headers),
            "content": content,
            "redirectURL": _header(item.response_headers, "location"),
            "headersSize": -1,
            "bodySize": len(item.response_body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(item.elapsed_ms, 3), "receive": 0},
    }
    if item.comment:
        entry["comment"] = item.comment
    return entry


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
