"""Report job → completed → PDF download, plus the synchronous PDF, validated by content."""

from __future__ import annotations

import time

from conformance.checks.content import pdf_content
from conformance.context import Context, error_code
from conformance.errors import ConformanceFailure

CHECK = "report_job"
OPERATION = "scenario: report job"
POLL_SECONDS = 0.2


def report_job(ctx: Context) -> None:
    """Ask for a report, poll it to completion, download it; fetch the synchronous PDF too."""
    if not ctx.needs_patient(OPERATION, CHECK):
        return
    assert ctx.patient_id is not None
    target = ctx.target
    ids = {"patient_id": ctx.patient_id}
    try:
        if ctx.documented("GET", "/v1/patients/{patient_id}/reports/pdf"):
            pdf = target.request(
                "GET",
                "/v1/patients/{patient_id}/reports/pdf",
                path_params=ids,
                params={"lang": "fi"},
                validate=False,
            )
            ctx.expect_status(pdf, CHECK, 200, "200 application/pdf")
            pdf_content(pdf)
            ctx.passed(pdf.operation, "pdf_content")
        if not ctx.documented("POST", "/v1/patients/{patient_id}/reports"):
            return
        created = target.request(
            "POST", "/v1/patients/{patient_id}/reports", path_params=ids, json_body={"lang": "de"}
        )
        job = ctx.expect_status(created, CHECK, 202, "202 ReportJob")
        report_id = str(job.get("id"))
        deadline = time.monotonic() + ctx.options.webhook_timeout * 2
        while True:
            polled = target.request("GET", "/v1/reports/{report_id}", path_params={"report_id": report_id})
            job = ctx.expect_status(polled, CHECK, 200, "200 ReportJob")
            if job.get("status") == "completed":
                break
            if job.get("status") == "failed" or time.monotonic() > deadline:
                raise ConformanceFailure(
                    CHECK,
                    f"report {report_id} status {job.get('status')!r} (error {job.get('error')!r})",
                    f"status 'completed' within {ctx.options.webhook_timeout * 2:.0f} s",
                )
            time.sleep(POLL_SECONDS)
        if not job.get("download_url"):
            raise ConformanceFailure(
                CHECK, f"completed report {report_id} without download_url", "download_url once completed"
            )
        download = target.request(
            "GET", "/v1/reports/{report_id}/download", path_params={"report_id": report_id}, validate=False
        )
        ctx.expect_status(download, CHECK, 200, "200 application/pdf")
        pdf_content(download)
        ctx.report_id = report_id
        ctx.passed(download.operation, "pdf_content")
    except ConformanceFailure as failure:
        ctx.fail(failure, failure.operation if failure.check == "pdf_content" else OPERATION)
    else:
        ctx.passed(OPERATION, CHECK)


REVOKED_CHECK = "report_access_after_revocation"
REVOKED_OPERATION = "scenario: report access after revocation"


def report_after_revocation(ctx: Context) -> None:
    """Revocation ends everything: a PDF made before the patient revoked is not served after it.

    Reuses the report scenario's completed report and revokes its patient, so it runs last.
    """
    if not ctx.documented("GET", "/v1/reports/{report_id}/download"):
        return
    if not ctx.sandbox:
        ctx.skip(REVOKED_OPERATION, REVOKED_CHECK, "needs the sandbox controls to revoke as the patient")
        return
    if not (ctx.patient_id and ctx.report_id):
        ctx.skip(REVOKED_OPERATION, REVOKED_CHECK, "no completed report (see the report_job scenario)")
        return
    target = ctx.target
    try:
        ctx.expect_status(
            target.request(
                "POST", "/v1/sandbox/patients/{patient_id}/revoke", path_params={"patient_id": ctx.patient_id}
            ),
            REVOKED_CHECK,
            (200, 409),  # 409: Schemathesis' phase may have revoked this patient already
            "200 on revoke (409 when already revoked)",
        )
        for path in ("/v1/reports/{report_id}", "/v1/reports/{report_id}/download"):
            after = target.request("GET", path, path_params={"report_id": ctx.report_id})
            body = ctx.expect_status(
                after, REVOKED_CHECK, 403, "403 consent_revoked once the patient revoked"
            )
            if error_code(body) != "consent_revoked":
                raise ConformanceFailure(
                    REVOKED_CHECK,
                    f"{after.describe()} error.code {error_code(body)!r}",
                    "error.code 'consent_revoked'",
                    operation=after.operation,
                )
    except ConformanceFailure as failure:
        ctx.fail(failure, REVOKED_OPERATION)
    else:
        ctx.passed(REVOKED_OPERATION, REVOKED_CHECK)
