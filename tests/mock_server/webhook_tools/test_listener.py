"""The integrator's receiver: verification verdicts, answers, forwarding, and the CLI's help."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import httpx
import orjson
from click.testing import CliRunner
from rich.console import Console

from mock_server.webhook_tools import cli
from mock_server.webhook_tools.listener import Listener, build_app
from mock_server.webhook_tools.verify import verify
from mock_server.webhooks import signing
from tests.mock_server.webhooks.receiver import running_receiver

BODY = orjson.dumps(
    {
        "id": "evt_0123456789abcdef",
        "event": "webhook.test",
        "patient_id": None,
        "timestamp": "2026-05-04T09:00:00Z",
        "data": {"message": "hi"},
    }
)


def _headers(
    secret: str, *, body: bytes = BODY, at: int | None = None, previous: str | None = None
) -> dict[str, str]:
    return signing.delivery_headers(
        msg_id="evt_0123456789abcdef",
        timestamp=int(time.time()) if at is None else at,
        body=body,
        secret=secret,
        previous_secret=previous,
    )


def test_verdicts() -> None:
    secret, other = signing.new_secret(), signing.new_secret()
    assert verify(BODY, _headers(secret), [secret]).ok
    assert verify(BODY, _headers(secret, previous=other), [other]).standard  # old secret, during rotation
    assert not verify(BODY, _headers(secret, previous=other), [other]).p2c  # X-P2C uses the new one
    wrong = verify(BODY, _headers(secret), [other])
    assert not wrong.ok and "does not match" in (wrong.problem or "")
    stale = verify(BODY, _headers(secret, at=int(time.time()) - 600), [secret])
    assert not stale.standard and "stale" in (stale.problem or "")
    tampered = verify(BODY + b" ", _headers(secret), [secret])
    assert not tampered.standard and not tampered.p2c
    missing = verify(BODY, {k: v for k, v in _headers(secret).items() if k != "X-P2C-Signature"}, [secret])
    assert not missing.p2c and "missing" in (missing.problem or "")


def _post(listener: Listener, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async def go() -> httpx.Response:
        app = build_app(listener)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://listener"
        ) as client:
            return await client.post("/any/path", content=body, headers=headers)

    return asyncio.run(go())


def _listener(secrets: list[str], **kwargs: Any) -> tuple[Listener, io.StringIO]:
    out = io.StringIO()
    return Listener(secrets=secrets, console=Console(file=out, width=200), **kwargs), out


def test_listener_answers_200_only_when_verified_and_prints_the_event() -> None:
    secret = signing.new_secret()
    listener, out = _listener([secret])
    assert _post(listener, BODY, _headers(secret)).status_code == 200
    assert _post(listener, BODY, _headers(secret)).status_code == 200
    bad = _post(listener, BODY, _headers(signing.new_secret()))
    assert bad.status_code == 400 and "does not match" in bad.json()["error"]
    printed = out.getvalue()
    assert "webhook.test" in printed and "evt_0123456789abcdef" in printed and "✓ signatures" in printed
    assert "repeat: same webhook-id" in printed and "✗" in printed


def test_listener_without_secret_accepts_and_says_unverified() -> None:
    listener, out = _listener([])
    assert _post(listener, BODY, _headers(signing.new_secret())).status_code == 200
    assert "unverified" in out.getvalue()


def test_listener_forwards_verified_deliveries_with_their_headers() -> None:
    secret = signing.new_secret()
    with running_receiver() as app:
        listener, _ = _listener([secret], forward_to=app.url)
        resp = _post(listener, BODY, _headers(secret))
        (forwarded,) = app.wait_for(1)
    assert resp.status_code == 200 and resp.json() == {"forwarded_status": 200}
    assert forwarded.body == BODY
    assert signing.verify_p2c([secret], forwarded.body, forwarded.headers["x-p2c-signature"])
    assert forwarded.headers["webhook-id"] == "evt_0123456789abcdef"


def test_listener_passes_on_the_forward_targets_failure() -> None:
    secret = signing.new_secret()
    with running_receiver() as app:
        url = app.url
    listener, _ = _listener([secret], forward_to=url)  # nothing listens there any more
    assert _post(listener, BODY, _headers(secret)).status_code == 502


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    group = runner.invoke(cli.webhooks, ["--help"])
    assert group.exit_code == 0 and "Example:" in group.output
    for name in cli.webhooks.commands:
        result = runner.invoke(cli.webhooks, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example:" in result.output, name
    words = " ".join(runner.invoke(cli.webhooks, ["trigger", "--help"]).output.lower().split())
    assert "advances the workspace's test clock" in words


def test_events_command_lists_every_type() -> None:
    result = CliRunner().invoke(cli.webhooks, ["events"])
    assert result.exit_code == 0 and "pain_entry.created" in result.output.split()


def test_trigger_reports_an_unreachable_sandbox_cleanly() -> None:
    with running_receiver() as gone:
        url = gone.url.rsplit("/", 1)[0]
    result = CliRunner().invoke(
        cli.webhooks, ["trigger", "pain_entry.created", "--base-url", url, "--api-key", "k"]
    )
    assert result.exit_code != 0 and "cannot reach the sandbox" in result.output
    assert "Traceback" not in result.output
