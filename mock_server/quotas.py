"""Per-workspace quotas: records, webhook endpoints and how far the test clock may run ahead.

Why: one tenant's fuzzer or runaway test must not grow the shared database without bound (seven
minutes of fuzzing left a 1.6 GB SQLite file plus a 1.6 GB WAL). Every limit is a setting
(``quota_*`` in :class:`~mock_server.settings.Settings`, 0 turns one off) and every refusal is one
409 ``quota_exceeded`` that names the quota, its limit and what the request would have made of it,
checked before anything is written.
"""

from __future__ import annotations

import threading
import time

from mock_server.errors import ApiError
from mock_server.settings import Settings
from mock_server.storage import Connection, purge

DAY_SECONDS = 86_400.0
TYPICAL_ROWS_PER_PATIENT_DAY = 30.0  # a guess used only before a workspace has any data
COUNT_TTL_SECONDS = 5.0
_COUNTS: dict[str, tuple[float, int]] = {}  # workspace -> (fresh until, records) for check-ins
_COUNTS_LOCK = threading.Lock()


def exceeded(quota: str, limit: int, current: float, requested: float, unit: str) -> ApiError:
    return ApiError(
        409,
        "quota_exceeded",
        f"this would take the workspace's {quota} quota past its limit of {limit} {unit}; "
        "reset the workspace or remove data first",
        {"quota": quota, "limit": limit, "current": current, "requested": requested},
    )


def check_clock(settings: Settings, ahead_seconds: float, step_seconds: float) -> None:
    """The test clock may run at most ``quota_clock_days`` ahead of real time."""
    limit = settings.quota_clock_days
    if limit > 0 and ahead_seconds + step_seconds > limit * DAY_SECONDS:
        raise exceeded(
            "clock_days",
            limit,
            round(ahead_seconds / DAY_SECONDS, 3),
            round(step_seconds / DAY_SECONDS, 3),
            "days ahead of real time",
        )


def check_records(settings: Settings, conn: Connection, workspace_id: str, adding: int) -> None:
    """At most ``quota_records`` stored records (pain, wellbeing, gauges, vitals) per workspace.

    For the one-record writes (check-ins) the count is remembered for ``COUNT_TTL_SECONDS`` and
    advanced by what each write adds: counting a large workspace's records on every check-in would
    cost more than the check-in. A quota may so be passed by the writes of a few seconds, never more.
    """
    limit = settings.quota_records
    if limit <= 0:
        return
    now = time.monotonic()
    with _COUNTS_LOCK:
        remembered = _COUNTS.get(workspace_id)
    if remembered is not None and remembered[0] > now:
        current = remembered[1]
    else:
        current = purge.count_records(conn, workspace_id)
    if current + adding > limit:
        raise exceeded("records", limit, current, adding, "records")
    with _COUNTS_LOCK:
        if len(_COUNTS) > 10_000:
            _COUNTS.clear()
        expires = remembered[0] if remembered is not None and remembered[0] > now else now + COUNT_TTL_SECONDS
        _COUNTS[workspace_id] = (expires, current + adding)


def forget(workspace_id: str) -> None:
    """Drop the remembered record count (after a reset or an advance changed it wholesale)."""
    with _COUNTS_LOCK:
        _COUNTS.pop(workspace_id, None)


def check_records_for_days(
    settings: Settings, conn: Connection, workspace_id: str, days: float, patients: int | None = None
) -> None:
    """Before generating: what ``days`` more of ``patients`` (default: every patient of the workspace)
    would add, at the workspace's rows per patient-day so far (a typical day when it has none yet)."""
    if settings.quota_records <= 0 or days <= 0:
        return
    current = purge.count_records(conn, workspace_id)
    existing, patient_days = purge.count_generated_days(conn, workspace_id)
    per_patient_day = current / patient_days if patient_days else TYPICAL_ROWS_PER_PATIENT_DAY
    expected = int(per_patient_day * (existing if patients is None else patients) * days)
    if current + expected > settings.quota_records:
        raise exceeded("records", settings.quota_records, current, expected, "records")


def check_webhook_endpoints(settings: Settings, conn: Connection, workspace_id: str) -> None:
    """At most ``quota_webhook_endpoints`` endpoints per workspace."""
    limit = settings.quota_webhook_endpoints
    if limit <= 0:
        return
    current = purge.count_webhook_endpoints(conn, workspace_id)
    if current + 1 > limit:
        raise exceeded("webhook_endpoints", limit, current, 1, "endpoints")
