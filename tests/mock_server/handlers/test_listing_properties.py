"""Property tests of every patient list endpoint: pagination and inclusive UTC date filters.

Pages are disjoint, their union is the filtered set, ``total`` is exact, and no item falls outside
the requested days while none inside is missed.
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.sandbox import RunningSandbox

ENDPOINTS = [
    ("pain-entries", "from", "to", "logged_at"),
    ("wellbeing", "from", "to", "completed_at"),
    ("gauges", "start_date", "end_date", "recorded_at"),
    ("vitals", "from", "to", "measured_at"),
    ("timeline", "from", "to", "at"),
]


def _full_scope_patient(client: httpx.Client) -> str:
    patients = client.get("/v1/patients", params={"per_page": 100}).json()["data"]
    return max(patients, key=lambda p: len(p["consent"]["scopes"]))["id"]


def _all_pages(client: httpx.Client, url: str, params: dict, per_page: int) -> tuple[list[list[dict]], int]:
    pages, page = [], 1
    while True:
        body = client.get(url, params={**params, "page": page, "per_page": per_page}).json()
        assert body["pagination"]["per_page"] == per_page and body["pagination"]["page"] == page
        pages.append(body["data"])
        if page * per_page >= body["pagination"]["total"]:
            return pages, body["pagination"]["total"]
        page += 1


@pytest.mark.parametrize(("path", "start_key", "end_key", "time_key"), ENDPOINTS)
def test_pagination_and_date_filters(
    sandbox: RunningSandbox, path: str, start_key: str, end_key: str, time_key: str
) -> None:
    with sandbox.client() as client:
        patient_id = _full_scope_patient(client)
        url = f"/v1/patients/{patient_id}/{path}"
        today = date.fromisoformat(client.get("/v1/sandbox/clock").json()["now"][:10])

        @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(per_page=st.integers(1, 100), back=st.integers(0, 100), span=st.integers(0, 40))
        def check(per_page: int, back: int, span: int) -> None:
            first = today - timedelta(days=back)
            last = first + timedelta(days=span)
            params = {start_key: first.isoformat(), end_key: last.isoformat()}
            pages, total = _all_pages(client, url, params, per_page)
            items = [item for page in pages for item in page]
            ids = [
                (item.get("type"), item["data"]["id"]) if path == "timeline" else item["id"] for item in items
            ]
            assert len(ids) == len(set(ids)) == total
            for item in items:
                moment = item[time_key]
                assert first.isoformat() <= moment[:10] <= last.isoformat(), (moment, first, last)
            everything, _ = _all_pages(client, url, {}, 100)
            inside = [
                i
                for page in everything
                for i in page
                if first.isoformat() <= i[time_key][:10] <= last.isoformat()
            ]
            assert len(inside) == total

        check()


def test_reversed_range_and_bad_dates_are_400(sandbox: RunningSandbox) -> None:
    with sandbox.client() as client:
        patient_id = _full_scope_patient(client)
        reversed_range = client.get(
            f"/v1/patients/{patient_id}/pain-entries", params={"from": "2026-05-04", "to": "2026-04-04"}
        )
        assert reversed_range.status_code == 400
        assert reversed_range.json()["error"]["details"]["parameter"] == "to"
        bad = client.get(f"/v1/patients/{patient_id}/pain-entries", params={"from": "01/01/2024"})
        assert bad.status_code == 400 and bad.json()["error"]["details"]["parameter"] == "from"
