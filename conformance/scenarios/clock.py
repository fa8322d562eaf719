"""The sandbox test clock: advancing it moves `now` by exactly what was asked."""

from __future__ import annotations

from datetime import datetime

from conformance.context import Context
from conformance.errors import ConformanceFailure

CHECK = "sandbox_clock"
OPERATION = "scenario: sandbox clock"
HOURS = 1
SLACK_SECONDS = 120


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def sandbox_clock(ctx: Context) -> None:
    """GET the clock, advance it an hour, GET it again; the offset grows by an hour, `now` with it."""
    if not ctx.sandbox:
        ctx.skip(OPERATION, CHECK, "the target offers no sandbox controls (GET /v1/sandbox/clock is not 200)")
        return
    if not ctx.documented("POST", "/v1/sandbox/clock/advance"):
        return
    try:
        before = ctx.expect_status(
            ctx.target.request("GET", "/v1/sandbox/clock"), CHECK, 200, "200 {now, offset}"
        )
        moved = ctx.target.request("POST", "/v1/sandbox/clock/advance", json_body={"hours": HOURS})
        advanced = ctx.expect_status(moved, CHECK, 200, "200 {now, expired_link_requests, generated}")
        after = ctx.expect_status(
            ctx.target.request("GET", "/v1/sandbox/clock"), CHECK, 200, "200 {now, offset}"
        )
        grown = int(after.get("offset_seconds", 0)) - int(before.get("offset_seconds", 0))
        if not HOURS * 3600 <= grown <= HOURS * 3600 + SLACK_SECONDS:
            raise ConformanceFailure(
                CHECK,
                f"offset_seconds grew by {grown} after advancing {HOURS} h",
                f"{HOURS * 3600} seconds more offset",
            )
        start, end = _moment(before.get("now")), _moment(advanced.get("now"))
        if start is None or end is None or (end - start).total_seconds() < HOURS * 3600:
            raise ConformanceFailure(
                CHECK,
                f"now went from {before.get('now')!r} to {advanced.get('now')!r}",
                f"now at least {HOURS} h later",
            )
    except ConformanceFailure as failure:
        ctx.fail(failure, OPERATION)
    else:
        ctx.passed(OPERATION, CHECK)
