"""The request log's child process: what the server hands over is stored, in order, and survives a
dead child; close stores what is left; a flush returns only once the child has stored everything."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.requestlog.child import ChildSink
from mock_server.requestlog.writer import Captured, LogStore, RequestLogWriter
from mock_server.storage import Storage
from mock_server.storage.request_log import RequestFilter, RequestLogRepo, request_log_storage


def _captured(request_id: str, *, status: int = 200, workspace: str = "ws_1", n: int = 0) -> Captured:
    """One request; ``n`` orders it (a millisecond each: entries of one millisecond sort by random id)."""
    body = b'{"error": {"code": "patient_not_found"}}' if status == 404 else b'{"data": []}'
    return Captured(
        workspace_id=workspace, credential_kind="api_key", credential_id="key_1", request_id=request_id,
        method="GET", path="/v1/patients", query=b"access_token=tok_secret", operation_id="patients.search",
        status=status, duration_ms=1.0, finished_at=time.time() + n / 1000,
        request_headers=[(b"authorization", b"Bearer tok_secret")], request_body=b"",
        response_headers=[(b"content-type", b"application/json")], response_body=body,
    )  # fmt: skip


@pytest.fixture
def side(tmp_path: Path) -> Iterator[Storage]:
    main = Storage.open(f"sqlite:///{tmp_path / 'main.sqlite3'}")
    log_storage = request_log_storage(main)
    yield log_storage
    log_storage.engine.dispose()
    main.close()


def _writer(side: Storage, keep: int = 1000) -> tuple[RequestLogWriter, ChildSink]:
    sink = ChildSink(side.url, keep=keep, retention_days=7, body_limit=16_384)
    return RequestLogWriter(sink, gather_seconds=0.02), sink


def _ids(side: Storage, workspace: str = "ws_1") -> list[str]:
    """Every logged request id of the workspace, newest first (all pages)."""
    found: list[str] = []
    page = 1
    while True:
        rows, total = RequestLogRepo(side).search(workspace, RequestFilter(), page=page, per_page=100)
        found += [row["request_id"] for row in rows]
        if len(found) >= total or not rows:
            assert len(found) == total
            return found
        page += 1


def test_a_flush_returns_once_the_child_has_stored_every_entry_redacted(side: Storage) -> None:
    writer, sink = _writer(side)
    try:
        for n in range(250):
            writer.put(_captured(f"r{n}", status=404 if n % 2 else 200, n=n))
        writer.flush(timeout=30)
        assert sink._process is not None and sink._process.pid != os.getpid()  # stored by another process
        assert _ids(side) == [f"r{n}" for n in reversed(range(250))]  # newest first, none missing
        detail = RequestLogRepo(side).get("ws_1", "r1")
        assert detail is not None and detail["error_code"] == "patient_not_found"
        assert "tok_secret" not in repr(detail)  # redacted in the child, query and headers alike
    finally:
        writer.close()
    assert writer.dropped == 0 and sink.lost == 0


def test_the_first_flush_waits_for_the_child_to_start(side: Storage) -> None:
    """A spawned child imports the server's modules before it can store anything (a second or two, more
    on a busy machine); the first read of the log after a start must still show the requests before it."""
    writer, sink = _writer(side)
    try:
        writer.put(_captured("first"))
        writer.flush(timeout=0.05)  # far less than a spawn takes: the start-up is waited out on top
        assert _ids(side) == ["first"]
        assert sink.starting is False
    finally:
        writer.close()


def test_close_stores_what_is_still_queued_and_stops_the_child(side: Storage) -> None:
    writer, sink = _writer(side)
    writer.put(_captured("first"))
    writer.flush(timeout=30)
    process = sink._process
    assert process is not None
    for n in range(40):
        writer.put(_captured(f"late{n}"))
    writer.close(timeout=30)
    assert len(_ids(side)) == 41
    assert sink._process is None  # stopped (and reaped), not left behind


def test_a_killed_child_is_replaced_and_later_entries_are_stored(side: Storage) -> None:
    writer, sink = _writer(side)
    try:
        writer.put(_captured("before"))
        writer.flush(timeout=30)
        assert sink._process is not None and sink._process.pid is not None
        os.kill(sink._process.pid, signal.SIGKILL)
        sink._process.join(10)
        writer.put(_captured("after"))
        writer.flush(timeout=30)
        assert set(_ids(side)) == {"before", "after"}
    finally:
        writer.close()


def test_the_child_keeps_each_workspaces_bound(side: Storage) -> None:
    writer, _ = _writer(side, keep=5)
    try:
        for n in range(12):
            writer.put(_captured(f"a{n}", workspace="ws_a", n=n))
            writer.put(_captured(f"b{n}", workspace="ws_b", n=n))
        writer.flush(timeout=30)
        writer.close(timeout=30)  # the child trims before it stops
        assert _ids(side, "ws_a") == [f"a{n}" for n in range(11, 6, -1)]
        assert _ids(side, "ws_b") == [f"b{n}" for n in range(11, 6, -1)]
    finally:
        writer.close()


def test_a_full_hand_off_drops_and_counts_rather_than_blocking(side: Storage) -> None:
    writer = RequestLogWriter(LogStore(side, keep=1000, retention_days=7, body_limit=16_384), bound=3)
    writer._start = lambda: None  # type: ignore[method-assign]  # no thread drains: the deque fills
    writer._thread = None
    for n in range(5):
        writer.put(_captured(f"r{n}"))
    assert writer.dropped == 2 and len(writer._captured) == 3


def test_on_a_thread_the_same_hand_off_stores_everything(side: Storage) -> None:
    """``request_log_process=false`` (and an in-memory database): the sink runs on the hand-off thread."""
    writer = RequestLogWriter(
        LogStore(side, keep=1000, retention_days=7, body_limit=16_384), gather_seconds=0.02
    )
    try:
        for n in range(30):
            writer.put(_captured(f"t{n}", n=n))
        writer.flush(timeout=30)
        assert _ids(side) == [f"t{n}" for n in reversed(range(30))]
    finally:
        writer.close()
    assert writer.not_stored == 0
