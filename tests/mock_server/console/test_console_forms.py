"""The console's forms over plain HTTP (no browser): webhooks and the clock, checked through the API."""

from __future__ import annotations

import re
import secrets
from contextlib import closing
from typing import Any

import httpx
import orjson

from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.console.forms import sign_in
from tests.mock_server.webhooks.receiver import running_receiver


def _signed_in(sandbox: RunningSandbox) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=sandbox.base_url, timeout=30)  # as sandbox.client(): a loaded CI machine
    assert sign_in(client, sandbox.api_key).status_code == 303
    page = client.get("/console/webhooks").text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return client, match.group(1)


def test_webhook_forms_create_toggle_rotate_and_test(sandbox_factory: Any) -> None:
    sandbox: RunningSandbox = sandbox_factory()
    client, csrf = _signed_in(sandbox)
    with running_receiver() as receiver, closing(client), sandbox.client() as api:
        made = client.post(
            "/console/webhooks", data={"csrf": csrf, "url": receiver.url, "events": ["consent.granted"]}
        )
        assert made.status_code == 200
        (endpoint,) = api.get("/v1/webhooks").json()["data"]
        secret = re.search(r"whsec_[A-Za-z0-9+/=_-]+", made.text)
        assert secret is not None and endpoint["url"] == receiver.url
        assert "whsec_" not in client.get("/console/webhooks").text  # shown once, then never again

        off = client.post(
            f"/console/webhooks/{endpoint['id']}/enabled", data={"csrf": csrf, "enabled": "false"}
        )
        assert off.status_code == 303 and api.get(f"/v1/webhooks/{endpoint['id']}").json()["enabled"] is False
        client.post(f"/console/webhooks/{endpoint['id']}/enabled", data={"csrf": csrf, "enabled": "true"})
        assert api.get(f"/v1/webhooks/{endpoint['id']}").json()["enabled"] is True

        rotated = client.post(f"/console/webhooks/{endpoint['id']}/rotate", data={"csrf": csrf})
        new_secret = re.search(r"whsec_[A-Za-z0-9+/=_-]+", rotated.text)
        assert new_secret is not None and new_secret.group(0) != secret.group(0)

        tested = client.post(f"/console/webhooks/{endpoint['id']}/test", data={"csrf": csrf})
        assert tested.status_code == 303 and "Test+event" in tested.headers["location"]
        (delivered,) = receiver.wait_for(1)
        assert orjson.loads(delivered.body)["event"] == "webhook.test"

        bad = client.post("/console/webhooks", data={"csrf": csrf, "url": "ftp://nowhere", "events": ["*"]})
        assert bad.status_code == 303 and "error=" in bad.headers["location"]  # the API's refusal, shown


def test_clock_forms_advance_and_reset(sandbox_factory: Any) -> None:
    sandbox: RunningSandbox = sandbox_factory()
    client, csrf = _signed_in(sandbox)
    with closing(client), sandbox.client() as api:
        moved = client.post("/console/clock/advance", data={"csrf": csrf, "amount": "2", "unit": "days"})
        assert moved.status_code == 303
        assert api.get("/v1/sandbox/clock").json()["offset_seconds"] >= 2 * 86400 - 5
        page = client.get("/console/clock").text
        assert "48.0 hours ahead" in page and sandbox.alpha.client_id in page
        assert sandbox.alpha.client_secret not in page and sandbox.api_key not in page
        reset = client.post("/console/clock/reset", data={"csrf": csrf})
        assert reset.status_code == 303 and "flash=" in reset.headers["location"]
        assert api.get("/v1/sandbox/clock").json()["offset_seconds"] < 60


def test_unknown_console_paths_and_methods_are_404_and_405_not_500(sandbox: RunningSandbox) -> None:
    client, _ = _signed_in(sandbox)
    with closing(client):
        assert client.get("/console/nope").status_code == 404
        assert client.get("/console/patients/x/y/z").status_code == 404
        assert client.get("/console/sign-out").status_code == 405  # a POST-only form action


