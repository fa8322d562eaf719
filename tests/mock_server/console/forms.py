"""Signing in to the console over plain HTTP as a browser does: read the sign-in form (which sets the
pre-session cookie) and post it back with its token."""

from __future__ import annotations

import re
from typing import Any

import httpx


def sign_in_token(client: httpx.Client) -> str:
    page = client.get("/console/sign-in")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and match is not None
    return match.group(1)


def sign_in(client: httpx.Client, api_key: str, **options: Any) -> httpx.Response:
    token = sign_in_token(client)
    return client.post("/console/sign-in", data={"csrf": token, "api_key": api_key}, **options)
