"""Swagger UI 5 is served from the package (no CDN) and the served document names this server."""

from __future__ import annotations

import re

import httpx

from mock_server import swagger_ui
from tests.fixtures.sandbox import RunningSandbox


def test_ui_is_swagger_ui_5_from_the_package(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        page = client.get("/ui/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        scripts = re.findall(r'src="([^"]+)"', page.text) + re.findall(r'href="([^"]+)"', page.text)
        assert scripts and all(s.startswith("./") for s in scripts), scripts  # nothing from a CDN
        for asset in scripts:
            resp = client.get("/ui/" + asset[2:])
            assert resp.status_code == 200, asset
        bundle = client.get("/ui/swagger-ui-bundle.js").content
        assert bundle == (swagger_ui.DIRECTORY / "swagger-ui-bundle.js").read_bytes()
        assert client.get("/ui/oauth2-redirect.html").status_code == 200
        assert client.get("/ui").status_code in (200, 307)  # redirect to /ui/
    assert swagger_ui.VERSION.split(".")[0] == "5"
    assert '"/ui/oauth2-redirect.html"' in page.text or "/ui/oauth2-redirect.html" in page.text


def test_served_document_lists_this_server_relative_to_the_host(sandbox: RunningSandbox) -> None:
    document = httpx.get(f"{sandbox.base_url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"][0]["url"] == "/"
    assert document["servers"][0]["description"]
