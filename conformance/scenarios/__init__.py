"""Layer (d): end-to-end scenarios, using the sandbox controls when the target offers them.

Each scenario records one outcome under a pseudo-operation `scenario: <name>` (its requests are also
judged per operation by the per-response checks). Scenarios needing sandbox controls are skipped,
with the reason, against targets without them.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.context import Context
from conformance.receiver import Receiver
from conformance.scenarios.clock import sandbox_clock
from conformance.scenarios.consent import consent_lifecycle
from conformance.scenarios.fhir import fhir_search
from conformance.scenarios.reports import report_after_revocation, report_job
from conformance.scenarios.webhooks import webhook_delivery


def run_scenarios(ctx: Context, progress: Callable[[str, str], None]) -> None:
    """Run all scenarios; the webhook receiver lives exactly as long as they do."""
    progress("layer", "scenarios: consent lifecycle")
    consent_lifecycle(ctx)
    progress("layer", "scenarios: report job and PDF")
    report_job(ctx)
    progress("layer", "scenarios: FHIR search")
    fhir_search(ctx)
    progress("layer", "scenarios: webhook delivery")
    with Receiver(
        ctx.target.validator, host=ctx.options.receiver_host, public_url=ctx.options.receiver_url
    ) as rx:
        webhook_delivery(ctx, rx)
    progress("layer", "scenarios: sandbox clock")
    sandbox_clock(ctx)  # last: moving the clock may expire or generate data the others read


def run_final_scenarios(ctx: Context, progress: Callable[[str, str], None]) -> None:
    """Scenarios that end the run's patient's consent: after every layer that reads that patient."""
    progress("layer", "scenarios: report access after revocation")
    report_after_revocation(ctx)
