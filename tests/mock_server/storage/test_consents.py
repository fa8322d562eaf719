"""LinkRequestRepo and ConsentRepo keep the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson

from mock_server.storage import Storage
from mock_server.storage.consents import ConsentRepo, LinkRequestRepo
from tests.mock_server.storage.rows import patient, workspace

T0 = "2026-05-01T00:00:00Z"


def _request(storage: Storage, ws: str, ref: str, email: str, rid: str, created: str, expires: str) -> None:
    with storage.unit_of_work() as conn:
        row = LinkRequestRepo().insert(
            conn,
            request_id=rid,
            workspace_id=ws,
            patient_email=email,
            patient_ref=ref,
            scopes_json='["pain:read"]',
            message=None,
            created_at=created,
            expires_at=expires,
        )
    assert (row.id, row.status, orjson.loads(row.scopes)) == (rid, "pending", ["pain:read"])


def test_link_requests_are_found_per_workspace_and_move_as_told(storage: Storage) -> None:
    repo = LinkRequestRepo()
    ws, other = workspace(storage).workspace.id, workspace(storage).workspace.id
    p = patient(storage, ws)
    _request(storage, ws, p.id, p.email, "lr_a", T0, "2026-05-31T00:00:00Z")
    with storage.unit_of_work() as conn:
        assert repo.get(conn, ws, "lr_a").patient_ref == p.id
        assert repo.get(conn, other, "lr_a") is None  # another workspace's request is absent
        assert repo.lock(conn, ws, "lr_a").id == "lr_a"
        assert repo.lock(conn, other, "lr_a") is None
        assert repo.pending_for(conn, ws, p.id, "2026-05-02T00:00:00Z") == "lr_a"
        assert repo.pending_for(conn, ws, p.id, "2026-05-31T00:00:00Z") is None  # expired by then
        assert repo.pending_for(conn, other, p.id, T0) is None
        repo.set_status(conn, "lr_a", "accepted", responded_at=T0, consent_id="cns_x")
        row = repo.row(conn, "lr_a")
    assert (row.status, row.responded_at, row.consent_id) == ("accepted", T0, "cns_x")


def test_link_request_pages_and_expiry_sweep(storage: Storage) -> None:
    repo = LinkRequestRepo()
    ws = workspace(storage).workspace.id
    p = patient(storage, ws)
    for i in range(5):
        _request(
            storage,
            ws,
            p.id,
            p.email,
            f"lr_{i}",
            f"2026-05-0{i + 1}T00:00:00Z",
            f"2026-06-0{i + 1}T00:00:00Z",
        )
    with storage.unit_of_work() as conn:
        repo.set_status(conn, "lr_4", "declined")
    with storage.read() as conn:
        total, rows = repo.page(conn, ws, None, 1, 2)
        assert total == 5 and [r.id for r in rows] == ["lr_4", "lr_3"]  # newest first
        total, rows = repo.page(conn, ws, None, 3, 2)
        assert total == 5 and [r.id for r in rows] == ["lr_0"]
        total, rows = repo.page(conn, ws, "pending", 1, 10)
        assert total == 4 and "lr_4" not in {r.id for r in rows}
        due = repo.due_to_expire(conn, ws, "2026-06-03T00:00:00Z")
    assert sorted(r.id for r in due) == ["lr_0", "lr_1", "lr_2"]  # at or before now, pending only


def test_consents_are_numbered_and_the_latest_per_patient_is_listed(storage: Storage) -> None:
    repo = ConsentRepo()
    ws = workspace(storage).workspace.id
    a, b = patient(storage, ws), patient(storage, ws)
    with storage.unit_of_work() as conn:
        for cid, who, granted in (("cns_1", a, T0), ("cns_2", b, "2026-05-02T00:00:00Z")):
            repo.insert(
                conn,
                consent_id=cid,
                workspace_id=ws,
                patient_ref=who.id,
                anon_id=who.anon_id,
                scopes_json='["pain:read"]',
                granted_at=granted,
            )
        assert repo.active_id(conn, ws, a.id) == "cns_1"
        repo.lock(conn, "cns_1")
        repo.revoke(conn, "cns_1", "2026-05-03T00:00:00Z")
        assert repo.active_id(conn, ws, a.id) is None
        # a re-grant in the same second as the revoke: the sequence, not the time, says it is the latest
        repo.insert(
            conn,
            consent_id="cns_3",
            workspace_id=ws,
            patient_ref=a.id,
            anon_id=a.anon_id,
            scopes_json='["pain:read", "vitals:read"]',
            granted_at="2026-05-03T00:00:00Z",
            link_request_id="lr_z",
        )
        revoked = repo.row(conn, "cns_1")
        again = repo.row(conn, "cns_3")
    assert (revoked.status, revoked.revoked_at) == ("revoked", "2026-05-03T00:00:00Z")
    assert (again.seq, again.link_request_id, again.status) == (2, "lr_z", "active")
    with storage.read() as conn:
        total, rows = repo.latest_page(conn, ws, "active", None, 1, 10)
        assert total == 2 and [r.id for r in rows] == ["cns_3", "cns_2"]
        assert repo.latest_page(conn, ws, "revoked", None, 1, 10) == (0, [])  # no longer the latest
        total, rows = repo.latest_page(conn, ws, "active", a.anon_id[-6:].upper(), 1, 10)
        assert [r.id for r in rows] == ["cns_3"]
        assert repo.latest_page(conn, ws, "active", "%", 1, 10)[0] == 0  # literal, not a wildcard
        assert repo.latest_page(conn, workspace(storage).workspace.id, "active", None, 1, 10) == (0, [])
