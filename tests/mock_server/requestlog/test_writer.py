"""The background writer's storage: identical bodies stored once, bodies dropped with their last row."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
from sqlalchemy import func, select

from mock_server.requestlog.writer import Captured, LogStore, to_row
from mock_server.storage import Storage, schema
from mock_server.storage.request_log import RequestLogRepo, request_log_storage


def _captured(request_id: str, body: bytes) -> Captured:
    return Captured(
        workspace_id="ws_1", credential_kind="api_key", credential_id="key_1", request_id=request_id,
        method="GET", path="/v1/patients", query=b"", operation_id="patients.search", status=200,
        duration_ms=1.0, finished_at=time.time(), request_headers=[(b"x-api-key", b"p2c_test_secretkey")],
        request_body=b"", response_headers=[(b"content-type", b"application/json")], response_body=body,
    )  # fmt: skip


def test_identical_bodies_are_stored_once_and_dropped_with_their_last_row(tmp_path: Path) -> None:
    main = Storage.open(f"sqlite:///{tmp_path / 'main.sqlite3'}")
    side = request_log_storage(main)
    assert side.url.endswith("-requests")  # SQLite: a side file, the main file's cache is left alone
    writer = LogStore(side, keep=2, retention_days=7, body_limit=16_384)
    page = orjson.dumps({"data": [{"id": "pe_1", "logged_at": "2026-05-04T09:00:00Z"}]})
    writer.write([_captured("r1", page), _captured("r2", page)])
    repo = RequestLogRepo(side)

    def bodies() -> int:
        with side.read() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.request_log_bodies)).scalar_one())

    assert bodies() == 1
    assert repo.get("ws_1", "r1")["response_body"] == repo.get("ws_1", "r2")["response_body"] == page.decode()  # type: ignore[index]
    writer.write([_captured("r3", b'{"other": true}'), _captured("r4", b'{"other": true}')])
    writer._next_trim = 0.0  # due now
    writer.idle()
    assert repo.get("ws_1", "r1") is None and repo.get("ws_1", "r4") is not None  # keep=2: the newest two
    assert bodies() == 1  # the page's body went with its last row
    assert "p2c_test_secretkey" not in orjson.dumps(repo.get("ws_1", "r4")).decode()
    main.close()
    side.close()


def test_a_secret_in_the_path_is_redacted_like_everywhere_else() -> None:
    """A client that templates a credential into a URL (``/v1/patients/{key}``) must not get it stored:
    the path is shown in the log's list and the console just like the query string, which is redacted."""
    key = "p2c_test_secretkey_abcdefghijklmnop"
    token = "at_" + "x" * 40
    shaped = _captured("r1", b"")._replace(path=f"/v1/patients/{token}")
    own = _captured("r2", b"")._replace(
        path=f"/v1/patients/{key}", request_headers=[(b"x-api-key", key.encode())]
    )
    row, _ = to_row(shaped, 16_384)
    assert token not in row["path"] and row["path"] == "/v1/patients/[REDACTED]"
    row, _ = to_row(own, 16_384)
    assert key not in row["path"] and row["path"] == "/v1/patients/[REDACTED]"
    row, _ = to_row(_captured("r3", b""), 16_384)
    assert row["path"] == "/v1/patients"  # an ordinary path is kept as sent
