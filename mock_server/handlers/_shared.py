"""Small helpers every data handler needs: repositories, the workspace clock, paging, date ranges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson

from mock_server.consent import ActiveConsent, ConsentService
from mock_server.context import ApiRequest, RawJSON
from mock_server.errors import invalid_parameter
from mock_server.storage.patients import PatientRepo
from mock_server.storage.records import Page, RecordRepo
from mock_server.timeutil import day_end_iso, day_start, iso


def records(req: ApiRequest) -> RecordRepo:
    return RecordRepo(req.services.storage)


def patients(req: ApiRequest) -> PatientRepo:
    return PatientRepo(req.services.storage)


def consents(req: ApiRequest) -> ConsentService:
    return ConsentService(req.services.storage, patients(req), req.services.settings.link_request_ttl_days)


def now(req: ApiRequest) -> datetime:
    return req.services.clock.now(req.workspace_id)


def consented(req: ApiRequest, scope: str | None) -> ActiveConsent:
    """The patient in the path, if this workspace may read it with ``scope`` (else 403/404)."""
    return consents(req).require(req.workspace_id, req.params["patient_id"], scope)


def paging(req: ApiRequest) -> tuple[int, int]:
    return int(req.params.get("page", 1)), int(req.params.get("per_page", 50))


def _as_date(name: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise invalid_parameter(name, value, f"'{name}' must be a date (YYYY-MM-DD)") from exc


def date_range(req: ApiRequest, start: str = "from", end: str = "to") -> tuple[str | None, str | None]:
    """Inclusive UTC day range as stored-timestamp bounds; ``end < start`` is a 400 naming ``end``."""
    first = _as_date(start, req.params[start]) if req.params.get(start) is not None else None
    last = _as_date(end, req.params[end]) if req.params.get(end) is not None else None
    if first and last and last < first:
        raise invalid_parameter(end, str(last), f"'{end}' ({last}) is before '{start}' ({first})")
    return (iso(day_start(first)) if first else None, day_end_iso(last) if last else None)


def pagination(total: int, page: int, per_page: int) -> dict[str, int]:
    return {"total": total, "page": page, "per_page": per_page}


def page_body(result: Page, page: int, per_page: int) -> RawJSON:
    """Splice stored JSON bodies into ``{"data": [...], "pagination": {...}}`` without re-encoding."""
    data = b",".join(body for _, _, _, body in result.rows)
    return RawJSON(
        b'{"data":['
        + data
        + b'],"pagination":'
        + orjson.dumps(pagination(result.total, page, per_page))
        + b"}"
    )


def list_body(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"data": items, "pagination": pagination(total, page, per_page)}
