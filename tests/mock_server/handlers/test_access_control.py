"""Nothing reads more than it may (issue 12): credential ∩ patient grant on every path, sandbox:manage,
revocation that ends report access, and the smaller holes (LIKE input, future check-ins, order).

Each test names the hole it closes; all of them failed on the code before the fix. Storage-backed ones
run on SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mock_server.storage import schema
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.timeutil import iso, parse_iso
from tests.fixtures.sandbox import RunningSandbox

FULL_GRANT = {"pain:read", "wellbeing:read", "vitals:read", "reports:read", "fhir:read"}
PAIN_LOINC = "72514-3"


def narrow_key(sandbox: RunningSandbox, *scopes: str) -> str:
    """A second API key of workspace alpha holding only ``scopes``."""
    repo: WorkspaceRepo = sandbox.services.workspaces
    return repo.add_api_key(sandbox.alpha.workspace.id, tuple(scopes))


def fully_granted_patient(client: httpx.Client) -> str:
    """A seeded patient whose consent grants pain, wellbeing, vitals, reports and FHIR."""
    resp = client.get("/v1/patients", params={"per_page": 100})
    assert resp.status_code == 200, resp.text
    for patient in resp.json()["data"]:
        if set(patient["consent"]["scopes"]) >= FULL_GRANT:
            return str(patient["id"])
    raise AssertionError("no seeded patient grants every data scope")


def wait_for_report(client: httpx.Client, report_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(f"/v1/reports/{report_id}").json()
        if job.get("status") in {"completed", "failed"} or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


# --- credential ∩ grant ----------------------------------------------------------------------------


def test_a_pain_only_token_sees_only_pain_items_on_the_timeline(sandbox: RunningSandbox) -> None:
    with sandbox.client() as full:
        patient = fully_granted_patient(full)
        everything = full.get(f"/v1/patients/{patient}/timeline", params={"per_page": 100})
    assert everything.status_code == 200, everything.text
    assert {i["type"] for i in everything.json()["data"]} > {"pain_entry"}  # the patient has more
    with sandbox.client(narrow_key(sandbox, "patients:read", "pain:read")) as narrow:
        resp = narrow.get(f"/v1/patients/{patient}/timeline", params={"per_page": 100})
        asked = narrow.get(f"/v1/patients/{patient}/timeline", params={"types": "vital,wellbeing"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"] and {i["type"] for i in resp.json()["data"]} == {"pain_entry"}
    assert resp.json()["pagination"]["total"] < everything.json()["pagination"]["total"]
    assert (
        asked.status_code == 200 and asked.json()["data"] == [] and asked.json()["pagination"]["total"] == 0
    )


def test_the_timeline_is_served_oldest_first_as_the_contract_says(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        patient = fully_granted_patient(client)
        resp = client.get(f"/v1/patients/{patient}/timeline", params={"per_page": 100})
        second = client.get(f"/v1/patients/{patient}/timeline", params={"per_page": 100, "page": 2})
    times = [i["at"] for i in resp.json()["data"]]
    assert len(times) == 100 and times == sorted(times)
    assert second.json()["data"] and second.json()["data"][0]["at"] >= times[-1]


def _observation_codes(bundle: dict[str, Any]) -> set[str]:
    return {
        coding["code"] for entry in bundle.get("entry", []) for coding in entry["resource"]["code"]["coding"]
    }


def test_fhir_observation_categories_need_their_data_scope_on_the_credential(sandbox: RunningSandbox) -> None:
    search = "/fhir/r4/Observation"
    with sandbox.client() as full:
        patient = fully_granted_patient(full)
        everything = full.get(search, params={"patient": patient, "_count": 100}).json()
        pain_only = full.get(search, params={"patient": patient, "code": PAIN_LOINC}).json()
    assert 0 < pain_only["total"] < everything["total"]  # the patient has pain and vitals Observations
    with sandbox.client(narrow_key(sandbox, "fhir:read")) as fhir_only:
        none = fhir_only.get(search, params={"patient": patient, "_count": 100})
    assert none.status_code == 200, none.text
    assert none.json().get("entry", []) == [] and none.json()["total"] == 0
    with sandbox.client(narrow_key(sandbox, "fhir:read", "pain:read")) as pain_fhir:
        pain = pain_fhir.get(search, params={"patient": patient, "_count": 100})
    assert pain.status_code == 200, pain.text
    assert pain.json()["total"] == pain_only["total"]
    assert _observation_codes(pain.json()) == {PAIN_LOINC}


def test_analysis_pdf_and_reports_read_only_what_the_credential_holds(sandbox: RunningSandbox) -> None:
    with sandbox.client() as full:
        patient = fully_granted_patient(full)
        rich = full.get(f"/v1/patients/{patient}/analysis").json()
    assert rich["data_sufficiency"]["pain_entries"] > 0
    with sandbox.client(narrow_key(sandbox, "reports:read")) as reports_only:
        bare = reports_only.get(f"/v1/patients/{patient}/analysis")
        assert bare.status_code == 200, bare.text
        assert bare.json()["data_sufficiency"]["pain_entries"] == 0
        assert {f["status"] for f in bare.json()["findings"]} == {"not_enough_data"}
        # the PDF and the report job are the same computation over the same inputs
        pdf = reports_only.get(f"/v1/patients/{patient}/reports/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        job = reports_only.post(f"/v1/patients/{patient}/reports", json={"lang": "en"})
        assert job.status_code == 202, job.text
        assert wait_for_report(reports_only, job.json()["id"])["status"] == "completed"


def test_population_analytics_reads_no_series_the_credential_lacks(sandbox: RunningSandbox) -> None:
    params = {"metric": "pain", "group_by": "week"}
    with sandbox.client() as full:
        rich = full.get("/v1/analytics/population", params=params)
    assert rich.status_code == 200, rich.text
    assert max(g["cohort_size"] for g in rich.json()["groups"]) > 0
    with sandbox.client(narrow_key(sandbox, "analytics:read")) as narrow:
        bare = narrow.get("/v1/analytics/population", params=params)
    assert bare.status_code == 200, bare.text
    assert all(g["cohort_size"] == 0 for g in bare.json()["groups"])


# --- sandbox:manage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/sandbox/patients"),
        ("GET", "/v1/sandbox/clock"),
        ("POST", "/v1/sandbox/clock/advance"),
        ("POST", "/v1/sandbox/reset"),
        ("POST", "/v1/sandbox/patients/p2c_anon_0000000000/revoke"),
    ],
)
def test_sandbox_controls_need_sandbox_manage(sandbox: RunningSandbox, method: str, path: str) -> None:
    data_scopes = ("patients:read", "pain:read", "wellbeing:read", "vitals:read", "reports:read", "fhir:read")
    with sandbox.client(narrow_key(sandbox, *data_scopes)) as client:
        resp = client.request(method, path, json={"days": 1} if path.endswith("advance") else None)
    assert resp.status_code == 403, resp.text
    error = resp.json()["error"]
    assert error["code"] == "insufficient_scope" and error["details"]["required"] == ["sandbox:manage"]


def test_the_workspace_key_and_an_oauth_client_hold_sandbox_manage(sandbox: RunningSandbox) -> None:
    assert "sandbox:manage" in sandbox.alpha.workspace.scopes
    with sandbox.client() as client:
        assert client.get("/v1/sandbox/clock").status_code == 200
        meta = client.get("/.well-known/oauth-authorization-server").json()
    assert "sandbox:manage" in meta["scopes_supported"]
    token = httpx.post(
        f"{sandbox.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.alpha.client_id,
            "client_secret": sandbox.alpha.client_secret,
            "scope": "sandbox:manage",
        },
    )
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert httpx.get(f"{sandbox.base_url}/v1/sandbox/clock", headers=bearer).status_code == 200
    assert httpx.get(f"{sandbox.base_url}/v1/patients", headers=bearer).status_code == 403


# --- revocation ends report access -------------------------------------------------------------------


def test_reports_made_before_revocation_are_not_served_after_it(
    sandbox_factory: Callable[..., RunningSandbox], database_url: str
) -> None:
    running = sandbox_factory(database_url=database_url)
    with running.client() as client:
        patient = fully_granted_patient(client)
        job = client.post(f"/v1/patients/{patient}/reports", json={"lang": "en"}).json()
        assert wait_for_report(client, job["id"])["status"] == "completed"
        assert client.get(f"/v1/reports/{job['id']}/download").status_code == 200
        assert client.post(f"/v1/sandbox/patients/{patient}/revoke").status_code == 200
        for path in (f"/v1/reports/{job['id']}", f"/v1/reports/{job['id']}/download"):
            resp = client.get(path)
            assert resp.status_code == 403, (path, resp.text)
            assert resp.json()["error"]["code"] == "consent_revoked"


def test_a_job_running_across_the_revocation_fails_and_fires_no_report_completed(
    sandbox_factory: Callable[..., RunningSandbox], database_url: str
) -> None:
    from mock_server.consent import ConsentService
    from mock_server.handlers import reports
    from mock_server.storage.patients import PatientRepo

    running = sandbox_factory(database_url=database_url)
    services = running.services
    workspace = running.alpha.workspace.id
    with running.client() as client:
        patient = fully_granted_patient(client)
        consent = ConsentService(services.storage, PatientRepo(services.storage), 30).require(
            workspace, patient, "reports:read"
        )
        job = client.post(f"/v1/patients/{patient}/reports", json={"lang": "en"}).json()
        assert wait_for_report(client, job["id"])["status"] == "completed"  # the normal path
        # the job was accepted while consent was active; the patient revokes before it completes
        assert client.post(f"/v1/sandbox/patients/{patient}/revoke").status_code == 200
    with services.storage.unit_of_work() as conn:
        conn.execute(
            schema.report_jobs.update().where(schema.report_jobs.c.id == job["id"]).values(status="queued")
        )
    first = date.today() - timedelta(days=30)
    reports._run_job(services, job["id"], consent, first, date.today(), "en", workspace)
    with services.storage.read() as conn:
        row = conn.execute(select(schema.report_jobs).where(schema.report_jobs.c.id == job["id"])).one()
        events = conn.execute(
            select(schema.events.c.type, schema.events.c.payload).where(
                schema.events.c.workspace_id == workspace
            )
        ).all()
    assert row.status == "failed" and row.error.startswith("consent_revoked"), row.error
    completed = [e for e in events if e.type == "report.completed" and job["id"] in e.payload]
    assert len(completed) == 1  # the first, normal run only; none after consent.revoked


def test_revoke_and_regrant_in_the_same_second_read_as_granted(
    sandbox_factory: Callable[..., RunningSandbox], database_url: str
) -> None:
    from mock_server.consent import ConsentService
    from mock_server.errors import ApiError
    from mock_server.storage.patients import PatientRepo

    running = sandbox_factory(database_url=database_url, dispatcher=False)
    storage = running.services.storage
    service = ConsentService(storage, PatientRepo(storage), 30)
    workspace = running.alpha.workspace.id
    with running.client() as client:
        people = client.get("/v1/sandbox/patients", params={"per_page": 100}).json()["data"]
    moment = parse_iso("2026-06-01T12:00:00Z")
    rounds = 0
    for person in people:
        try:
            request = service.create_request(workspace, person["email"], ["pain:read"], None, moment)
        except ApiError:  # consented or asked already in the seed
            continue
        rounds += 1
        granted = service.accept(workspace, request["request_id"], None, moment)
        anon = granted["consent"]["patient_id"]
        service.revoke(workspace, anon, moment)
        again = service.create_request(workspace, person["email"], ["pain:read"], None, moment)
        service.accept(workspace, again["request_id"], None, moment)
        # every consent of this patient has granted_at == moment: only the sequence can tell them apart
        assert service.require(workspace, anon, "pain:read").row.status == "active"
        total, rows = service.list_consented(workspace, "active", anon, 1, 10)
        assert total == 1 and rows[0].anon_id == anon
    assert rounds >= 5  # with a random tie-break, 5 rounds pass by chance 1 time in 32


# --- smaller holes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("search", ["%", "p2c%", "a_o", "p2c_an_n"])  # ids are p2c_anon_…
def test_patient_search_treats_like_wildcards_as_characters(sandbox: RunningSandbox, search: str) -> None:
    with sandbox.client() as client:
        everyone = client.get("/v1/patients").json()["pagination"]["total"]
        resp = client.get("/v1/patients", params={"search": search})
    assert everyone > 0
    assert resp.status_code == 200, resp.text
    assert resp.json()["pagination"]["total"] == 0 and resp.json()["data"] == []


def test_patient_search_still_finds_substrings(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        first = client.get("/v1/patients").json()["data"][0]["id"]
        found = client.get("/v1/patients", params={"search": first[-6:]}).json()["data"]
    assert first in [p["id"] for p in found]


@pytest.mark.parametrize("kind", ["pain-entries", "wellbeing"])
def test_a_check_in_dated_in_the_future_is_422(sandbox: RunningSandbox, kind: str) -> None:
    field = "logged_at" if kind == "pain-entries" else "completed_at"
    body: dict[str, Any] = (
        {"pain_level": 4, "areas": [{"id": "left_knee", "max_intensity": 4}]}
        if kind == "pain-entries"
        else {"dimensions": {"cheerful": 3, "calm": 3, "active": 3, "rested": 3, "interested": 3}}
    )
    with sandbox.client() as client:
        patient = fully_granted_patient(client)
        now = parse_iso(client.get("/v1/sandbox/clock").json()["now"])
        future = client.post(
            f"/v1/sandbox/patients/{patient}/{kind}", json={**body, field: iso(now + timedelta(days=1))}
        )
        skewed = client.post(
            f"/v1/sandbox/patients/{patient}/{kind}", json={**body, field: iso(now + timedelta(minutes=2))}
        )
    assert future.status_code == 422, future.text
    error = future.json()["error"]
    assert error["code"] == "unprocessable_entity" and field in error["details"]["errors"]
    assert skewed.status_code == 201, skewed.text  # a phone's clock a little ahead is fine


@pytest.mark.parametrize("status", ["queued", "running", "failed"])
def test_a_report_not_completed_answers_409_invalid_state_transition_as_the_contract_says(
    sandbox: RunningSandbox, status: str
) -> None:
    """``reports.download`` documents 409 ``invalid_state_transition`` while queued/running or after failure."""
    with sandbox.client() as client:
        patient = fully_granted_patient(client)
        job = client.post(f"/v1/patients/{patient}/reports", json={"lang": "en"}).json()
        assert wait_for_report(client, job["id"])["status"] == "completed"
        with sandbox.services.storage.unit_of_work() as conn:  # the job as it was before it completed
            conn.execute(
                schema.report_jobs.update()
                .where(schema.report_jobs.c.id == job["id"])
                .values(status=status, pdf=None)
            )
        resp = client.get(f"/v1/reports/{job['id']}/download")
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["code"] == "invalid_state_transition"
    assert resp.json()["error"]["details"] == {"status": status}
