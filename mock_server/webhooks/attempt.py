"""One delivery attempt over HTTP: sign, POST, time it, and judge the answer.

Why these rules (Standard Webhooks, Svix): only 2xx is success; a 3xx is a failure and is never
followed (a redirect could point anywhere, and the partner must fix the URL); ``410 Gone`` means
"stop", so the endpoint is disabled; any other answer, a timeout or a connection error is retried on
schedule, no sooner than the receiver's ``Retry-After``. The whole attempt — DNS, connect, send,
status and the first kilobyte of the answer — must finish within ``webhook_timeout_seconds``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from mock_server.webhooks import retry, signing, targets
from mock_server.webhooks.claims import SNIPPET_BYTES, Job, Outcome

ERROR_CHARS = 1000  # the delivery log's limit


async def attempt(
    transport: httpx.AsyncBaseTransport,
    job: Job,
    *,
    schedule: Sequence[float],
    timeout: float,
    allow_private: bool,
    rng: random.Random | None = None,
) -> Outcome:
    """Make ``job``'s attempt and describe it; never raises for anything the receiver does."""
    body = job.payload.encode("utf-8")
    attempted_at = datetime.now(UTC)
    headers = signing.delivery_headers(
        msg_id=job.event_id,
        timestamp=int(time.time()),
        body=body,
        secret=job.secret,
        previous_secret=job.previous_secret,
    )
    status_code: int | None = None
    snippet: str | None = None
    error: str | None = None
    retry_after: float | None = None
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            resp = await _send(transport, job.url, headers, body, allow_private=allow_private)
            try:
                status_code = resp.status_code
                retry_after = retry.parse_retry_after(resp.headers.get("retry-after"))
                snippet = await _snippet(resp)
            finally:
                await resp.aclose()
    except targets.TargetError as exc:
        error = f"refused target: {exc.message}"
    except httpx.InvalidURL as exc:
        error = f"invalid URL: {exc}"
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {timeout:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
    succeeded = status_code is not None and 200 <= status_code < 300
    gone = status_code == 410
    if status_code is not None and not succeeded:
        error = _status_error(status_code)
    retry_in = None
    if not succeeded and not gone:
        retry_in = retry.next_delay(schedule, job.attempt, retry_after=retry_after, rng=rng)
    return Outcome(
        job=job,
        attempted_at=attempted_at,
        succeeded=succeeded,
        status_code=status_code,
        latency_ms=latency_ms,
        response_snippet=snippet,
        error=error[:ERROR_CHARS] if error else None,
        retry_in=retry_in,
        finished_at=datetime.now(UTC),
        gone=gone,
    )


def _status_error(status_code: int) -> str:
    if 300 <= status_code < 400:
        return f"redirects are not followed (HTTP {status_code}); point the endpoint at the final URL"
    if status_code == 410:
        return "HTTP 410 Gone: the endpoint has been disabled"
    return f"non-2xx response (HTTP {status_code})"


async def _send(
    transport: httpx.AsyncBaseTransport,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    allow_private: bool,
) -> httpx.Response:
    """POST to the judged addresses in turn (as a connect by name tries each), never to another."""
    routes = await _routes(url, headers, allow_private=allow_private)
    for index, (routed, extensions) in enumerate(routes):
        request = httpx.Request("POST", routed, content=body, headers=headers, extensions=extensions)
        try:
            return await transport.handle_async_request(request)
        except httpx.ConnectError:
            if index == len(routes) - 1:
                raise
    raise AssertionError("unreachable: pinned_addresses returns at least one address")


async def _routes(
    url: str, headers: dict[str, str], *, allow_private: bool
) -> list[tuple[str, dict[str, Any]]]:
    """The URLs to connect to: each judged address, with the original Host header and TLS SNI.

    Pinned in every mode: a connection by name would resolve again, and the second answer (DNS
    rebinding, or a numeric spelling the URL parser reads differently) is one nobody judged.
    """
    target = targets.parse_target(url)
    pinned = await targets.pinned_addresses(target, allow_private=allow_private)
    original = httpx.URL(url)
    headers["Host"] = original.netloc.decode("ascii")
    extensions: dict[str, Any] = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return [(str(original.copy_with(host=str(address))), extensions) for address in pinned]


async def _snippet(resp: httpx.Response) -> str | None:
    """At most ``SNIPPET_BYTES`` of the answer, as text; a huge answer is not read to the end."""
    raw = b""
    async for chunk in resp.aiter_bytes():
        raw += chunk
        if len(raw) >= SNIPPET_BYTES:
            break
    if not raw:
        return None
    return raw[:SNIPPET_BYTES].decode("utf-8", "ignore")
