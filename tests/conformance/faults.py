"""Deliberately broken variants of any implementation: a reverse proxy that corrupts traffic.

`FaultProxy(upstream, faults, primary_key)` forwards to a running server (the toy or the sandbox) and
breaks the contract in the ways listed in `FAULTS`, each of which the kit must catch under the check
named there. A proxy rather than a patched app keeps the server under test untouched and running.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

# fault -> the check that must fire
FAULTS = {
    "drop_required_field": "response_schema_conformance",
    "wrong_type": "response_schema_conformance",
    "undocumented_status": "status_code_conformance",
    "missing_request_id": "request_id_header",
    "missing_rate_limit": "rate_limit_headers",
    "bare_error": "error_envelope",
    "server_error": "not_a_server_error",
    "leak_other_workspace": "tenant_isolation",
    "ignore_date_filter": "date_filter_respected",
    "repeat_pages": "pagination_invariants",
    "ignore_idempotency": "idempotent_replay",
    "ignore_scopes": "scope_enforcement",
    "grant_only_reads": "narrow_token_reads",
    "serve_revoked_reports": "report_access_after_revocation",
    "rate_limited_no_retry_after": "retry_after_on_429",
    "bad_webhook_secret": "webhook_signature",
    "ignore_auth": "ignored_auth",
    "ignore_revocation": "consent_lifecycle",
    "broken_pdf": "pdf_content",
    "foreign_observations": "fhir_content",
    "clock_stuck": "sandbox_clock",
}
HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}
DATE_PARAMS = {"from", "to", "start_date", "end_date"}


class FaultProxy:
    """ASGI app forwarding to `upstream` with `faults` applied; one pooled client, closed at shutdown."""

    def __init__(self, upstream: str, faults: set[str], primary_key: str | None = None) -> None:
        unknown = faults - set(FAULTS)
        assert not unknown, f"unknown faults {unknown}"
        self.upstream = upstream.rstrip("/")
        self.faults = faults
        self.primary_key = primary_key
        self.seen_primary: dict[str, dict[str, Any]] = {}
        self._client: httpx.AsyncClient | None = None  # created on the server's own event loop

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method, path = scope["method"], scope["path"]
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        headers = {
            k.decode().lower(): v.decode() for k, v in scope["headers"] if k.decode().lower() not in HOP
        }
        key = headers.get("x-api-key")
        is_primary = key is not None and key == self.primary_key
        short = self._short_circuit(method, path, headers, is_primary)
        if short is not None:
            status, out_headers, content = short
        else:
            original = list(query)
            query, headers = self._request_faults(method, path, query, headers)
            raw_query = (
                scope.get("query_string", b"").decode("latin-1") if query == original else urlencode(query)
            )
            raw_path = scope.get("raw_path", path.encode()).decode("latin-1")
            url = httpx.URL(self.upstream + raw_path + ("?" + raw_query if raw_query else ""))
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=60)
            response = await self._client.request(method, url, content=body, headers=headers)
            status = response.status_code
            out_headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in HOP}
            content = response.content
            status, out_headers, content = self._response_faults(
                method, path, dict(query), status, out_headers, content, is_primary, key
            )
        out_headers["content-length"] = str(len(content))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in out_headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        """Close the pooled upstream client on the loop that opened it."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _short_circuit(
        self, method: str, path: str, headers: dict[str, str], is_primary: bool
    ) -> tuple[int, dict[str, str], bytes] | None:
        common = {
            "content-type": "application/json",
            "x-request-id": "req_fault",
            "x-ratelimit-limit": "100",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "60",
        }
        if "rate_limited_no_retry_after" in self.faults and method == "GET" and path == "/healthz":
            body = {
                "error": {"code": "rate_limit_exceeded", "message": "slow down", "request_id": "req_fault"}
            }
            return 429, common, json.dumps(body).encode()
        if (
            "leak_other_workspace" in self.faults
            and method == "GET"
            and not is_primary
            and headers.get("x-api-key")
        ):
            ident = path.rsplit("/", 1)[-1]
            if path.startswith("/v1/patients/") and path.count("/") == 3 and ident in self.seen_primary:
                return (
                    200,
                    {**common, "x-ratelimit-remaining": "99"},
                    json.dumps(self.seen_primary[ident]).encode(),
                )
        return None

    def _request_faults(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str]
    ) -> tuple[list[tuple[str, str]], dict[str, str]]:
        if "ignore_date_filter" in self.faults:
            query = [(k, v) for k, v in query if k not in DATE_PARAMS]
        if "repeat_pages" in self.faults:
            query = [(k, "1") if k == "page" else (k, v) for k, v in query]
        if "ignore_idempotency" in self.faults:
            headers.pop("idempotency-key", None)
        if (
            "ignore_scopes" in self.faults
            and headers.get("authorization", "").startswith("Bearer ")
            and self.primary_key
        ):
            headers.pop("authorization")
            headers["x-api-key"] = self.primary_key
        if (
            "grant_only_reads" in self.faults  # a server filtering by the patient's grant alone
            and headers.get("authorization", "").startswith("Bearer ")
            and self.primary_key
            and (path.endswith("/timeline") or path == "/fhir/r4/Observation")
        ):
            headers.pop("authorization")
            headers["x-api-key"] = self.primary_key
        if (
            "ignore_auth" in self.faults
            and self.primary_key
            and not headers.get("x-api-key")
            and not headers.get("authorization")
            and path.startswith("/v1/patients")
        ):
            headers["x-api-key"] = self.primary_key
        return query, headers

    def _response_faults(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        status: int,
        headers: dict[str, str],
        content: bytes,
        is_primary: bool,
        key: str | None,
    ) -> tuple[int, dict[str, str], bytes]:
        faults = self.faults
        data: Any = None
        if "json" in headers.get("content-type", ""):
            try:
                data = json.loads(content)
            except ValueError:
                data = None
        if isinstance(data, dict) and 200 <= status < 300:
            items = data.get("data") if isinstance(data.get("data"), list) else None
            if method == "GET" and path == "/v1/patients" and items is not None:
                if is_primary:
                    self.seen_primary.update({item["id"]: item for item in items if isinstance(item, dict)})
                elif "leak_other_workspace" in faults and key and self.seen_primary:
                    items.append(next(iter(self.seen_primary.values())))
            if "drop_required_field" in faults:
                target = items[0] if items else data
                if isinstance(target, dict):
                    target.pop("id", None) if "id" in target else target.pop("request_id", None)
            if "wrong_type" in faults and isinstance(data.get("pagination"), dict):
                data["pagination"]["total"] = str(data["pagination"].get("total"))
            if "repeat_pages" in faults and isinstance(data.get("pagination"), dict) and "page" in query:
                data["pagination"]["page"] = int(query["page"]) if query["page"].isdigit() else query["page"]
            if (
                "bad_webhook_secret" in faults
                and method == "POST"
                and path == "/v1/webhooks"
                and "secret" in data
            ):
                data["secret"] = "whsec_" + base64.b64encode(b"not-the-secret-you-sign-with!!").decode()
            content = json.dumps(data).encode()
        if (
            "ignore_revocation" in faults
            and status == 403
            and method == "GET"
            and b"consent_revoked" in content
        ):
            status = 200
            content = json.dumps({"data": [], "pagination": {"total": 0, "page": 1, "per_page": 50}}).encode()
        if (
            "serve_revoked_reports" in faults
            and status == 403
            and path.startswith("/v1/reports/")
            and b"consent_revoked" in content
        ):
            status, content = 200, b"%PDF-1.4 made before the revocation"
            headers["content-type"] = "application/pdf"
        if "broken_pdf" in faults and headers.get("content-type", "").startswith("application/pdf"):
            content = content[:200]
        if "foreign_observations" in faults and isinstance(data, dict) and data.get("entry"):
            data["entry"][0]["resource"]["subject"] = {"reference": "Patient/p2c-anon-someone-else"}
            content = json.dumps(data).encode()
        if "clock_stuck" in faults and path == "/v1/sandbox/clock" and isinstance(data, dict):
            data["offset_seconds"] = 0
            content = json.dumps(data).encode()
        if "bare_error" in faults and status >= 400:
            content = json.dumps({"message": "something went wrong"}).encode()
            headers["content-type"] = "application/json"
        if (
            "server_error" in faults
            and method == "GET"
            and path.startswith("/v1/patients/")
            and path.count("/") == 3
        ):
            status = 500
            content = json.dumps(
                {
                    "error": {
                        "code": "internal_error",
                        "message": "boom",
                        "request_id": headers.get("x-request-id", "req_x"),
                    }
                }
            ).encode()
        if "undocumented_status" in faults and method == "GET" and path == "/v1/patients" and status == 200:
            status = 207
        if "missing_request_id" in faults:
            headers.pop("x-request-id", None)
        if "missing_rate_limit" in faults:
            for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
                headers.pop(name, None)
        return status, headers, content
