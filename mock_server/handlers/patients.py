"""The partner's consented patients: anonymized ids, granted scopes, consent status — nothing more."""

from __future__ import annotations

from typing import Any

from mock_server.consent import consent_view
from mock_server.context import ApiRequest, Reply, ok
from mock_server.handlers._shared import consents, list_body, paging, patients, records


def _views(req: ApiRequest, rows: list[Any]) -> list[dict[str, Any]]:
    refs = [r.patient_ref for r in rows]
    spans = records(req).span(refs, "pain_entry")
    with req.services.storage.read() as conn:
        profiles = {ref: patients(req).by_ref(conn, ref) for ref in refs}
    views = []
    for row in rows:
        profile = profiles[row.patient_ref]
        first, last = spans.get(row.patient_ref, (None, None))
        views.append(
            {
                "id": row.anon_id,
                "consent": consent_view(row),
                "condition": profile.profile["condition"] if profile else "chronic_low_back_pain",
                "sources": profile.profile["sources"] if profile else [],
                "timezone": profile.profile.get("timezone", "UTC") if profile else "UTC",
                "first_entry_at": first,
                "last_entry_at": last,
            }
        )
    return views


def search(req: ApiRequest) -> Reply:
    page, per_page = paging(req)
    total, rows = consents(req).list_consented(
        req.workspace_id, req.params.get("status"), req.params.get("search"), page, per_page
    )
    return ok(list_body(_views(req, rows), total, page, per_page))


def get(req: ApiRequest) -> Reply:
    anon_id = req.params["patient_id"]
    service = consents(req)
    service.require(req.workspace_id, anon_id, None)  # 404 / 403 consent_revoked
    with req.services.storage.read() as conn:
        row = service.latest(conn, req.workspace_id, anon_id)
    return ok(_views(req, [row])[0])
