"""The target rule over HTTP (issue 12): refusals name the rule, and the delivery log is no port scanner."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.fixtures.sandbox import RunningSandbox

from .helpers import wait_until
from .receiver import Reply, running_receiver


def _subscribe(client: httpx.Client, url: str) -> httpx.Response:
    return client.post("/v1/webhooks", json={"url": url, "events": ["consent.granted"]})


def test_metadata_in_other_spellings_is_refused_with_the_rule_named(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        for url in ("http://2852039166/", "http://0xa9fea9fe/", "http://[64:ff9b::a9fe:a9fe]/"):
            resp = _subscribe(client, url)
            assert resp.status_code == 400, (url, resp.text)
            details = resp.json()["error"]["details"]
            assert details["reason"] == "metadata_address" and details["address"]
            assert "always refused" in details["rule"] and "private/loopback: allowed" in details["rule"]


def test_a_public_bind_refuses_private_targets_and_says_how_to_allow_them(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    public = sandbox_factory(host="0.0.0.0")  # the setting, not the socket: the fixture binds loopback
    with public.client() as client:
        resp = _subscribe(client, "http://2130706433:9000/hooks")  # 127.0.0.1
    assert resp.status_code == 400, resp.text
    details = resp.json()["error"]["details"]
    assert details["reason"] == "loopback_address"
    assert "--allow-private-webhook-targets" in details["rule"]


def test_the_delivery_log_shows_no_snippet_of_a_target_the_rule_now_refuses(
    sandbox_factory: Callable[..., RunningSandbox], database_url: str
) -> None:
    """An endpoint on a private address, delivered to while private targets were allowed; the same
    database served on a public bind must not show what that internal service answered."""
    laptop = sandbox_factory(database_url=database_url)
    with (
        running_receiver(default=Reply(200, b"internal admin page: secrets")) as rx,
        laptop.client() as client,
    ):
        endpoint = _subscribe(client, rx.url).json()
        assert client.post(f"/v1/webhooks/{endpoint['id']}/test").status_code == 202
        rx.wait_for(1)
        log_path = f"/v1/webhooks/{endpoint['id']}/deliveries"
        # the log also lists a delivery still queued (no attempt, no snippet yet): wait for the attempt
        wait_until(
            lambda: [d["status_code"] for d in client.get(log_path).json()["data"]] == [200],
            what="the attempt logged",
        )
        (seen,) = client.get(log_path).json()["data"]
    assert seen["response_snippet"] == "internal admin page: secrets"
    hosted = sandbox_factory(database_url=database_url, host="0.0.0.0", dispatcher=False)
    with hosted.client(laptop.api_key) as client:
        resp = client.get(log_path)
    assert resp.status_code == 200, resp.text
    (hidden,) = resp.json()["data"]
    assert hidden["response_snippet"] is None
    assert hidden["status_code"] == 200 and hidden["id"] == seen["id"]
