"""``care-sandbox webhooks listen``: a local receiver that verifies and shows every delivery.

Like ``stripe listen``: it answers the sandbox the way a careful partner would (2xx only for a
fresh delivery whose signatures both verify), prints each event readably, and can forward the
delivery — body and signature headers untouched — to the integrator's own app, passing its status
back so the sandbox's retries reflect what the app answered. Given an API key it registers itself as
an endpoint, learns the secret, and deletes the endpoint when stopped.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import uvicorn
from rich.console import Console
from rich.markup import escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mock_server.webhook_tools.verify import Verdict, verify

FORWARDED_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature")


@dataclass
class Listener:
    """What the receiver knows: secrets to verify with, where to forward, what it has seen."""

    secrets: list[str]
    console: Console
    forward_to: str | None = None
    print_json: bool = False
    seen: set[str] = field(default_factory=set)
    received: list[dict[str, Any]] = field(default_factory=list)


def build_app(listener: Listener) -> Starlette:
    """The receiver as an ASGI app (any path, POST)."""

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        headers = dict(request.headers)
        verdict = verify(body, headers, listener.secrets) if listener.secrets else None
        msg_id = headers.get("webhook-id", "?")
        repeat = msg_id in listener.seen
        listener.seen.add(msg_id)
        status: int = 200
        answer: dict[str, Any] = {"received": True}
        if verdict is not None and not verdict.ok:
            status, answer = 400, {"received": False, "error": verdict.problem or "verification failed"}
        elif listener.forward_to:
            status, answer = await _forward(listener.forward_to, body, headers)
        payload = _json(body)
        listener.received.append({"id": msg_id, "payload": payload, "verdict": verdict, "status": status})
        _show(listener, payload, msg_id, verdict, status, repeat)
        return JSONResponse(answer, status_code=status)

    return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])


async def _forward(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST the delivery on unchanged, so the app under development can verify it itself."""
    sent = {k: v for k, v in headers.items() if k in FORWARDED_HEADERS or k == "x-p2c-signature"}
    try:
        async with httpx.AsyncClient(timeout=30.0, follow_redirects=False, trust_env=False) as client:
            resp = await client.post(url, content=body, headers=sent)
    except httpx.HTTPError as exc:
        return 502, {"received": False, "error": f"forwarding to {url} failed: {exc}"}
    return resp.status_code, {"forwarded_status": resp.status_code}


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _show(
    listener: Listener, payload: Any, msg_id: str, verdict: Verdict | None, status: int, repeat: bool
) -> None:
    event = payload.get("event", "?") if isinstance(payload, dict) else "(not JSON)"
    patient = payload.get("patient_id") if isinstance(payload, dict) else None
    when = datetime.now(UTC).strftime("%H:%M:%S")
    if verdict is None:
        check = "[yellow]unverified (no --secret)[/]"
    elif verdict.ok:
        check = "[green]✓ signatures[/]"
    else:
        check = f"[red]✗ {escape(verdict.problem or 'verification failed')}[/]"
    colour = "green" if 200 <= status < 300 else "red"
    line = f"{when}  [bold cyan]{escape(event):<22}[/] {escape(msg_id)}"
    if patient:
        line += f"  [dim]{escape(str(patient))}[/]"
    line += f"  {check}  [{colour}]→ {status}[/]"
    if repeat:
        line += "  [magenta](repeat: same webhook-id)[/]"
    listener.console.print(line, highlight=False)
    if listener.print_json and payload is not None:
        listener.console.print_json(data=payload)


@dataclass(frozen=True)
class Registration:
    """Register the listener as an endpoint of a running sandbox for the listener's lifetime."""

    base_url: str
    api_key: str
    events: Sequence[str]


def register(registration: Registration, url: str) -> tuple[str, str]:
    """Create the endpoint; returns (endpoint id, secret)."""
    with httpx.Client(base_url=registration.base_url, headers={"X-API-Key": registration.api_key}) as client:
        resp = client.post(
            "/v1/webhooks",
            json={
                "url": url,
                "events": list(registration.events),
                "description": "care-sandbox webhooks listen",
            },
        )
        if resp.status_code != 201:
            raise RuntimeError(f"could not register the listener: HTTP {resp.status_code} {resp.text[:300]}")
        created = resp.json()
    return str(created["id"]), str(created["secret"])


def unregister(registration: Registration, endpoint_id: str) -> None:
    with httpx.Client(base_url=registration.base_url, headers={"X-API-Key": registration.api_key}) as client:
        client.delete(f"/v1/webhooks/{endpoint_id}")


def run(
    *,
    host: str,
    port: int,
    secrets: list[str],
    console: Console,
    forward_to: str | None = None,
    print_json: bool = False,
    registration: Registration | None = None,
) -> None:
    """Serve until Ctrl-C."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound}/"
    endpoint_id = None
    if registration is not None:
        endpoint_id, secret = register(registration, url)
        secrets = [*secrets, secret]
        console.print(
            f"Registered endpoint [bold]{endpoint_id}[/] at {registration.base_url} (removed on exit)."
        )
    listener = Listener(secrets=secrets, console=console, forward_to=forward_to, print_json=print_json)
    console.print(f"Listening on [bold]{url}[/]" + (f", forwarding to {forward_to}" if forward_to else ""))
    if not secrets:
        console.print("[yellow]No --secret given: deliveries are shown but not verified.[/]")
    console.print("Press Ctrl-C to stop.")
    config = uvicorn.Config(build_app(listener), log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        if registration is not None and endpoint_id is not None:
            unregister(registration, endpoint_id)
