"""Clinic-ready PDF reports: synchronously (seed 000) or as a job with a ``report.completed`` webhook.

Rendering takes a few hundred milliseconds, so it runs on a pool of its own (``services.reports``):
the event loop keeps serving other requests meanwhile, and no handler thread waits it out. Jobs run
in the process that accepted them; their state and the finished PDF live in the database, so any
worker can answer ``GET /v1/reports/{id}``.

Revocation ends everything: reading or downloading a report checks the patient's consent again
(403 ``consent_revoked`` once revoked, whenever the PDF was made), and a job re-checks, under the
consent row's lock, that the consent it started with is still the patient's active one before it
completes — otherwise it fails with the reason and fires no ``report.completed``.
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import Future
from datetime import date
from typing import Any

from mock_server.consent import ActiveConsent, ConsentService
from mock_server.context import ApiRequest, Reply, Services, accepted, ok
from mock_server.errors import ApiError, not_found
from mock_server.handlers._period import period
from mock_server.handlers._shared import consented, consents, held_scopes, now
from mock_server.reports.inputs import analyze_patient
from mock_server.storage.consents import ConsentRepo
from mock_server.storage.patients import PatientRepo
from mock_server.storage.reports import ReportJobRepo
from mock_server.timeutil import iso
from mock_server.webhooks.outbox import emit_event

log = logging.getLogger("care_sandbox.reports")
JOBS = ReportJobRepo()


def _render(
    services: Services, workspace_id: str, consent: ActiveConsent, first: date, last: date, lang: str
) -> bytes:
    # the PDF (matplotlib, fpdf2) and the analysis (numpy) are imported when a report is first made:
    # ~1.5 s of imports the server's start-up paid when Connexion resolved this module (issue #16)
    from mock_server.reports.pdf import render_report

    # the JSON analysis's path and clock: the PDF prints the same findings and "generated" moment
    made = analyze_patient(services, workspace_id, consent, first, last)
    inputs = made.inputs
    return render_report(
        made.result,
        inputs.pain_entries,
        inputs.wellbeing,
        inputs.vitals,
        lang=lang,
        patient_label=consent.anon_id,
        period_from=first,
        period_to=last,
        generated_at=made.generated_at,
        tz=inputs.timezone,
    )


async def pdf(req: ApiRequest) -> Reply:
    """Async so that no handler thread waits out the rendering: it runs on the reports pool."""
    data, name = await req.services.reports.run(_pdf, req)
    return Reply(
        200, data, {"Content-Disposition": f'attachment; filename="{name}"'}, media_type=pdf_media_type(req)
    )


def _pdf(req: ApiRequest) -> tuple[bytes, str]:
    """The consent check, the period (the workspace clock) and the rendering, all on a thread: the
    checks read the database, and a read on the event loop waits for a pooled connection while every
    other request waits behind it."""
    consent = consented(req, "reports:read")
    first, last = period(req)
    lang = req.params.get("lang", "en")
    data = _render(req.services, req.workspace_id, consent, first, last, lang)
    from mock_server.reports.pdf import report_filename  # loaded by _render already

    return data, report_filename(consent.anon_id, first, last, lang)


def pdf_media_type(req: ApiRequest) -> str:
    """``application/pdf``, unless the client asks for ``application/octet-stream`` and not PDF.

    Why: download tools and generated SDKs (openapi-python-client reads only JSON, text and
    octet-stream bodies) ask for octet-stream; the contract offers the same bytes under both types.
    """
    accept = req.headers.get("accept", "").lower()
    if "application/octet-stream" in accept and "application/pdf" not in accept:
        return "application/octet-stream"
    return "application/pdf"


def _job_view(row: Any) -> dict[str, Any]:
    done = row.status == "completed"
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "status": row.status,
        "lang": row.lang,
        "from": row.period_from,
        "to": row.period_to,
        "created_at": row.created_at,
        "completed_at": row.completed_at,
        "download_url": f"/v1/reports/{row.id}/download" if done else None,
        "error": row.error,
    }


def _run_job(
    services: Services,
    job_id: str,
    consent: ActiveConsent,
    first: date,
    last: date,
    lang: str,
    workspace_id: str,
) -> None:
    """The job, run on a thread: its transactions check connections out of the pool, which must never
    wait on the event loop (with the pool in use by requests in flight, that wait froze the process)."""
    storage = services.storage
    with storage.transaction() as conn:
        JOBS.mark_running(conn, job_id)
    try:
        data = _render(services, workspace_id, consent, first, last, lang)
    except Exception as exc:  # a failed job is reported on the job, not lost
        log.exception("report job %s failed", job_id)
        with storage.transaction() as conn:
            JOBS.fail(conn, job_id, str(exc), iso(services.clock.now(workspace_id)))  # as completions are
        return
    moment = services.clock.now(workspace_id)
    gate = ConsentService(
        services.storage, PatientRepo(services.storage), services.settings.link_request_ttl_days
    )
    with storage.transaction() as conn:
        # lock the consent row: a revoke running now either commits first (and we see it) or waits
        # until report.completed is written, so the events can never read "revoked, then completed"
        ConsentRepo().lock(conn, consent.row.id)
        latest = gate.latest(conn, workspace_id, consent.anon_id)
        if latest is None or latest.id != consent.row.id or latest.status != "active":
            when = f" at {latest.revoked_at}" if latest is not None and latest.revoked_at else ""
            JOBS.fail(
                conn,
                job_id,
                f"consent_revoked: the patient revoked consent{when} while the report was being "
                "made; the report was discarded",
                iso(moment),
            )
            return
        JOBS.complete(conn, job_id, data, iso(moment))
        emit_event(
            conn,
            workspace_id=workspace_id,
            event_type="report.completed",
            patient_id=consent.anon_id,
            data={
                "report_id": job_id,
                "status": "completed",
                "download_url": f"/v1/reports/{job_id}/download",
                "lang": lang,
            },
            timestamp=iso(moment),
        )
    services.wake_dispatcher()  # thread-safe: it signals the loop


def create(req: ApiRequest) -> Reply:
    consent = consented(req, "reports:read")
    body = req.body or {}
    first, last = period(req, {"from": body.get("from"), "to": body.get("to")})
    job_id = f"rpt_{secrets.token_hex(10)}"
    with req.services.storage.unit_of_work() as conn:
        row = JOBS.create(
            conn,
            job_id=job_id,
            workspace_id=req.workspace_id,
            patient_ref=consent.patient_ref,
            patient_id=consent.anon_id,
            lang=body["lang"],
            period_from=first.isoformat(),
            period_to=last.isoformat(),
            created_at=iso(now(req)),
        )
    services, workspace_id, lang = req.services, req.workspace_id, body["lang"]

    def start() -> None:
        job = services.reports.submit(_run_job, services, job_id, consent, first, last, lang, workspace_id)
        job.add_done_callback(_log_failure)

    # the job row must be committed before the job looks for it: the gateway commits this handler's
    # unit of work (with the idempotency key's record, for a keyed POST) after it returns
    services.storage.after_commit(start)
    reply = accepted(_job_view(row))
    reply.headers["Location"] = f"/v1/reports/{job_id}"
    return reply


def _log_failure(job: Future[None]) -> None:
    """A job that raised past its own handling (``_run_job`` records render failures on the job): the
    database went away. Logged, as nothing waits on the job."""
    error = None if job.cancelled() else job.exception()
    if error is not None:
        log.error("report job failed outside its own handling", exc_info=error)


def _job(req: ApiRequest) -> Any:
    """The report, if this workspace made it *and* may still read its patient (403 after revocation)."""
    with req.services.storage.read() as conn:
        row = JOBS.get(conn, req.workspace_id, req.params["report_id"])
    if row is None:
        raise not_found("report", req.params["report_id"])
    consents(req).require(req.workspace_id, row.patient_id, "reports:read", held_scopes(req))
    return row


def get(req: ApiRequest) -> Reply:
    return ok(_job_view(_job(req)))


def download(req: ApiRequest) -> Reply:
    row = _job(req)
    if row.status != "completed" or row.pdf is None:
        raise ApiError(
            409,
            "invalid_state_transition",
            f"report {row.id} is {row.status}; download it once completed",
            {"status": row.status},
        )
    from mock_server.reports.pdf import report_filename  # see _render

    name = report_filename(
        row.patient_id, date.fromisoformat(row.period_from), date.fromisoformat(row.period_to), row.lang
    )
    return Reply(
        200,
        bytes(row.pdf),
        {"Content-Disposition": f'attachment; filename="{name}"'},
        media_type=pdf_media_type(req),
    )
