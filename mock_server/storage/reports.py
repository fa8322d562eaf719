"""Report jobs: a PDF report made in the background, and the PDF once it is made."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from mock_server.storage import schema

J = schema.report_jobs


class ReportJobRepo:
    """Owns ``report_jobs``: ``queued → running → completed | failed``, the finished PDF in the row so
    any worker process can serve it.

    Unit of work: every method takes the caller's connection. A job is created in the request's
    ``storage.unit_of_work()``; the job itself runs after that commit, each step in a
    ``storage.transaction()`` of its own, and completes in the same transaction as its
    ``report.completed`` event.
    """

    def create(
        self,
        conn: Connection,
        *,
        job_id: str,
        workspace_id: str,
        patient_ref: str,
        patient_id: str,
        lang: str,
        period_from: str,
        period_to: str,
        created_at: str,
    ) -> Any:
        """Store a queued job; returns its row."""
        conn.execute(
            J.insert().values(
                id=job_id,
                workspace_id=workspace_id,
                patient_ref=patient_ref,
                patient_id=patient_id,
                lang=lang,
                period_from=period_from,
                period_to=period_to,
                status="queued",
                created_at=created_at,
            )
        )
        return conn.execute(select(J).where(J.c.id == job_id)).one()

    def get(self, conn: Connection, workspace_id: str, job_id: str) -> Any:
        """The workspace's job (with its PDF once completed), or None."""
        return conn.execute(select(J).where(J.c.id == job_id, J.c.workspace_id == workspace_id)).first()

    def mark_running(self, conn: Connection, job_id: str) -> None:
        conn.execute(update(J).where(J.c.id == job_id).values(status="running"))

    def fail(self, conn: Connection, job_id: str, error: str, completed_at: str) -> None:
        """End the job as failed, saying why (cut at 1000 characters)."""
        conn.execute(
            update(J)
            .where(J.c.id == job_id)
            .values(status="failed", error=error[:1000], completed_at=completed_at)
        )

    def complete(self, conn: Connection, job_id: str, pdf: bytes, completed_at: str) -> None:
        conn.execute(
            update(J).where(J.c.id == job_id).values(status="completed", pdf=pdf, completed_at=completed_at)
        )
