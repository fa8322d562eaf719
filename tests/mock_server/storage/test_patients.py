"""PatientRepo reads each patient with its consent facts in one statement per page, on SQLite and
PostgreSQL: the latest consent (by ``seq``) and the pending, unexpired link request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from mock_server.consent import patient_consent_view
from mock_server.storage import Storage
from mock_server.storage.consents import ConsentRepo, LinkRequestRepo
from mock_server.storage.patients import CONSENT_STATES, ConsentFacts, PatientRepo, SandboxPatientRow
from tests.mock_server.storage.rows import patient, workspace

T0 = "2026-05-01T00:00:00Z"
NOW = "2026-05-10T00:00:00Z"


@contextmanager
def _statements(storage: Storage) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) the engine runs while inside."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(storage.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(storage.engine, "before_cursor_execute", record)


def _grant(storage: Storage, ws: str, p: SandboxPatientRow, cid: str, scopes: str) -> None:
    with storage.unit_of_work() as conn:
        ConsentRepo().insert(
            conn,
            consent_id=cid,
            workspace_id=ws,
            patient_ref=p.id,
            anon_id=p.anon_id,
            scopes_json=scopes,
            granted_at=T0,
        )


def _ask(
    storage: Storage, ws: str, p: SandboxPatientRow, rid: str, expires: str, status: str = "pending"
) -> None:
    with storage.unit_of_work() as conn:
        LinkRequestRepo().insert(
            conn,
            request_id=rid,
            workspace_id=ws,
            patient_email=p.email,
            patient_ref=p.id,
            scopes_json='["pain:read"]',
            message=None,
            created_at=T0,
            expires_at=expires,
        )
        if status != "pending":
            LinkRequestRepo().set_status(conn, rid, status)


def test_each_patient_comes_with_its_latest_consent_and_pending_request(storage: Storage) -> None:
    ws, other = workspace(storage).workspace.id, workspace(storage).workspace.id
    never, granted, regranted, revoked, asked, asked_again, stale = (patient(storage, ws) for _ in range(7))
    _grant(storage, ws, granted, "cns_g", '["pain:read","wellbeing:read"]')
    _grant(storage, ws, regranted, "cns_r1", '["pain:read"]')
    with storage.unit_of_work() as conn:
        ConsentRepo().revoke(conn, "cns_r1", T0)
    _grant(storage, ws, regranted, "cns_r2", '["vitals:read"]')  # the latest (seq 2) is what counts
    _grant(storage, ws, revoked, "cns_v", '["gauges:read"]')
    with storage.unit_of_work() as conn:
        ConsentRepo().revoke(conn, "cns_v", T0)
    _ask(storage, ws, asked, "lr_asked", "2026-06-01T00:00:00Z")
    _ask(storage, ws, asked_again, "lr_declined", "2026-06-01T00:00:00Z", status="declined")
    _grant(storage, ws, asked_again, "cns_a", '["pain:read"]')
    with storage.unit_of_work() as conn:
        ConsentRepo().revoke(conn, "cns_a", T0)
    _ask(storage, ws, asked_again, "lr_again", "2026-06-01T00:00:00Z")
    _ask(storage, ws, stale, "lr_stale", NOW)  # expires at "now": no longer pending
    _grant(storage, other, patient(storage, other), "cns_other", '["pain:read"]')

    total, rows = PatientRepo(storage).page_with_consent(ws, 1, 50, NOW)
    facts = {row.id: f for row, f in rows}
    assert total == 7 and [row.id for row, _ in rows] == sorted(facts)
    assert facts[never.id] == ConsentFacts(None, [], None)
    assert facts[granted.id] == ConsentFacts("active", ["pain:read", "wellbeing:read"], None)
    assert facts[regranted.id] == ConsentFacts("active", ["vitals:read"], None)
    assert facts[revoked.id] == ConsentFacts("revoked", ["gauges:read"], None)
    assert facts[asked.id] == ConsentFacts(None, [], "lr_asked")
    assert facts[asked_again.id] == ConsentFacts("revoked", ["pain:read"], "lr_again")
    assert facts[stale.id] == ConsentFacts(None, [], None)

    second_total, second = PatientRepo(storage).page_with_consent(ws, 2, 5, NOW)
    assert second_total == 7 and [row.id for row, _ in second] == sorted(facts)[5:]
    with storage.read() as conn:
        one = PatientRepo(storage).with_consent(conn, ws, asked_again.id, NOW)
        assert one is not None and one[1] == facts[asked_again.id]
        assert PatientRepo(storage).with_consent(conn, other, asked_again.id, NOW) is None


def test_a_page_is_two_statements_whatever_its_size(storage: Storage) -> None:
    """No query per patient: the count and the page, however many patients have consents or requests."""
    ws = workspace(storage).workspace.id
    for i in range(12):
        p = patient(storage, ws)
        if i % 3 == 0:
            _grant(storage, ws, p, f"cns_{i}", '["pain:read"]')
        elif i % 3 == 1:
            _ask(storage, ws, p, f"lr_{i:06d}", "2026-06-01T00:00:00Z")
    with _statements(storage) as statements:
        total, rows = PatientRepo(storage).page_with_consent(ws, 1, 50, NOW)
    assert total == 12 and len(rows) == 12
    selects = [statement for statement, _ in statements if statement.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects


def test_each_rows_pending_request_is_found_by_index_not_by_scanning(storage: Storage) -> None:
    """The page's subquery for a patient's pending request reads ``ix_link_requests_patient``
    (migration 0009). Before it, SQLite scanned every pending request of the workspace for each row
    of the page and of every page it skipped: 4.8 s for the last page of 5,000 patients who each
    had one pending request. SQLite only: its plan, unlike PostgreSQL's, does not depend on the
    table's statistics, so it is what every SQLite workspace will run."""
    if storage.is_postgres:
        pytest.skip("PostgreSQL chooses by table statistics; the index exists there too (migration 0009)")
    ws = workspace(storage).workspace.id
    for i in range(3):
        _ask(storage, ws, patient(storage, ws), f"lr_plan{i:03d}", "2026-06-01T00:00:00Z")
    with _statements(storage) as statements:
        total, rows = PatientRepo(storage).page_with_consent(ws, 2, 2, NOW)
    pages = [(statement, parameters) for statement, parameters in statements if "link_requests" in statement]
    assert total == 3 and len(rows) == 1
    assert rows[0][1].pending_request_id is not None and rows[0][1].pending_request_id.startswith("lr_plan")
    ((statement, parameters),) = pages
    with storage.read() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    details = [str(row[-1]) for row in plan]
    lookups = [d for d in details if "link_requests" in d]
    assert lookups and all("ix_link_requests_patient" in d for d in lookups), details


