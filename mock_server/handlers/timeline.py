"""GET one time-ordered timeline of pain entries, wellbeing check-ins and vitals, oldest first.

Requires ``pain:read``; wellbeing and vitals items appear only when the patient granted their
scopes *and* the credential holds them (``consent.scopes`` is that intersection), so the timeline
never shows a series the caller could not read on its own endpoint. Requested types the caller may
not read are left out; when none is left the page is empty.
"""

from __future__ import annotations

import orjson

from mock_server.context import ApiRequest, RawJSON, Reply, ok
from mock_server.handlers._shared import consented, date_range, pagination, paging, records
from mock_server.storage.records import Page, RecordFilter

_SCOPE_OF = {"pain_entry": "pain:read", "wellbeing": "wellbeing:read", "vital": "vitals:read"}


def search(req: ApiRequest) -> Reply:
    consent = consented(req, "pain:read")
    start, end = date_range(req)
    page, per_page = paging(req)
    wanted = req.params.get("types") or list(_SCOPE_OF)
    series = tuple(t for t in wanted if _SCOPE_OF[t] in consent.scopes)
    result = (
        records(req).page(
            RecordFilter(consent.patient_ref, series, start, end), page, per_page, oldest_first=True
        )
        if series
        else Page(0, [])
    )
    items = b",".join(
        b'{"type":"' + kind.encode() + b'","at":"' + at.encode() + b'","data":' + body + b"}"
        for kind, _, at, body in result.rows
    )
    return ok(
        RawJSON(
            b'{"data":['
            + items
            + b'],"pagination":'
            + orjson.dumps(pagination(result.total, page, per_page))
            + b"}"
        )
    )
