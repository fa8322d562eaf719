"""GET and POST /v1/sandbox/patients: every sandbox patient with its consent state, as the phone shows it.

One patient walked through every state over HTTP: none → pending → granted → revoked → pending again
(a new request wins over the revoke) → revoked (declined). The seeded consents show as granted.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.sandbox import RunningSandbox

NONE = {"status": "none", "patient_id": None, "scopes": [], "link_request_id": None}


def _listed(client: httpx.Client, patient_id: str) -> dict[str, Any]:
    page = 1
    while True:
        body = client.get("/v1/sandbox/patients", params={"per_page": 100, "page": page}).json()
        for patient in body["data"]:
            if patient["id"] == patient_id:
                return dict(patient["consent"])
        assert body["data"], f"{patient_id} is not listed"
        page += 1


def test_a_patient_shows_each_consent_state_it_passes_through(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        made = client.post("/v1/sandbox/patients", json={"history_days": 0})
        assert made.status_code == 201, made.text
        patient = made.json()
        assert patient["consent"] == NONE
        assert _listed(client, patient["id"]) == NONE

        asked = client.post(
            "/v1/link-requests",
            json={"patient_email": patient["email"], "scopes": ["pain:read", "wellbeing:read"]},
        ).json()
        pending = {**NONE, "status": "pending", "link_request_id": asked["request_id"]}
        assert _listed(client, patient["id"]) == pending

        accepted = client.post(
            f"/v1/sandbox/link-requests/{asked['request_id']}/accept", json={"scopes": ["pain:read"]}
        ).json()
        anon = accepted["consent"]["patient_id"]
        granted = {"status": "granted", "patient_id": anon, "scopes": ["pain:read"], "link_request_id": None}
        assert _listed(client, patient["id"]) == granted

        assert client.post(f"/v1/sandbox/patients/{anon}/revoke").status_code == 200
        assert _listed(client, patient["id"]) == {**granted, "status": "revoked"}

        again = client.post(
            "/v1/link-requests", json={"patient_email": patient["email"], "scopes": ["vitals:read"]}
        ).json()
        # pending wins over the revoke: the phone shows the new card; scopes stay the latest consent's
        assert _listed(client, patient["id"]) == {
            "status": "pending",
            "patient_id": anon,
            "scopes": ["pain:read"],
            "link_request_id": again["request_id"],
        }

        assert client.post(f"/v1/sandbox/link-requests/{again['request_id']}/decline").status_code == 200
        assert _listed(client, patient["id"]) == {**granted, "status": "revoked"}


def test_seeded_consents_list_as_granted_with_their_patient_ids(sandbox_factory: Any) -> None:
    fresh: RunningSandbox = sandbox_factory()
    with fresh.client() as client:
        body = client.get("/v1/sandbox/patients", params={"per_page": 100}).json()
        consented = {p["id"] for p in client.get("/v1/patients", params={"per_page": 100}).json()["data"]}
    states = [p["consent"]["status"] for p in body["data"]]
    assert states == ["granted"] * 5 + ["none"] * (body["pagination"]["total"] - 5)
    assert {p["consent"]["patient_id"] for p in body["data"][:5]} == consented
    assert all(p["consent"]["scopes"] for p in body["data"][:5])


def test_the_consent_filter_keeps_one_state_and_counts_it(sandbox_factory: Any) -> None:
    sandbox: RunningSandbox = sandbox_factory(dispatcher=False)
    with sandbox.client() as client:
        everyone = client.get("/v1/sandbox/patients", params={"per_page": 100}).json()
        asked = next(p for p in everyone["data"] if p["consent"]["status"] == "none")
        request = client.post(
            "/v1/link-requests", json={"patient_email": asked["email"], "scopes": ["pain:read"]}
        )
        assert request.status_code == 201, request.text
        everyone = client.get("/v1/sandbox/patients", params={"per_page": 100}).json()
        assert everyone["pagination"]["total"] <= 100  # one page holds the seeded workspace
        by_state: dict[str, list[str]] = {}
        for p in everyone["data"]:
            by_state.setdefault(p["consent"]["status"], []).append(p["id"])
        for state in ("none", "pending", "granted", "revoked"):
            body = client.get("/v1/sandbox/patients", params={"per_page": 100, "consent": state}).json()
            assert [p["id"] for p in body["data"]] == by_state.get(state, []), state
            assert body["pagination"]["total"] == len(by_state.get(state, [])), state
            assert {p["consent"]["status"] for p in body["data"]} <= {state}
        assert by_state["pending"] == [asked["id"]]
        refused = client.get("/v1/sandbox/patients", params={"consent": "active"})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_parameter"
