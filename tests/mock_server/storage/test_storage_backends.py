"""The same storage contract on SQLite and PostgreSQL (PostgreSQL when configured, else skipped)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.consent import ConsentService
from mock_server.errors import ApiError
from mock_server.storage import Storage
from mock_server.storage import records as records_mod
from mock_server.storage.migrations import current_revision, head_revision, migrate
from mock_server.storage.patients import PatientRepo
from mock_server.storage.records import RecordFilter, RecordRepo
from mock_server.storage.workspaces import WorkspaceError, WorkspaceRepo
from tests.mock_server.storage import rows


def _workspace(storage: Storage) -> tuple[str, str]:
    made = WorkspaceRepo(storage).create(f"ws-{secrets.token_hex(6)}", seed=1)
    return made.workspace.id, made.api_key


def test_migrations_are_idempotent(storage: Storage) -> None:
    assert migrate(storage.engine) == []
    with storage.read() as conn:
        assert current_revision(conn) == head_revision()


def test_workspace_keys_are_hashed_and_resolve(storage: Storage) -> None:
    repo = WorkspaceRepo(storage)
    workspace_id, key = _workspace(storage)
    principal = repo.principal_for_api_key(key)
    assert principal is not None and principal.workspace_id == workspace_id
    assert repo.principal_for_api_key(key + "x") is None
    with storage.read() as conn:
        stored = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalars().all()
    assert key not in stored
    with pytest.raises(WorkspaceError):
        repo.create("x", seed=1, tier="platinum")


def test_consent_state_machine(storage: Storage) -> None:
    workspace_id, _ = _workspace(storage)
    patient = rows.patient(storage, workspace_id)
    service = ConsentService(storage, PatientRepo(storage), 30)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    request = service.create_request(
        workspace_id, patient.email.upper(), ["pain:read", "fhir:read"], None, now
    )
    accepted = service.accept(workspace_id, request["request_id"], ["pain:read"], now)
    assert accepted["consent"]["scopes"] == ["pain:read"]
    with pytest.raises(ApiError) as twice:
        service.accept(workspace_id, request["request_id"], None, now)
    assert twice.value.status == 409
    consent = service.require(workspace_id, patient.anon_id, "pain:read")
    assert consent.patient_ref == patient.id
    with pytest.raises(ApiError) as scope:
        service.require(workspace_id, patient.anon_id, "fhir:read")
    assert scope.value.code == "insufficient_scope"
    service.revoke(workspace_id, patient.anon_id, now)
    with pytest.raises(ApiError) as revoked:
        service.require(workspace_id, patient.anon_id, "pain:read")
    assert revoked.value.code == "consent_revoked"
    other_workspace, _ = _workspace(storage)
    with pytest.raises(ApiError) as hidden:
        service.require(other_workspace, patient.anon_id, None)
    assert hidden.value.status == 404


def test_pending_requests_expire_with_the_clock(storage: Storage) -> None:
    workspace_id, _ = _workspace(storage)
    patient = rows.patient(storage, workspace_id)
    service = ConsentService(storage, PatientRepo(storage), 30)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    request = service.create_request(workspace_id, patient.email, ["pain:read"], "hi", now)
    assert service.expire_due(workspace_id, now + timedelta(days=29)) == 0
    assert service.expire_due(workspace_id, now + timedelta(days=30)) == 1
    assert service.get_request(workspace_id, request["request_id"])["status"] == "expired"
    with storage.read() as conn:
        types = conn.exec_driver_sql(
            "SELECT type FROM events WHERE workspace_id = '%s'" % workspace_id
        ).scalars()
        assert "link_request.expired" in list(types)


_entry = st.fixed_dictionaries(
    {
        "pain_level": st.integers(0, 10),
        "logged_at": st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)).map(
            lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
        "notes": st.one_of(st.none(), st.text(max_size=40)),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_entry, max_size=30))
def test_records_round_trip(storage: Storage, entries: list[dict]) -> None:
    """Insert, read back, equal (sqlite-utils' round-trip property), with exact paging totals."""
    ref = f"sp_{secrets.token_hex(8)}"
    stored = [
        {"id": f"pe_{ref}_{i}", "areas": [], "qualities": [], "overall_wellbeing": None, "vitals": None, **e}
        for i, e in enumerate(entries)
    ]
    with storage.unit_of_work() as conn:
        records_mod.insert_many(conn, ref, "pain_entry", stored)
    repo = RecordRepo(storage)
    everything = repo.all(RecordFilter(ref, ("pain_entry",)))
    assert sorted(everything, key=lambda r: r["id"]) == sorted(stored, key=lambda r: r["id"])
    page = repo.page(RecordFilter(ref, ("pain_entry",)), 1, 7)
    assert page.total == len(stored) and len(page.rows) == min(7, len(stored))
    for _, record_id, _, body in page.rows:
        assert orjson.loads(body)["id"] == record_id


def test_named_workspace_seeds_fit_the_integer_column(storage: Storage, tmp_path) -> None:
    """A name whose hash has the top bit set used to overflow PostgreSQL's 32-bit seed column."""
    import hashlib

    from mock_server.bootstrap import create_workspace
    from mock_server.settings import Settings

    settings = Settings(database_url=storage.url, demo=False)
    name = next(
        f"clinic-{n}"
        for n in range(1000)
        if hashlib.sha256(f"{settings.seed}:clinic-{n}".encode()).digest()[0] >= 0x80
    )
    made = create_workspace(settings, storage, name, seed_patients=False)
    assert 0 <= made.workspace.seed < 2**31
