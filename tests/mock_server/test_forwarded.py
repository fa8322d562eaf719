"""``X-Forwarded-For`` is believed only from configured proxies (``--forwarded-allow-ips``).

uvicorn's default believes it from 127.0.0.1, so any local caller could name a fresh address per
request and get a fresh anonymous rate-limit bucket (and grow the bucket map without bound). Started
through the real CLI, as an operator would: by default every spoofed address lands in the caller's
one bucket; only with the proxy configured do forwarded addresses count as clients of their own.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fixtures.fleet import PROJECT, cli, fleet_env, free_port, stop, wait_healthy

PATH = "/.well-known/oauth-authorization-server"  # public: counted in the caller's address bucket


def _remaining(base_url: str, spoofed: str) -> int:
    answer = httpx.get(base_url + PATH, headers={"X-Forwarded-For": spoofed}, timeout=30)
    assert answer.status_code == 200
    return int(answer.headers["x-ratelimit-remaining"])


@pytest.mark.parametrize("trusted", [None, "127.0.0.1"])
def test_forwarded_for_only_from_configured_proxies(tmp_path: Path, trusted: str | None) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = cli(
        "serve",
        "--no-dispatcher",
        "--no-demo",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{tmp_path / 'forwarded.sqlite3'}",
    )
    if trusted:
        command += ["--forwarded-allow-ips", trusted]
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=fleet_env(), stdout=log, stderr=log, cwd=PROJECT)
        try:
            wait_healthy(base_url, server, log_path)
            seen = [_remaining(base_url, f"203.0.113.{i}") for i in range(1, 5)]
        finally:
            stop(server)
    if trusted:  # each forwarded client has its own bucket: every first request sees a full one
        assert len(set(seen)) == 1, seen
    else:  # one caller, one bucket, whatever it claims
        assert seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen), seen
