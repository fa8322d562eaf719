"""Layer (d): end-to-end scenarios, using the sandbox controls when the target offers them.

Each scenario records one outcome under a pseudo-operation `scenario: <name>` (its requests are also
judged per operation by the per-response checks). Scenarios needing sandbox controls are skipped,
with the reason, against targets without them; scenarios that write are not run under --read-only.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.context import Context
from conformance.options import CLOCK_REASON
from conformance.receiver import Receiver
from conformance.scenarios import clock, consent, fhir, reports, webhooks
from conformance.steps import Step, run_steps


def webhook_scenario(ctx: Context) -> None:
    """Webhook delivery with the kit's receiver living exactly as long as the scenario."""
    with Receiver(
        ctx.target.validator, host=ctx.options.receiver_host, public_url=ctx.options.receiver_url
    ) as rx:
        webhooks.webhook_delivery(ctx, rx)


def clock_scenario(ctx: Context) -> None:
    """The clock cannot be moved back, so it only moves when the caller said so (--allow-clock)."""
    if not ctx.options.allow_clock:
        ctx.skip(clock.OPERATION, clock.CHECK, CLOCK_REASON)
        return
    clock.sandbox_clock(ctx)


SCENARIOS: tuple[Step, ...] = (
    Step(consent.consent_lifecycle, consent.OPERATION, consent.CHECK, writes=True),
    Step(reports.report_job, reports.OPERATION, reports.CHECK, writes=True),
    Step(fhir.fhir_search, fhir.OPERATION, fhir.CHECK),
    Step(webhook_scenario, webhooks.OPERATION, webhooks.CHECK, writes=True),
    # last: moving the clock may expire or generate data the others read
    Step(clock_scenario, clock.OPERATION, clock.CHECK, writes=True),
)


def run_scenarios(ctx: Context, progress: Callable[[str, str], None]) -> None:
    """Run all scenarios, each isolated from the others' failures."""
    run_steps(ctx, SCENARIOS, progress)


# After every layer that reads the run's patient: this one ends that patient's consent.
FINAL_SCENARIOS: tuple[Step, ...] = (
    Step(reports.report_after_revocation, reports.REVOKED_OPERATION, reports.REVOKED_CHECK, writes=True),
)


def run_final_scenarios(ctx: Context, progress: Callable[[str, str], None]) -> None:
    """Scenarios that revoke the run's patient, each isolated from the others' failures."""
    run_steps(ctx, FINAL_SCENARIOS, progress)
