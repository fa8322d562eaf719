"""The hot read (consent, count, page) agrees with the repositories, on the pool and on the loop's
connection, and a read on the loop that runs over its budget is stopped, not waited for."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mock_server.consent import ConsentService, admit
from mock_server.errors import ApiError
from mock_server.storage import Storage
from mock_server.storage import records as records_mod
from mock_server.storage.page_reads import (
    ConsentRow,
    LoopReader,
    WouldBlock,
    consented_page,
    loop_reads,
)
from mock_server.storage.patients import PatientRepo
from mock_server.storage.records import RecordFilter, RecordRepo
from tests.mock_server.storage import rows
from tests.mock_server.storage.test_storage_backends import _workspace


@pytest.fixture
def sqlite_file_storage(tmp_path: Path) -> Iterator[Storage]:
    storage = Storage.open(f"sqlite:///{tmp_path / 'loop.sqlite3'}")
    yield storage
    storage.close()


def _consented(storage: Storage, entries: int) -> tuple[str, str, str]:
    """A workspace, a patient consenting to pain:read, and ``entries`` pain entries (ties in ``at``)."""
    workspace_id, _ = _workspace(storage)
    patient = rows.patient(storage, workspace_id)
    service = ConsentService(storage, PatientRepo(storage), 30)
    now = datetime(2026, 5, 1, tzinfo=UTC)
    with storage.unit_of_work() as conn:
        service.grant_directly(conn, workspace_id, patient.id, patient.anon_id, ["pain:read"], now)
        records_mod.insert_many(
            conn,
            patient.id,
            "pain_entry",
            [
                {
                    "id": f"pe_{i:03d}",
                    "pain_level": i % 11,
                    "logged_at": f"2026-04-{1 + i // 3:02d}T08:00:00Z",
                }
                for i in range(entries)
            ],
        )
    return workspace_id, patient.anon_id, patient.id


def _check(anon_id: str, scope: str = "pain:read"):  # type: ignore[no-untyped-def]
    return lambda row: admit(row, anon_id, scope)


@pytest.mark.parametrize("page", [1, 2, 3, 4])
def test_pages_match_the_repository(storage: Storage, page: int) -> None:
    workspace_id, anon_id, ref = _consented(storage, 57)
    expected = RecordRepo(storage).page(RecordFilter(ref, ("pain_entry",)), page, 20)
    found = consented_page(
        storage, workspace_id, anon_id, _check(anon_id), "pain_entry", page=page, per_page=20
    )
    assert found.total == expected.total == 57
    assert [b.encode() for b in found.bodies] == [row[3] for row in expected.rows]
    assert isinstance(found.consent, ConsentRow) and found.consent.patient_ref == ref


def test_filters_match_the_repository(storage: Storage) -> None:
    workspace_id, anon_id, ref = _consented(storage, 30)
    start, end = "2026-04-03T00:00:00Z", "2026-04-06T23:59:59Z"
    expected = RecordRepo(storage).page(RecordFilter(ref, ("pain_entry",), start, end), 1, 50)
    found = consented_page(
        storage, workspace_id, anon_id, _check(anon_id), "pain_entry", at_from=start, at_to=end
    )
    assert found.total == expected.total == 12
    assert [b.encode() for b in found.bodies] == [row[3] for row in expected.rows]


def test_the_gate_answers_before_any_data_is_read(storage: Storage) -> None:
    workspace_id, anon_id, _ = _consented(storage, 3)
    with pytest.raises(ApiError) as scope:
        consented_page(storage, workspace_id, anon_id, _check(anon_id, "vitals:read"), "vital")
    assert scope.value.code == "insufficient_scope"
    other, _ = _workspace(storage)
    with pytest.raises(ApiError) as hidden:
        consented_page(storage, other, anon_id, _check(anon_id), "pain_entry")
    assert hidden.value.status == 404


def test_the_loop_connection_reads_the_same(sqlite_file_storage: Storage) -> None:
    storage = sqlite_file_storage
    workspace_id, anon_id, _ = _consented(storage, 57)
    reader = LoopReader.open(storage)
    assert reader is not None
    pooled = consented_page(
        storage, workspace_id, anon_id, _check(anon_id), "pain_entry", page=2, per_page=25
    )
    with loop_reads(reader):
        on_loop = consented_page(
            storage, workspace_id, anon_id, _check(anon_id), "pain_entry", page=2, per_page=25
        )
    assert on_loop == pooled and reader.interrupted == 0


def test_a_read_over_budget_is_stopped_not_waited_for(sqlite_file_storage: Storage) -> None:
    reader = LoopReader.open(sqlite_file_storage, budget_seconds=0.001)
    assert reader is not None
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000) SELECT count(*) FROM n"
    with pytest.raises(WouldBlock):
        reader.read(lambda cursor: cursor.execute(slow).fetchone())
    assert reader.interrupted == 1
    assert reader.read(lambda cursor: cursor.execute("SELECT 1").fetchone()) == (1,)  # usable again


def test_no_loop_reader_where_another_connection_is_another_database(storage: Storage) -> None:
    reader = LoopReader.open(storage)
    assert (reader is None) == (storage.is_postgres or ":memory:" in storage.url)