def test_detail_pages_for_ids_the_api_refuses_are_not_found(sandbox: RunningSandbox) -> None:
    """An id that does not match the contract's pattern is the API's 400, not a 500 of the page."""
    client, _ = _signed_in(sandbox)
    with closing(client):
        for path in ("/console/events/not-an-event", f"/console/requests/{'r' * 300}"):
            page = client.get(path)
            assert page.status_code == 404 and "No such" in page.text, path
        assert client.get("/console/events/evt_doesnotexist").status_code == 404


def test_numbers_beyond_64_bits_are_refused_not_500(sandbox: RunningSandbox) -> None:
    client, csrf = _signed_in(sandbox)
    huge = "9" * 20
    with closing(client), sandbox.client() as api:
        patient = api.get("/v1/patients").json()["data"][0]["id"]
        for path, form in (
            ("/console/clock/advance", {"amount": huge, "unit": "days"}),
            (f"/console/patients/{patient}/check-in", {"pain_level": huge, "areas": "head"}),
            ("/console/patients", {"history_days": huge}),
        ):
            answer = client.post(path, data={"csrf": csrf, **form})
            assert answer.status_code == 303 and "error=" in answer.headers["location"], path


def test_pages_show_the_api_refusal_for_a_key_with_narrow_scopes(sandbox: RunningSandbox) -> None:
    """Workspaces may hold keys with fewer scopes (``workspace create --scopes``); signing in with one
    lands on Patients, which must say what the key may not do rather than fail."""
    narrow = sandbox.services.workspaces.add_api_key(sandbox.alpha.workspace.id, ("webhooks:manage",))
    with httpx.Client(base_url=sandbox.base_url, timeout=30) as client:
        signed = sign_in(client, narrow, follow_redirects=True)
        assert signed.status_code == 200 and "insufficient_scope" in signed.text
        for path in ("/console/patients", "/console/events", "/console/requests", "/console/clock"):
            page = client.get(path)
            assert page.status_code == 200 and "insufficient_scope" in page.text, path


def test_a_webhook_with_no_event_ticked_subscribes_to_every_event(sandbox: RunningSandbox) -> None:
    """The form says "none ticked: all"; the contract has no wildcard, so the console lists them."""
    client, csrf = _signed_in(sandbox)
    with closing(client), sandbox.client() as api:
        made = client.post("/console/webhooks", data={"csrf": csrf, "url": "http://127.0.0.1:9/all-events"})
        assert made.status_code == 200 and "whsec_" in made.text
        (endpoint,) = [e for e in api.get("/v1/webhooks").json()["data"] if e["url"].endswith("/all-events")]
        api.delete(f"/v1/webhooks/{endpoint['id']}")
    assert "consent.granted" in endpoint["events"] and "pain_entry.created" in endpoint["events"]
    assert "webhook.test" not in endpoint["events"]  # sent to one endpoint on request, whatever it subscribes


def test_a_key_that_cannot_list_link_requests_still_answers_a_pending_one(sandbox: RunningSandbox) -> None:
    """A key with sandbox:manage but not patients:read cannot read the requests' words; the pending
    patient still shows its consent card with Accept and Decline, on the id the patient list gives."""
    with sandbox.client() as api:
        page = api.get("/v1/sandbox/patients", params={"per_page": 50}).json()["data"]
        patient = next(p for p in page[5:] if p["consent"]["status"] == "none")
        lr = api.post(
            "/v1/link-requests", json={"patient_email": patient["email"], "scopes": ["pain:read"]}
        ).json()
        narrow = sandbox.services.workspaces.add_api_key(sandbox.alpha.workspace.id, ("sandbox:manage",))
        with httpx.Client(base_url=sandbox.base_url, timeout=30) as client:
            shown = sign_in(client, narrow, follow_redirects=True)
            assert shown.status_code == 200 and "insufficient_scope" in shown.text
            assert f'data-link-request="{lr["request_id"]}"' in shown.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
            assert csrf is not None
            accepted = client.post(
                f"/console/link-requests/{lr['request_id']}/accept", data={"csrf": csrf.group(1)}
            )
            assert accepted.status_code == 303 and "flash=Accepted" in accepted.headers["location"]
        assert api.get(f"/v1/link-requests/{lr['request_id']}").json()["status"] == "accepted"


