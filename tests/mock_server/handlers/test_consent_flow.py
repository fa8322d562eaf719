"""Seed 000's whole flow over real HTTP: link request → accept → data within scopes → revoke → 403."""

from __future__ import annotations

from tests.fixtures.sandbox import RunningSandbox


def _free_patient(client, taken: set[str] | None = None) -> dict:
    patients = client.get("/v1/sandbox/patients", params={"per_page": 100}).json()["data"]
    linked = {
        r["patient_email"] for r in client.get("/v1/link-requests", params={"per_page": 100}).json()["data"]
    }
    return next(p for p in patients[5:] if p["email"] not in linked | (taken or set()))


def test_link_accept_read_revoke(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        patient = _free_patient(client)
        created = client.post(
            "/v1/link-requests",
            json={
                "patient_email": patient["email"],
                "scopes": ["pain:read", "wellbeing:read", "vitals:read"],
                "message": "For your appointment on 12 May.",
            },
        )
        assert created.status_code == 201, created.text
        request = created.json()
        assert request["status"] == "pending" and request["request_id"].startswith("lr_")
        assert request["expires_at"] > request["created_at"]

        accepted = client.post(
            f"/v1/sandbox/link-requests/{request['request_id']}/accept",
            json={"scopes": ["pain:read", "wellbeing:read"]},
        )
        assert accepted.status_code == 200, accepted.text
        consent = accepted.json()["consent"]
        patient_id = consent["patient_id"]
        assert patient_id.startswith("p2c_anon_") and consent["scopes"] == ["pain:read", "wellbeing:read"]
        assert client.get(f"/v1/link-requests/{request['request_id']}").json()["patient_id"] == patient_id

        listed = client.get("/v1/patients", params={"per_page": 100}).json()["data"]
        assert patient_id in {p["id"] for p in listed}
        pain = client.get(f"/v1/patients/{patient_id}/pain-entries", params={"per_page": 5})
        assert pain.status_code == 200 and pain.json()["pagination"]["total"] > 0
        assert client.get(f"/v1/patients/{patient_id}/wellbeing").status_code == 200
        opted_out = client.get(f"/v1/patients/{patient_id}/vitals")
        assert opted_out.status_code == 403 and opted_out.json()["error"]["code"] == "insufficient_scope"

        again = client.post(f"/v1/sandbox/link-requests/{request['request_id']}/accept")
        assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state_transition"

        revoked = client.post(f"/v1/sandbox/patients/{patient_id}/revoke")
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        after = client.get(f"/v1/patients/{patient_id}/pain-entries")
        assert after.status_code == 403 and after.json()["error"]["code"] == "consent_revoked"
        assert patient_id not in {p["id"] for p in client.get("/v1/patients").json()["data"]}


def test_decline_cancel_and_bad_requests(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        first = _free_patient(client)
        lr = client.post(
            "/v1/link-requests", json={"patient_email": first["email"], "scopes": ["pain:read"]}
        ).json()
        dup = client.post(
            "/v1/link-requests", json={"patient_email": first["email"], "scopes": ["pain:read"]}
        )
        assert dup.status_code == 409
        declined = client.post(f"/v1/sandbox/link-requests/{lr['request_id']}/decline")
        assert declined.status_code == 200 and declined.json()["status"] == "declined"
        assert client.delete(f"/v1/link-requests/{lr['request_id']}").status_code == 409

        second = _free_patient(client, {first["email"]})
        lr2 = client.post(
            "/v1/link-requests", json={"patient_email": second["email"], "scopes": ["pain:read"]}
        ).json()
        cancelled = client.delete(f"/v1/link-requests/{lr2['request_id']}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert client.post(f"/v1/sandbox/link-requests/{lr2['request_id']}/accept").status_code == 409

        unknown = client.post(
            "/v1/link-requests", json={"patient_email": "nobody@nowhere.example", "scopes": ["pain:read"]}
        )
        assert unknown.status_code == 422
        bad_scope = client.post(
            "/v1/link-requests", json={"patient_email": second["email"], "scopes": ["analytics:read"]}
        )
        assert bad_scope.status_code in (400, 422)


def test_workspaces_are_isolated(sandbox: RunningSandbox) -> None:
    with sandbox.client() as alpha, sandbox.client(sandbox.second_api_key) as beta:
        alpha_patients = [p["id"] for p in alpha.get("/v1/patients", params={"per_page": 100}).json()["data"]]
        beta_patients = [p["id"] for p in beta.get("/v1/patients", params={"per_page": 100}).json()["data"]]
        assert alpha_patients and beta_patients and not set(alpha_patients) & set(beta_patients)
        for patient_id in alpha_patients:
            for path in ("", "/pain-entries", "/timeline"):
                response = beta.get(f"/v1/patients/{patient_id}{path}")
                assert response.status_code == 404, (path, response.text)
        alpha_requests = alpha.get("/v1/link-requests").json()["data"]
        for request in alpha_requests:
            assert beta.get(f"/v1/link-requests/{request['request_id']}").status_code == 404
            assert beta.post(f"/v1/sandbox/link-requests/{request['request_id']}/accept").status_code == 404
