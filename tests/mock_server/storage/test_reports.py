"""ReportJobRepo keeps the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

from mock_server.storage import Storage
from mock_server.storage.reports import ReportJobRepo
from tests.mock_server.storage.rows import patient, workspace


def _job(storage: Storage, ws: str, job_id: str) -> None:
    p = patient(storage, ws)
    with storage.unit_of_work() as conn:
        row = ReportJobRepo().create(
            conn,
            job_id=job_id,
            workspace_id=ws,
            patient_ref=p.id,
            patient_id=p.anon_id,
            lang="de",
            period_from="2026-04-01",
            period_to="2026-04-30",
            created_at="2026-05-01T00:00:00Z",
        )
    assert (row.id, row.status, row.pdf, row.completed_at, row.lang) == (job_id, "queued", None, None, "de")


def test_a_job_runs_and_completes_with_its_pdf(storage: Storage) -> None:
    repo = ReportJobRepo()
    ws, other = workspace(storage).workspace.id, workspace(storage).workspace.id
    _job(storage, ws, "rpt_1")
    with storage.transaction() as conn:
        repo.mark_running(conn, "rpt_1")
    with storage.read() as conn:
        assert repo.get(conn, ws, "rpt_1").status == "running"
        assert repo.get(conn, other, "rpt_1") is None  # another workspace's job is absent
    with storage.transaction() as conn:
        repo.complete(conn, "rpt_1", b"%PDF-1.7 ...", "2026-05-01T00:00:05Z")
    with storage.read() as conn:
        row = repo.get(conn, ws, "rpt_1")
    assert (row.status, bytes(row.pdf), row.completed_at, row.error) == (
        "completed",
        b"%PDF-1.7 ...",
        "2026-05-01T00:00:05Z",
        None,
    )


def test_a_failed_job_says_why_in_at_most_1000_characters(storage: Storage) -> None:
    repo = ReportJobRepo()
    ws = workspace(storage).workspace.id
    _job(storage, ws, "rpt_2")
    with storage.transaction() as conn:
        repo.fail(conn, "rpt_2", "x" * 5000, "2026-05-01T00:00:05Z")
    with storage.read() as conn:
        row = repo.get(conn, ws, "rpt_2")
    assert (row.status, row.error, row.pdf) == ("failed", "x" * 1000, None)
