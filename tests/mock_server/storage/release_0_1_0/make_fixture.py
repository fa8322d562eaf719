"""Rebuild ``sandbox.sqlite3``: a sandbox database exactly as release 0.1.0 (before Alembic) left it.

Run with release 0.1.0's code on the path, never today's (the point is the old schema and data):

    git archive af625dd | tar -x -C /tmp/release-0.1.0
    PYTHONPATH=/tmp/release-0.1.0 .venv/bin/python tests/mock_server/storage/release_0_1_0/make_fixture.py

It makes what an integrator's sandbox holds after a day of work — a workspace with its key and
seeded patients, a link request accepted (a consent) and one still pending, a webhook endpoint with
an event in its outbox — and writes what the migration test needs to find it again to
``expected.json``. Commit both files.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from starlette.testclient import TestClient

from mock_server.app import build_services, create_app
from mock_server.bootstrap import create_workspace
from mock_server.settings import Settings

HERE = Path(__file__).resolve().parent
DATABASE = HERE / "sandbox.sqlite3"


def main() -> None:
    for stale in HERE.glob("sandbox.sqlite3*"):
        stale.unlink()
    settings = Settings(database_url=f"sqlite:///{DATABASE}", demo=False, dispatcher=False)
    services = build_services(settings)
    made = create_workspace(
        settings, services.storage, "release-0-1-0", tier="enterprise", seed=7, seed_patients=False
    )
    client = TestClient(create_app(settings, services=services), headers={"X-API-Key": made.api_key})

    def call(method: str, path: str, **kwargs: object) -> dict[str, object]:
        response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else {}

    scopes = ["pain:read", "wellbeing:read", "vitals:read"]
    small = {"history_days": 14}  # a small file to commit; the shapes are what matter
    accepted_patient = call("POST", "/v1/sandbox/patients", json=small)
    pending_patient = call("POST", "/v1/sandbox/patients", json=small)
    webhook = call(
        "POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["consent.granted"]}
    )
    accepted = call(
        "POST", "/v1/link-requests", json={"patient_email": accepted_patient["email"], "scopes": scopes}
    )
    call("POST", f"/v1/sandbox/link-requests/{accepted['request_id']}/accept")
    pending = call(
        "POST", "/v1/link-requests", json={"patient_email": pending_patient["email"], "scopes": scopes}
    )
    patients = call("GET", "/v1/patients", params={"per_page": 100})
    services.storage.close()

    with sqlite3.connect(DATABASE) as conn:  # one compact file, no WAL beside it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    with sqlite3.connect(DATABASE) as conn:
        conn.execute("VACUUM")
    expected = {
        "api_key": made.api_key,
        "workspace_id": made.workspace.id,
        "patient_ids": sorted(str(p["id"]) for p in patients["data"]),  # type: ignore[index]
        "accepted_link_request": accepted["request_id"],
        "pending_link_request": pending["request_id"],
        "webhook_id": webhook["id"],
        "webhook_secret": webhook["secret"],
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(json.dumps(expected, indent=2))


if __name__ == "__main__":
    main()
