"""Layer (c) probes: requests the kit composes itself to test what needs more than one response."""

from __future__ import annotations

from conformance.context import Context
from conformance.probes import access, idempotency, lists, oauth
from conformance.steps import Step, run_steps

PROBES: tuple[Step, ...] = (
    Step(lists.pagination, "list operations", "pagination_invariants"),
    Step(lists.date_filters, "list operations", "date_filter_respected"),
    Step(idempotency.idempotent_replay, idempotency.OPERATION, idempotency.CHECK, writes=True),
    # asks POST /oauth/token for a narrower token: a write, strictly speaking
    Step(access.scope_enforcement, "GET /v1/patients/{patient_id}/pain-entries", access.SCOPE, writes=True),
    # narrower tokens from POST /oauth/token again
    Step(
        access.narrow_token_reads,
        "GET /v1/patients/{patient_id}/timeline",
        access.NARROW_READS,
        writes=True,
    ),
    Step(access.tenant_isolation, "GET /v1/patients/{patient_id}", access.TENANT),
    # POSTs refused token requests: nothing changes on a conforming server, but it is not a safe method
    Step(oauth.oauth_error_codes, "POST /oauth/token", oauth.CHECK, writes=True),
)


def run_probes(ctx: Context) -> None:
    """Run every probe; each records its own outcomes (and skips, with the reason)."""
    run_steps(ctx, PROBES)
