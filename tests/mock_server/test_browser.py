"""In a real browser (Debian's chromium driven by Playwright): Swagger UI renders every operation and
calls the sandbox after Authorize, and a page on another origin calls it with fetch (CORS).

Skipped, with the reason, only when no chromium is installed (``.ci/run`` installs it with apt).
Screenshots land in the test's temporary directory (``--basetemp`` to keep them).
"""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.sandbox import RunningSandbox

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()),
    shutil.which("chromium"),
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium installed (apt-get install -y chromium; .ci/run does it)"
)
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def test_swagger_ui_renders_every_operation_and_tries_one_out(
    page: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    document = httpx.get(f"{sandbox.base_url}/openapi.json").json()
    operations = [
        op for item in document["paths"].values() for method, op in item.items() if method in METHODS
    ]
    webhooks = sum(1 for item in document["webhooks"].values() for method in item if method in METHODS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{sandbox.base_url}/ui/")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() == len(operations) + webhooks
    rendered = set(page.evaluate("[...document.querySelectorAll('.opblock')].map(e => e.id)"))
    for op in operations:  # every operation, under its tag, by its operationId
        dom_id = (
            f"operations-{op['tags'][0].replace(' ', '_')}-{op['operationId'].replace('.', chr(92) + '.')}"
        )
        assert dom_id in rendered, op["operationId"]
    assert page.locator("text=Unable to render this definition").count() == 0
    assert page.locator(".servers select option").first.get_attribute("value") == "/"
    page.screenshot(path=str(tmp_path / "swagger-ui.png"), full_page=False)

    page.click("button.authorize")
    modal = page.locator(".modal-ux")
    modal.locator("input[type=text], input[type=password]").first.fill(sandbox.api_key)
    modal.locator("button.modal-btn.authorize").first.click()
    modal.locator("button.btn-done").first.click()

    block = _try_patients_search(page)
    body = block.locator(".live-responses-table .response-col_description pre").first.inner_text()
    assert '"data"' in body and '"pagination"' in body
    page.screenshot(path=str(tmp_path / "swagger-ui-try-it-out.png"), full_page=False)
    assert not errors, errors


class _Page(http.server.BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A second local server: the clinic's web app, on an origin that is not the sandbox's."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_page_on_another_origin_calls_the_sandbox_with_fetch(
    page: Any, sandbox_factory: Callable[..., RunningSandbox], other_origin: str, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(dispatcher=False)  # its own: the preflighted POST moves the test clock
    _Page.html = b"<!doctype html><title>clinic app</title><h1>clinic app</h1>"
    page.goto(other_origin + "/")
    result = page.evaluate(
        """async ([base, key]) => {
            const resp = await fetch(base + "/v1/patients?per_page=2", {headers: {"X-API-Key": key}});
            const post = await fetch(base + "/v1/sandbox/clock/advance", {method: "POST",
                headers: {"X-API-Key": key, "Content-Type": "application/json", "Idempotency-Key": "b-1"},
                body: JSON.stringify({hours: 1})});
            document.body.insertAdjacentHTML("beforeend", "<pre>" + resp.status + " " +
                resp.headers.get("X-Request-Id") + "</pre>");
            return {status: resp.status, requestId: resp.headers.get("X-Request-Id"),
                    remaining: resp.headers.get("X-RateLimit-Remaining"), count: (await resp.json()).data.length,
                    postStatus: post.status, postRequestId: post.headers.get("X-Request-Id")};
        }""",
        [sandbox.base_url, sandbox.api_key],
    )
    page.screenshot(path=str(tmp_path / "other-origin.png"))
    assert result["status"] == 200 and result["count"] == 2
    assert result["requestId"].startswith("req_") and result["remaining"] is not None
    assert result["postStatus"] == 200 and result["postRequestId"].startswith("req_")


def test_swagger_ui_oauth_client_credentials_from_the_page(
    page: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    modal, flow = _oauth_flow(page, sandbox, "clientCredentials")
    flow.locator("button.modal-btn.authorize").first.click()
    flow.locator("button.modal-btn.authorize, button.logout").first.wait_for()
    page.wait_for_selector("text=Authorized", timeout=15_000)
    page.screenshot(path=str(tmp_path / "swagger-ui-oauth.png"))
    modal.locator("button.btn-done").first.click()

    block = _try_patients_search(page)
    curl = block.locator(".curl-command").first.inner_text()
    assert "Authorization: Bearer " in curl  # the token from the flow, not an API key


def test_swagger_ui_oauth_authorization_code_with_pkce_from_the_page(
    page: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    modal, flow = _oauth_flow(page, sandbox, "authorizationCode")
    with page.context.expect_page() as opened:
        flow.locator("button.modal-btn.authorize").first.click()
    consent = opened.value  # the sandbox's consent page, in Swagger UI's pop-up
    consent.wait_for_load_state()
    consent.screenshot(path=str(tmp_path / "consent-page.png"))
    consent.click("button.approve")  # → oauth2-redirect.html → Swagger UI exchanges the code (PKCE)
    consent.wait_for_event("close", timeout=15_000)  # oauth2-redirect.html hands the code back and closes
    for _ in range(75):  # Swagger UI exchanges the code for a token (PKCE), then shows it Authorized
        section = modal.inner_text().split("authorizationCode with PKCE)", 1)[-1]
        if "Authorized" in section and "Logout" in section:
            break
        page.wait_for_timeout(200)
    else:
        raise AssertionError(modal.inner_text())
    page.screenshot(path=str(tmp_path / "after-approve.png"))
    modal.locator("button.btn-done").first.click()

    block = _try_patients_search(page)
    assert "Authorization: Bearer " in block.locator(".curl-command").first.inner_text()


def _oauth_flow(page: Any, sandbox: RunningSandbox, name: str) -> tuple[Any, Any]:
    """Swagger UI's Authorize dialog with the OAuth flow ``name`` filled in, every scope selected."""
    page.goto(f"{sandbox.base_url}/ui/")
    page.wait_for_selector(".opblock", timeout=30_000)
    page.click("button.authorize")
    modal = page.locator(".modal-ux")
    flow = modal.locator(".auth-container").filter(has_text=name)
    flow.locator(f"input#client_id_{name}, input[data-name=clientId]").first.fill(sandbox.alpha.client_id)
    flow.locator(f"input#client_secret_{name}, input[data-name=clientSecret]").first.fill(
        sandbox.alpha.client_secret
    )
    flow.locator("text=select all").first.click()
    return modal, flow


def _try_patients_search(page: Any) -> Any:
    """Try it out → Execute on GET /v1/patients; the operation's block once it answered 200."""
    block = page.locator("xpath=//div[@id='operations-Patients-patients\\.search']")  # the id has a backslash
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=30_000)
    assert status.inner_text().strip() == "200"
    return block
