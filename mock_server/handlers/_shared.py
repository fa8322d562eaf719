"""Small helpers every data handler needs: repositories, the workspace clock, paging, date ranges, and
the one read every list of patient data is (:func:`series_page`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson

from mock_server.consent import ActiveConsent, ConsentService, admit
from mock_server.context import ApiRequest, RawJSON
from mock_server.errors import ApiError, invalid_parameter
from mock_server.storage.page_reads import ConsentRow, consented_page
from mock_server.storage.patients import PatientRepo
from mock_server.storage.records import RecordRepo
from mock_server.timeutil import day_end_iso, day_start, iso


def records(req: ApiRequest) -> RecordRepo:
    return RecordRepo(req.services.storage)


def patients(req: ApiRequest) -> PatientRepo:
    return PatientRepo(req.services.storage)


def consents(req: ApiRequest) -> ConsentService:
    return ConsentService(req.services.storage, patients(req), req.services.settings.link_request_ttl_days)


def now(req: ApiRequest) -> datetime:
    return req.services.clock.now(req.workspace_id)


def held_scopes(req: ApiRequest) -> frozenset[str]:
    """The calling credential's scopes (a key's or a token's)."""
    return req.principal.scopes if req.principal is not None else frozenset()


def consented(req: ApiRequest, scope: str | None) -> ActiveConsent:
    """The patient in the path, if this workspace may read it with ``scope`` (else 403/404).

    ``consent.scopes`` is what the patient granted *and* the credential holds: handlers choose
    series by it, so a narrow credential reads no more than its scopes on every path."""
    return consents(req).require(req.workspace_id, req.params["patient_id"], scope, held_scopes(req))


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


def series_page(
    req: ApiRequest,
    scope: str,
    series: str,
    *,
    start: str = "from",
    end: str = "to",
    kind: str | None = None,
    source: str | None = None,
) -> RawJSON:
    """One page of the path's patient's ``series``, newest first, if ``scope`` lets this caller read it.

    The whole read — consent check, count, page — is one call into ``storage.page_reads`` (one read
    transaction), so it may run on the event loop (handlers marked ``blocking.loop_first``). Errors
    answer in the order they always did: the consent's 404/403 before a bad date range's 400.
    """
    anon_id = req.params["patient_id"]
    held = held_scopes(req)
    bad_range: ApiError | None = None
    try:
        at_from, at_to = date_range(req, start, end)
    except ApiError as error:
        bad_range, at_from, at_to = error, None, None

    def check(row: ConsentRow | None) -> None:
        admit(row, anon_id, scope, held)
        if bad_range is not None:
            raise bad_range

    page, per_page = paging(req)
    result = consented_page(
        req.services.storage,
        req.workspace_id,
        anon_id,
        check,
        series,
        at_from=at_from,
        at_to=at_to,
        kind=kind,
        source=source,
        page=page,
        per_page=per_page,
    )
    return page_body(result.total, result.bodies, page, per_page)


def page_body(total: int, bodies: list[str], page: int, per_page: int) -> RawJSON:
    """Splice stored JSON bodies into ``{"data": [...], "pagination": {...}}`` without re-encoding."""
    head = b'{"data":[' + ",".join(bodies).encode() + b'],"pagination":'
    return RawJSON(head + orjson.dumps(pagination(total, page, per_page)) + b"}")


def list_body(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"data": items, "pagination": pagination(total, page, per_page)}