def test_the_consent_filter_agrees_with_the_consent_view_in_every_combination(storage: Storage) -> None:
    """``page_with_consent(status=…)`` states ``consent.patient_consent_view``'s rule in SQL: for every
    combination of a patient's consent history and link requests, the filtered pages hold exactly the
    patients whose view has that status, and the totals count them. One patient per combination:
    latest consent (none, active, revoked, revoked then active again) × request (none, pending, expired,
    declined)."""
    ws = workspace(storage).workspace.id
    other = workspace(storage).workspace.id
    _ask(
        storage, other, patient(storage, other), "lr_elsewhere", "2026-06-01T00:00:00Z"
    )  # another workspace's
    histories = ("none", "active", "revoked", "regranted")
    requests = ("none", "pending", "expired", "declined")
    for n, (history, request) in enumerate((h, r) for h in histories for r in requests):
        p = patient(storage, ws)
        if history != "none":
            _grant(storage, ws, p, f"cns_{n}a", '["pain:read"]')
        if history in ("revoked", "regranted"):
            with storage.unit_of_work() as conn:
                ConsentRepo().revoke(conn, f"cns_{n}a", T0)
        if history == "regranted":
            _grant(storage, ws, p, f"cns_{n}b", '["vitals:read"]')
        if request != "none":
            expires = NOW if request == "expired" else "2026-06-01T00:00:00Z"
            _ask(
                storage,
                ws,
                p,
                f"lr_{n:06d}",
                expires,
                status="declined" if request == "declined" else "pending",
            )
    repo = PatientRepo(storage)
    total, everyone = repo.page_with_consent(ws, 1, 100, NOW)
    assert total == 16
    expected = {
        state: [
            row.id for row, facts in everyone if patient_consent_view(row.anon_id, facts)["status"] == state
        ]
        for state in CONSENT_STATES
    }
    assert {state: len(ids) for state, ids in expected.items()} == {
        "none": 3,
        "pending": 2,
        "granted": 8,
        "revoked": 3,
    }
    for state, ids in expected.items():
        count, page = repo.page_with_consent(ws, 1, 100, NOW, state)
        assert (count, [row.id for row, _ in page]) == (len(ids), ids), state
        later_count, later = repo.page_with_consent(ws, 2, 2, NOW, state)  # pages of the filtered list
        assert (later_count, [row.id for row, _ in later]) == (len(ids), ids[2:4]), state
