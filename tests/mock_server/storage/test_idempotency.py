"""IdempotencyRepo keeps the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest

from mock_server.storage import Connection, Storage
from mock_server.storage.idempotency import IdempotencyRepo
from tests.mock_server.storage.rows import workspace


def _store(repo: IdempotencyRepo, conn: Connection, ws: str, key: str) -> None:
    repo.insert(
        conn,
        workspace_id=ws,
        key=key,
        method="POST",
        path="/v1/webhooks",
        body_hash="abc",
        status_code=201,
        response_headers_json=orjson.dumps({"Location": "/v1/webhooks/x"}).decode(),
        response_body=b'{"id": "x"}',
        created_at="2026-05-01T00:00:00Z",
        expires_at="2026-05-02T00:00:00Z",
    )


def test_a_key_is_stored_per_workspace_with_its_response_and_forgotten(storage: Storage) -> None:
    repo = IdempotencyRepo()
    ws, other = workspace(storage).workspace.id, workspace(storage).workspace.id
    with storage.unit_of_work() as conn:
        assert repo.try_lock(conn, 42)
        _store(repo, conn, ws, "k1")
        _store(repo, conn, other, "k1")  # the same key in another workspace is another key
    with storage.unit_of_work() as conn:
        row = repo.get(conn, ws, "k1")
        assert (row.status_code, row.path, row.body_hash) == (201, "/v1/webhooks", "abc")
        assert bytes(row.response_body) == b'{"id": "x"}'
        assert orjson.loads(row.response_headers) == {"Location": "/v1/webhooks/x"}
        repo.delete(conn, ws, "k1")
        assert repo.get(conn, ws, "k1") is None
        assert repo.get(conn, other, "k1") is not None


def test_a_key_stored_in_a_rolled_back_unit_is_not_kept(storage: Storage) -> None:
    repo = IdempotencyRepo()
    ws = workspace(storage).workspace.id
    with pytest.raises(RuntimeError), storage.unit_of_work() as conn:
        _store(repo, conn, ws, "k2")
        raise RuntimeError("the handler failed: its write and its key go together")
    with storage.read() as conn:
        assert repo.get(conn, ws, "k2") is None


def test_the_key_lock_is_held_until_the_transaction_ends(storage: Storage) -> None:
    """PostgreSQL: a second transaction cannot take a held key's lock, and can once the first ends.
    SQLite has one writer and one server process, so the lock always succeeds there."""
    repo = IdempotencyRepo()
    with storage.transaction() as first:
        assert repo.try_lock(first, 7)
        with storage.transaction() as second:
            assert repo.try_lock(second, 7) is (not storage.is_postgres)
            assert repo.try_lock(second, 8)
    with storage.transaction() as third:
        assert repo.try_lock(third, 7)
