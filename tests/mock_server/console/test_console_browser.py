"""The console in a real browser (Playwright driving Debian's Chromium) against a real sandbox.

One story, as an integrator lives it: sign in; every sandbox patient is listed by name with its consent
state (the seeded consented ones, one never asked with how to ask); a link request made through the API
shows up as the patient's consent card, in that patient's entry; Accept grants consent and ``consent.granted`` appears in Events with its
delivery to a local receiver; Resend delivers the same ``webhook-id`` again; a check-in from the form
reaches the receiver signed; Revoke; a failed API call shows in Requests with its error code; sign out;
another workspace's key sees none of it; no page scrolls sideways at 390 px.

Screenshots go to a temporary directory, or to ``docs/console/`` with ``CONSOLE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from tests.fixtures.sandbox import RunningSandbox, running_sandbox
from tests.mock_server.console.forms import sign_in, sign_in_token
from tests.mock_server.webhooks.receiver import Receiver, running_receiver

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]
PAGES = ["/console/patients", "/console/events", "/console/webhooks", "/console/requests", "/console/clock"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no chromium executable on this machine")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extra)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSandbox, Receiver, Any]]:
    with running_sandbox(tmp_path_factory.mktemp("console")) as sandbox, running_receiver() as receiver:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                yield sandbox, receiver, browser
            finally:
                browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "console"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("shots")


def _sign_in(page: Any, base_url: str, key: str) -> None:
    page.goto(f"{base_url}/console/")
    page.get_by_label("Workspace API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/patients**")


def _free_patient_email(client: httpx.Client) -> str:
    patients = client.get("/v1/sandbox/patients", params={"per_page": 100}).json()["data"]
    linked = {
        r["patient_email"] for r in client.get("/v1/link-requests", params={"per_page": 100}).json()["data"]
    }
    return str(next(p["email"] for p in patients[5:] if p["email"] not in linked))


def _bodies(receiver: Receiver, event: str) -> list[Any]:
    return [r for r in receiver.requests if orjson.loads(r.body)["event"] == event]


def test_the_integrators_day_in_the_console(world: tuple[RunningSandbox, Receiver, Any], shots: Path) -> None:
    sandbox, receiver, browser = world
    api = sandbox.client()
    hook = api.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["consent.granted", "consent.revoked", "pain_entry.created"]},
    ).json()
    email = _free_patient_email(api)
    lr = api.post(
        "/v1/link-requests",
        json={
            "patient_email": email,
            "scopes": ["pain:read", "wellbeing:read"],
            "message": "Before your visit on Friday.",
        },
    ).json()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    _sign_in(page, sandbox.base_url, sandbox.api_key)
    cookie = next(c for c in context.cookies() if c["name"] == "care_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # every sandbox patient is listed by name with its consent state: the seeded consented ones too
    seeded = api.get("/v1/sandbox/patients", params={"per_page": 100}).json()["data"]
    first = page.locator(f"[data-sandbox-patient='{seeded[0]['id']}']")
    sync_api.expect(first.locator("h3")).to_contain_text(seeded[0]["display_name"])
    sync_api.expect(first.locator(".badge")).to_have_text("consent granted")
    sync_api.expect(first.get_by_role("button", name="Revoke consent")).to_be_visible()
    unasked = next(p for p in seeded if p["consent"]["status"] == "none" and p["email"] != email)
    hint = page.locator(f"[data-sandbox-patient='{unasked['id']}']")
    sync_api.expect(hint.locator(".badge")).to_have_text("no consent")
    sync_api.expect(hint).to_contain_text(f'POST /v1/link-requests {{"patient_email": "{unasked["email"]}"')
    asked = page.locator(f"[data-sandbox-patient]:has([data-link-request='{lr['request_id']}'])")
    sync_api.expect(asked.locator(".badge")).to_have_text("consent pending")
    sync_api.expect(asked).to_contain_text(email)

    # the link request made through the API is the patient's consent card, in the patient's entry
    card = asked.locator(f"[data-link-request='{lr['request_id']}']")
    sync_api.expect(card).to_contain_text("Before your visit on Friday.")
    sync_api.expect(card).to_contain_text("your pain check-ins")
    sync_api.expect(card).to_contain_text(sandbox.alpha.workspace.name)
    page.screenshot(path=str(shots / "patients.png"), full_page=True)

    # Accept → accepted, consent.granted delivered to the receiver and listed in Events
    card.get_by_role("button", name="Accept").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("Accepted")
    assert api.get(f"/v1/link-requests/{lr['request_id']}").json()["status"] == "accepted"
    receiver.wait_for(1)
    granted = _bodies(receiver, "consent.granted")[0]
    event_id = granted.headers["webhook-id"]
    patient_id = orjson.loads(granted.body)["patient_id"]
    page.get_by_role("link", name="Events").click()
    sync_api.expect(page.locator(f"a[href='/console/events/{event_id}']")).to_be_visible()
    page.screenshot(path=str(shots / "events.png"), full_page=True)
    page.locator(f"a[href='/console/events/{event_id}']").click()
    delivery = page.locator("[data-delivery]").first
    sync_api.expect(delivery).to_contain_text(receiver.url)
    for _ in range(20):  # the attempt is recorded right after the receiver answered
        if "succeeded" in delivery.inner_text():
            break
        page.wait_for_timeout(250)
        page.reload()
    sync_api.expect(delivery).to_contain_text("200")
    page.screenshot(path=str(shots / "event.png"), full_page=True)

    # Resend delivers the same webhook-id again
    before = len(receiver.requests)
    delivery.get_by_role("button", name="Resend to this endpoint").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("Resent")
    receiver.wait_for(before + 1)
    assert [r.headers["webhook-id"] for r in receiver.requests].count(event_id) == 2

    # a check-in from the form reaches the receiver, signed
    page.get_by_role("link", name="Patients").click()
    patient = page.locator(f"[data-patient='{patient_id}']")
    sync_api.expect(patient.locator(".badge")).to_have_text("consent granted")
    sync_api.expect(patient).to_contain_text(email)
    patient.locator("summary").click()
    patient.get_by_label("Pain (0–10)").fill("7")
    patient.get_by_label("left knee").check()
    patient.get_by_label("aching").check()
    patient.get_by_label("Note").fill("Worse after the stairs")
    patient.get_by_role("button", name="Save check-in").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("Check-in saved")
    receiver.wait_for(before + 2)
    checkin = _bodies(receiver, "pain_entry.created")[-1]
    payload = Webhook(hook["secret"]).verify(checkin.body, {**checkin.headers})
    assert payload["data"]["pain_level"] == 7 and payload["data"]["notes"] == "Worse after the stairs"
    assert payload["data"]["areas"][0]["id"] == "left_knee" and payload["data"]["qualities"] == ["aching"]

    # Revoke
    page.locator(f"[data-patient='{patient_id}']").get_by_role("button", name="Revoke consent").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("revoked")
    sync_api.expect(page.locator(f"[data-patient='{patient_id}'] .badge")).to_have_text("consent revoked")
    after = api.get(f"/v1/patients/{patient_id}/pain-entries")
    assert after.status_code == 403 and after.json()["error"]["code"] == "consent_revoked"

    # a failed API call appears in Requests with its error code
    failed_id = f"req_console_{secrets.token_hex(6)}"
    refused = api.post(
        "/v1/link-requests", json={"scopes": ["pain:read"]}, headers={"X-Request-Id": failed_id}
    )
    code = refused.json()["error"]["code"]
    page.goto(f"{sandbox.base_url}/console/requests?status=4xx")
    row = page.locator(f"a[href='/console/requests/{failed_id}']")
    sync_api.expect(row).to_contain_text(code, timeout=10_000)  # live region polls every 2 s
    page.screenshot(path=str(shots / "requests.png"), full_page=True)
    row.click()
    sync_api.expect(page.locator("#curl")).to_contain_text("curl -X POST")
    sync_api.expect(page.locator("main")).to_contain_text(code)
    assert sandbox.api_key not in page.content()  # the key is never shown, not even in the curl line
    page.screenshot(path=str(shots / "request.png"), full_page=True)
    for name, path in (("webhooks", "/console/webhooks"), ("clock", "/console/clock")):
        page.goto(f"{sandbox.base_url}{path}")
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert sandbox.api_key not in page.content()

    # no page scrolls sideways on a 390 px phone
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.add_cookies([{**cookie}])
    small = phone.new_page()
    for path in [*PAGES, f"/console/events/{event_id}", f"/console/requests/{failed_id}", "/console/sign-in"]:
        small.goto(f"{sandbox.base_url}{path}")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at 390 px"
    # the attempts table scrolls inside its box rather than breaking words ("Lat/enc/y", "faile/d");
    # a timestamp may still wrap at its hyphens
    small.goto(f"{sandbox.base_url}/console/events/{event_id}")
    broken = small.evaluate(
        """Array.from(document.querySelectorAll('.scroll th, .scroll td')).filter(cell => {
             const range = document.createRange(); range.selectNodeContents(cell);
             return !/[\\s-]/.test(cell.textContent.trim()) && range.getClientRects().length > 1;
           }).map(cell => cell.textContent)"""
    )
    assert not broken, f"table cells broken mid-word at 390 px: {broken}"
    small.goto(f"{sandbox.base_url}/console/patients")
    small.screenshot(path=str(shots / "patients-390.png"), full_page=False)
    phone.close()

    # sign out: the session is gone
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in**")
    page.goto(f"{sandbox.base_url}/console/events")
    assert page.url.endswith("/console/sign-in")
    page.screenshot(path=str(shots / "sign-in.png"))
    context.close()

    # another workspace's key sees none of it
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    theirs = other.new_page()
    _sign_in(theirs, sandbox.base_url, sandbox.second_api_key)
    assert lr["request_id"] not in theirs.content()
    theirs.goto(f"{sandbox.base_url}/console/events?type=consent.granted")
    assert event_id not in theirs.content()
    theirs.goto(f"{sandbox.base_url}/console/events/{event_id}")
    sync_api.expect(theirs.locator("h1")).to_contain_text("No such event")
    theirs.goto(f"{sandbox.base_url}/console/requests/{failed_id}")
    sync_api.expect(theirs.locator("h1")).to_contain_text("No such request")
    theirs.goto(f"{sandbox.base_url}/console/webhooks")
    assert receiver.url not in theirs.content()
    other.close()
    api.close()


def test_forms_refuse_a_missing_or_wrong_csrf_token(world: tuple[RunningSandbox, Receiver, Any]) -> None:
    sandbox, _, _ = world
    with httpx.Client(base_url=sandbox.base_url) as client:
        signed = sign_in(client, sandbox.api_key)
        assert signed.status_code == 303
        before = client.get("/console/clock").text
        refused = client.post(
            "/console/clock/advance", data={"csrf": "forged", "amount": "5", "unit": "days"}
        )
        assert refused.status_code == 403
        odd = client.post("/console/clock/advance", data={"csrf": "é" * 40, "amount": "5", "unit": "days"})
        assert odd.status_code == 403  # non-ASCII: refused like any wrong token, not a 500
        assert client.get("/console/clock").text.count("hours ahead") == before.count("hours ahead")
        with sandbox.client() as api:
            assert api.get("/v1/sandbox/clock").json()["offset_seconds"] < 3600  # nothing moved
        bad = sign_in(client, "p2c_test_wrong")
        assert bad.status_code == 401 and "not valid" in bad.text


def test_only_the_first_page_of_a_list_updates_itself(world: tuple[RunningSandbox, Receiver, Any]) -> None:
    """Page 1 of Requests shows a new request without a reload; page 2 is left as it was read (a new
    row would push one of its rows off), and its Previous link goes back to the live page 1."""
    sandbox, _, browser = world
    marker = f"req_live_{secrets.token_hex(4)}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    with sandbox.client() as api:
        for i in range(3):
            api.get(f"/v1/events/evt_live{i}", headers={"X-Request-Id": f"{marker}_{i}"})
        first = context.new_page()
        _sign_in(first, sandbox.base_url, sandbox.api_key)
        listing = f"{sandbox.base_url}/console/requests?status=404&per_page=2"
        first.goto(listing)
        later = context.new_page()
        later.goto(f"{listing}&page=2")
        rows_before = later.locator(".rows").inner_html()
        assert f"/console/requests/{marker}_0" in rows_before and later.locator("[data-live]").count() == 0

        api.get("/v1/events/evt_live_new", headers={"X-Request-Id": f"{marker}_new"})
        sync_api.expect(first.locator(f"a[href='/console/requests/{marker}_new']")).to_be_visible(
            timeout=10_000
        )
        later.wait_for_timeout(2_500)  # a poll would have come by now
        assert later.locator(".rows").inner_html() == rows_before
        later.get_by_role("link", name="← Newer").click()
        later.wait_for_url(listing)
        assert later.locator("[data-live]").count() == 1
    context.close()


def test_sign_in_needs_the_forms_token_and_its_cookie(world: tuple[RunningSandbox, Receiver, Any]) -> None:
    """Login CSRF: the sign-in form is bound to a pre-session cookie (double submit); a post without
    both, equal, is a readable 403 that signs nobody in."""
    sandbox, _, _ = world
    with httpx.Client(base_url=sandbox.base_url) as client:
        token = sign_in_token(client)
        (cookie,) = [c for c in client.cookies.jar if c.name == "care_console_signin"]
        assert cookie.value == token and cookie.path == "/console"
        assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Strict"
        assert sign_in_token(client) == token  # kept while the browser has it: two tabs both work

        for form, label in (
            ({"api_key": sandbox.api_key}, "no token"),
            ({"api_key": sandbox.api_key, "csrf": "x" * 43}, "another token"),
            ({"api_key": sandbox.api_key, "csrf": "é" * 43}, "a non-ASCII token"),
        ):
            refused = client.post("/console/sign-in", data=form)
            assert refused.status_code == 403, label
            assert "sign-in was refused" in refused.text and 'name="csrf"' in refused.text, label
            assert "care_console" not in refused.cookies, label
        assert client.get("/console/patients").headers["location"] == "/console/sign-in"

        signed = client.post("/console/sign-in", data={"api_key": sandbox.api_key, "csrf": token})
        assert signed.status_code == 303 and signed.cookies.get("care_console") == sandbox.api_key
        assert "care_console_signin" not in client.cookies  # spent: cleared with the sign-in

    with httpx.Client(base_url=sandbox.base_url) as stranger:  # the token, but not the cookie
        refused = stranger.post("/console/sign-in", data={"api_key": sandbox.api_key, "csrf": token})
        assert refused.status_code == 403 and "care_console" not in refused.cookies


def test_another_site_cannot_sign_the_browser_in(world: tuple[RunningSandbox, Receiver, Any]) -> None:
    """A page on another site posts the sign-in form with the attacker's key; the browser, which has
    the console's sign-in cookie, does not send it cross-site (SameSite=Strict): 403, not signed in."""
    sandbox, _, browser = world
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{sandbox.base_url}/console/sign-in")
    assert any(c["name"] == "care_console_signin" for c in context.cookies())
    attack = f"""<form id="f" method="post" action="{sandbox.base_url}/console/sign-in">
      <input name="api_key" value="{sandbox.second_api_key}"><input name="csrf" value="guess"></form>
      <script>document.getElementById("f").submit()</script>"""
    context.route(
        "http://attacker.example/**", lambda route: route.fulfill(body=attack, content_type="text/html")
    )
    with page.expect_navigation(url=f"{sandbox.base_url}/console/sign-in") as posted:
        page.goto("http://attacker.example/")
    assert posted.value is not None and posted.value.status == 403
    sync_api.expect(page.get_by_role("alert")).to_contain_text("sign-in was refused")
    assert not any(c["name"] == "care_console" for c in context.cookies())
    # and the page it answered with signs in, as the real one does
    page.get_by_label("Workspace API key").fill(sandbox.api_key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/patients**")
    context.close()