def _pager_links(html: str) -> dict[str, str]:
    return {
        rel: href.replace("&amp;", "&") for rel, href in re.findall(r'rel="(prev|next)" href="([^"]+)"', html)
    }


def test_lists_page_with_links_that_keep_the_filters_and_only_page_one_is_live(
    sandbox: RunningSandbox,
) -> None:
    """Patients, Events and Requests show the API's pages: Previous/Next carry the filters, page 1 is
    the list's plain URL (the live one), and later pages are not live (new rows would shift them)."""
    client, _ = _signed_in(sandbox)
    marker = f"req_pages_{secrets.token_hex(4)}"
    with closing(client), sandbox.client() as api:
        for i in range(3):  # three 404s of this test in the request log, newest last
            api.get(f"/v1/events/evt_missing{i}", headers={"X-Request-Id": f"{marker}_{i}"})
        first = client.get("/console/requests", params={"status": "404", "per_page": "1"}).text
        assert f"{marker}_2" in first and "data-live=" in first
        assert _pager_links(first) == {"next": "/console/requests?status=404&per_page=1&page=2"}
        second = client.get("/console/requests", params={"status": "404", "per_page": "1", "page": "2"}).text
        assert f"{marker}_1" in second and "data-live=" not in second
        assert _pager_links(second) == {
            "prev": "/console/requests?status=404&per_page=1",
            "next": "/console/requests?status=404&per_page=1&page=3",
        }

        hook = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/pages", "events": ["webhook.test"]})
        for _ in range(3):
            api.post(f"/v1/webhooks/{hook.json()['id']}/test")
        api.delete(f"/v1/webhooks/{hook.json()['id']}")
        total = api.get("/v1/events", params={"type": "webhook.test"}).json()["pagination"]["total"]
        last = client.get(
            "/console/events", params={"type": "webhook.test", "per_page": "2", "page": str((total + 1) // 2)}
        )
        assert f"Page {(total + 1) // 2} of {(total + 1) // 2}" in last.text and "data-live=" not in last.text
        assert "next" not in _pager_links(last.text)

        patients = api.get("/v1/sandbox/patients", params={"per_page": 10, "page": 2}).json()
        page_two = client.get("/console/patients", params={"per_page": "10", "page": "2"}).text
        assert re.findall(r'data-sandbox-patient="([^"]+)"', page_two) == [p["id"] for p in patients["data"]]
        pages = (patients["pagination"]["total"] + 9) // 10
        assert f"Page 2 of {pages}" in page_two
        assert _pager_links(page_two)["prev"] == "/console/patients?per_page=10"

        refused = client.get("/console/events", params={"page": "0"})  # the API's 400, on the page
        assert refused.status_code == 200 and "invalid_parameter" in refused.text


def test_console_calls_do_not_spend_the_keys_quota_and_show_it(sandbox: RunningSandbox) -> None:
    """An open Events page polls every 2 s; those calls must not use up the quota the integrator's own
    client is testing against (counted in the console's own, larger bucket), and the Clock page shows
    what the key has left."""
    client, _ = _signed_in(sandbox)
    with closing(client), sandbox.client() as api:
        before = int(api.get("/v1/sandbox/clock").headers["x-ratelimit-remaining"])
        for _ in range(15):
            assert client.get("/console/events", params={"partial": "1"}).status_code == 200
            assert client.get("/console/requests").status_code == 200
        shown = re.search(r"(\d+) left this window", client.get("/console/clock").text)
        after = int(api.get("/v1/sandbox/clock").headers["x-ratelimit-remaining"])
    assert after == before - 1  # only the API call itself
    assert shown is not None and int(shown.group(1)) == before  # the key's state then, not the console's


def test_the_clock_form_refuses_a_unit_it_does_not_offer(sandbox: RunningSandbox) -> None:
    client, csrf = _signed_in(sandbox)
    with closing(client), sandbox.client() as api:
        answer = client.post("/console/clock/advance", data={"csrf": csrf, "amount": "5", "unit": "weeks"})
        assert answer.status_code == 303 and "error=" in answer.headers["location"]
        assert api.get("/v1/sandbox/clock").json()["offset_seconds"] < 60  # not moved by 5 hours either


def test_a_patients_pending_request_keeps_its_words_beyond_the_hundred_listed(
    sandbox_factory: Any,
) -> None:
    """The page lists 100 pending link requests (the API's largest page); a patient of the page whose
    request is not among them still shows its consent card with the request's message and expiry
    (read by id), and the page says how many pending requests there are in all."""
    sandbox: RunningSandbox = sandbox_factory(dispatcher=False)
    with sandbox.client() as api:
        for i in range(101):
            patient = api.post("/v1/sandbox/patients", json={"history_days": 0})
            assert patient.status_code == 201, patient.text
            made = api.post(
                "/v1/link-requests",
                json={
                    "patient_email": patient.json()["email"],
                    "scopes": ["pain:read"],
                    "message": f"ask {i}",
                },
            )
            assert made.status_code == 201, made.text
        listed = api.get("/v1/link-requests", params={"status": "pending", "per_page": 100}).json()
        pending = listed["pagination"]["total"]
        first_hundred = {lr["request_id"] for lr in listed["data"]}
        beyond = next(
            lr
            for page in range(2, 3 + pending // 100)
            for lr in api.get(
                "/v1/link-requests", params={"status": "pending", "per_page": 100, "page": page}
            ).json()["data"]
            if lr["request_id"] not in first_hundred and (lr.get("message") or "").startswith("ask ")
        )
        patients = api.get("/v1/sandbox/patients", params={"per_page": 1}).json()["pagination"]["total"]
    assert pending > 100
    client, _ = _signed_in(sandbox)
    with closing(client):
        for page in range(1, 2 + patients // 100):
            html = client.get("/console/patients", params={"page": page, "per_page": 100}).text
            if f'data-link-request="{beyond["request_id"]}"' in html:
                break
        else:
            raise AssertionError("the request's patient is on no page")
    card = html.split(f'data-link-request="{beyond["request_id"]}"', 1)[1].split("</div>", 1)[0]
    assert beyond["message"] in card and "expires" in card
    assert f"The newest 100 of {pending} pending requests" in html


def test_the_patients_page_filters_by_consent_state(sandbox: RunningSandbox) -> None:
    with sandbox.client() as api:
        listed = api.get("/v1/sandbox/patients", params={"per_page": 100}).json()["data"]
        granted = {p["id"] for p in listed if p["consent"]["status"] == "granted"}
    client, _ = _signed_in(sandbox)
    with closing(client):
        page = client.get("/console/patients", params={"consent": "granted", "per_page": 100}).text
        shown = re.findall(r'data-sandbox-patient="([^"]+)" data-consent="([^"]+)"', page)
        assert granted and {pid for pid, _ in shown} == granted
        assert {state for _, state in shown} == {"granted"}
        assert f"{len(granted)} of the workspace's synthetic patients with consent granted" in page
        assert '<option value="granted" selected>' in page
        refused = client.get("/console/patients", params={"consent": "sideways"}).text
        alert = re.search(r'<p class="flash err" role="alert">([^<]*)</p>', refused)
        assert alert is not None and "consent" in alert.group(1)  # the API's 400, shown on the page
