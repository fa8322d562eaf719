"""GET one time-ordered timeline of pain entries, wellbeing check-ins and vitals.

Requires ``pain:read``; wellbeing and vitals items appear only when the patient granted their
scopes too, so the timeline never leaks a series the partner could not read on its own endpoint.
"""

from __future__ import annotations

import orjson

from mock_server.context import ApiRequest, RawJSON, Reply, ok
from mock_server.handlers._shared import consented, date_range, pagination, paging, records
from mock_server.storage.records import RecordFilter

_SCOPE_OF = {"pain_entry": "pain:read", "wellbeing": "wellbeing:read", "vital": "vitals:read"}


def search(req: ApiRequest) -> Reply:
    consent = consented(req, "pain:read")
    start, end = date_range(req)
    page, per_page = paging(req)
    wanted = req.params.get("types") or list(_SCOPE_OF)
    series = tuple(t for t in wanted if _SCOPE_OF[t] in consent.scopes) or ("pain_entry",)
    result = records(req).page(RecordFilter(consent.patient_ref, series, start, end), page, per_page)
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
