"""Layer (c) probes: requests the kit composes itself to test what needs more than one response."""

from __future__ import annotations

from conformance.context import Context
from conformance.probes.access import narrow_token_reads, scope_enforcement, tenant_isolation
from conformance.probes.idempotency import idempotent_replay
from conformance.probes.lists import date_filters, pagination
from conformance.probes.oauth import oauth_error_codes


def run_probes(ctx: Context) -> None:
    """Run every probe; each records its own outcomes (and skips, with the reason)."""
    pagination(ctx)
    date_filters(ctx)
    idempotent_replay(ctx)
    scope_enforcement(ctx)
    narrow_token_reads(ctx)
    tenant_isolation(ctx)
    oauth_error_codes(ctx)
