"""One rule for bodies: ``{}`` is no body where none is taken, JSON needs no Content-Type (nor the
form type curl -d sends), and
idempotent retries are compared by their parsed JSON, not their bytes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from mock_server.gateway.idempotency import canonical_body
from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.webhooks.sandbox_helpers import consented_patient

JSON = {"Content-Type": "application/json"}


def test_operations_without_a_body_accept_nothing_or_an_empty_object(
    sandbox_factory: Callable[..., RunningSandbox],
) -> None:
    sandbox = sandbox_factory(dispatcher=False)
    with sandbox.client() as client:
        hook = client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["pain_entry.created"]}
        )
        assert hook.status_code == 201, hook.text
        for body in (b"{}", b" { } \n"):
            resp = client.post(f"/v1/webhooks/{hook.json()['id']}/test", content=body, headers=JSON)
            assert resp.status_code in (200, 202), resp.text
        resp = client.post("/v1/sandbox/reset", content=b"{}", headers=JSON)
        assert resp.status_code == 200, resp.text
        patient = consented_patient(client)
        resp = client.post(f"/v1/sandbox/patients/{patient}/revoke", content=b"{}")
        assert resp.status_code == 200, resp.text
        # anything but an empty object is still refused, by name
        resp = client.post("/v1/sandbox/reset", content=b'{"all": true}', headers=JSON)
        assert resp.status_code == 400 and "takes no request body" in resp.json()["error"]["message"]
        resp = client.post("/v1/sandbox/reset", content=b"[]", headers=JSON)
        assert resp.status_code == 400


def test_json_without_content_type_is_read_as_json(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = sandbox_factory(dispatcher=False)
    with sandbox.client() as client:
        resp = client.post("/v1/sandbox/clock/advance", content=b'{"days": 1}')  # no Content-Type at all
        assert resp.status_code == 200, resp.text
        bad = client.post("/v1/sandbox/clock/advance", content=b"days=1")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
        wrong = client.post(
            "/v1/sandbox/clock/advance", content=b"days", headers={"Content-Type": "text/plain"}
        )
        assert wrong.status_code == 415
        # what `curl -d '{"days": 1}'` sends: JSON labelled as a form, to an operation that takes no form
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        curl = client.post("/v1/sandbox/clock/advance", content=b'{"days": 1}', headers=form)
        assert curl.status_code == 200, curl.text
        real_form = client.post("/v1/sandbox/clock/advance", content=b"days=1", headers=form)
        assert real_form.status_code == 415
        # where a form *is* taken (the OAuth token endpoint) a form stays a form
        token = client.post("/oauth/token", content=b'{"grant_type": "client_credentials"}', headers=form)
        assert token.status_code in (400, 401) and token.headers["content-type"].startswith(
            "application/json"
        )


def test_idempotent_retry_with_other_spelling_replays(sandbox_factory: Callable[..., RunningSandbox]) -> None:
    sandbox = sandbox_factory(dispatcher=False)
    with sandbox.client() as client:
        patient = consented_patient(client)
        key = secrets.token_hex(8)
        url = f"/v1/sandbox/patients/{patient}/pain-entries"
        first = client.post(
            url,
            content=b'{"pain_level": 4, "areas": [{"id": "left_knee", "max_intensity": 4}]}',
            headers={**JSON, "Idempotency-Key": key},
        )
        assert first.status_code == 201, first.text
        again = client.post(
            url,
            content=b'{\n  "areas" : [ {"max_intensity":4, "id":"left_knee"} ],\n  "pain_level":4\n}',
            headers={**JSON, "Idempotency-Key": key},
        )
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        other = client.post(
            url,
            content=b'{"pain_level": 5, "areas": [{"id": "left_knee", "max_intensity": 4}]}',
            headers={**JSON, "Idempotency-Key": key},
        )
        assert other.status_code == 409


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_canonical_body_ignores_key_order_and_whitespace(body: dict[str, Any], rnd: Any) -> None:
    items = list(body.items())
    rnd.shuffle(items)
    spelled = orjson.dumps(dict(items), option=orjson.OPT_INDENT_2)
    assert canonical_body(orjson.loads(spelled)) == canonical_body(body)
    assert canonical_body(None) == b""
