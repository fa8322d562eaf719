"""The PDF and the JSON analysis take one path on the workspace clock, so they agree after an advance.

Why: the PDF used the wall clock where the JSON analysis used the workspace's test clock; after
``POST /v1/sandbox/clock/advance`` the PDF said it was generated days before the analysis it printed.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mock_server.reports.i18n import catalogue
from mock_server.timeutil import parse_iso
from tests.fixtures.sandbox import RunningSandbox
from tests.mock_server.handlers.test_access_control import fully_granted_patient
from tests.mock_server.reports.test_pdf import norm, text_of

ADVANCE_DAYS = 3


def test_after_an_advance_the_pdf_and_the_json_analysis_agree(sandbox_factory: Any) -> None:
    fresh: RunningSandbox = sandbox_factory()
    with fresh.client() as client:
        client.timeout = 120  # the advance generates data; a shared machine is slow
        patient = fully_granted_patient(client)
        advanced = client.post("/v1/sandbox/clock/advance", json={"days": ADVANCE_DAYS})
        assert advanced.status_code == 200, advanced.text
        analysis = client.get(f"/v1/patients/{patient}/analysis")
        pdf = client.get(f"/v1/patients/{patient}/reports/pdf", params={"lang": "en"})
        zone = ZoneInfo(client.get(f"/v1/patients/{patient}").json()["timezone"])
    assert analysis.status_code == 200 and pdf.status_code == 200, (analysis.text, pdf.status_code)
    result = analysis.json()
    generated = parse_iso(result["generated_at"])
    # the analysis is on the workspace clock, days ahead of the wall clock
    assert (generated - datetime.now(UTC)).days >= ADVANCE_DAYS - 1
    cat = catalogue("en")
    first_page = text_of(pdf.content)[0]
    # the same moment: the PDF's "generated" line is the analysis's generated_at, in the patient's zone
    # (the PDF was asked for a moment later, so its minute may be the next one)
    local = generated.astimezone(zone)
    stamps = [local, local + timedelta(minutes=1)]
    assert any(norm(f"{cat.date_long(t.date())} {cat.time(t)}") in first_page for t in stamps), first_page
    # the same period and the same data it summarises
    period = result["period"]
    assert (
        norm(cat.date_range(date.fromisoformat(period["from"]), date.fromisoformat(period["to"])))
        in first_page
    )
    assert norm(cat.integer(result["data_sufficiency"]["pain_entries"])) in first_page


def test_a_failed_report_job_ends_on_the_workspace_clock(sandbox_factory: Any, monkeypatch: Any) -> None:
    """A failed job's ``completed_at`` is on the sandbox clock, like a completed one's (it was the wall
    clock: after an advance, the job seemed to end days before it was created)."""
    from mock_server.handlers import reports

    def broken(*_: Any) -> bytes:
        raise RuntimeError("the renderer broke")

    monkeypatch.setattr(reports, "_render", broken)
    fresh: RunningSandbox = sandbox_factory()
    with fresh.client() as client:
        client.timeout = 120
        patient = fully_granted_patient(client)
        assert client.post("/v1/sandbox/clock/advance", json={"days": ADVANCE_DAYS}).status_code == 200
        job = client.post(f"/v1/patients/{patient}/reports", json={"lang": "en"}).json()
        deadline = time.monotonic() + 60
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
            job = client.get(f"/v1/reports/{job['id']}").json()
    assert job["status"] == "failed", job
    assert parse_iso(job["completed_at"]) >= parse_iso(job["created_at"])
    assert (parse_iso(job["completed_at"]) - datetime.now(UTC)).days >= ADVANCE_DAYS - 1
