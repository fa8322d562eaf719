"""Report job → completed → PDF download, plus the synchronous PDF, validated by content."""

from __future__ import annotations

import time

from conformance.checks.content import pdf_content
from conformance.context import Context
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
        ctx.passed(download.operation, "pdf_content")
    except ConformanceFailure as failure:
        ctx.fail(failure, failure.operation if failure.check == "pdf_content" else OPERATION)
    else:
        ctx.passed(OPERATION, CHECK)
