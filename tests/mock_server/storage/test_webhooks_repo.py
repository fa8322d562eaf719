"""storage.webhooks's contract, the same on SQLite and PostgreSQL: endpoints, health, delivery log."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from mock_server.storage import Storage, schema
from mock_server.storage import outbox as queue
from mock_server.storage import webhooks as repo
from mock_server.storage.outbox import AttemptRecord, NewEvent
from mock_server.storage.workspaces import WorkspaceRepo
from mock_server.timeutil import iso

NOW = datetime(2026, 5, 4, 9, 0, 0, tzinfo=UTC)
E = schema.webhook_endpoints


def _workspace(storage: Storage) -> str:
    return WorkspaceRepo(storage).create(f"ws-{secrets.token_hex(6)}", seed=1).workspace.id


def _insert(storage: Storage, workspace_id: str, *, created: datetime = NOW) -> dict[str, object]:
    with storage.engine.begin() as conn:
        return repo.insert(
            conn,
            endpoint_id=queue.new_id("we"),
            workspace_id=workspace_id,
            url="https://partner.example/hooks",
            events=["consent.granted", "webhook.test"],
            description="ours",
            enabled=True,
            disabled_reason=None,
            sealed_secret="sealed-1",
            now=iso(created),
        )


def test_endpoints_are_found_only_in_their_workspace(storage: Storage) -> None:
    workspace_id, other = _workspace(storage), _workspace(storage)
    view = _insert(storage, workspace_id)
    assert view["events"] == ["consent.granted", "webhook.test"] and view["enabled"] is True
    assert "secret" not in view
    endpoint_id = str(view["id"])
    with storage.engine.connect() as conn:
        assert repo.find(conn, workspace_id, endpoint_id) == view
        assert repo.state(conn, workspace_id, endpoint_id) == repo.EndpointState(True, "sealed-1")
        assert repo.find(conn, other, endpoint_id) is None
        assert repo.state(conn, other, endpoint_id) is None


def test_a_page_lists_newest_first_with_the_total(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    made = [_insert(storage, workspace_id, created=NOW + timedelta(seconds=i)) for i in range(3)]
    _insert(storage, _workspace(storage))
    with storage.engine.connect() as conn:
        first, total = repo.page(conn, workspace_id, page=1, per_page=2)
        second, _ = repo.page(conn, workspace_id, page=2, per_page=2)
    assert total == 3
    assert [v["id"] for v in first + second] == [v["id"] for v in reversed(made)]


def test_change_sets_only_the_given_columns(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = str(_insert(storage, workspace_id)["id"])
    with storage.engine.begin() as conn:
        repo.change(conn, endpoint_id, updated_at="2026-05-05T00:00:00Z", events=["*"], enabled=False)
        view = repo.find(conn, workspace_id, endpoint_id)
        with pytest.raises(ValueError, match="secret"):
            repo.change(conn, endpoint_id, updated_at="2026-05-05T00:00:00Z", secret="plain")
    assert view is not None
    assert (view["events"], view["enabled"], view["description"], view["updated_at"]) == (
        ["*"],
        False,
        "ours",
        "2026-05-05T00:00:00Z",
    )


def test_secrets_are_replaced_with_the_previous_one_kept(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = str(_insert(storage, workspace_id)["id"])
    with storage.engine.begin() as conn:
        repo.set_secrets(
            conn,
            endpoint_id,
            sealed_secret="sealed-2",
            sealed_previous="sealed-1",
            previous_expires_at="2026-05-05T00:00:00Z",
            updated_at=iso(NOW),
        )
        row = conn.execute(select(E.c.secret, E.c.previous_secret, E.c.previous_secret_expires_at)).one()
    assert tuple(row) == ("sealed-2", "sealed-1", "2026-05-05T00:00:00Z")


def _failures(storage: Storage, endpoint_id: str) -> int:
    with storage.engine.connect() as conn:
        return int(conn.execute(select(E.c.consecutive_failures).where(E.c.id == endpoint_id)).scalar_one())


def test_health_counts_failed_deliveries_and_disables_once(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = str(_insert(storage, workspace_id)["id"])
    with storage.engine.begin() as conn:
        repo.count_failed_delivery(conn, endpoint_id)
        assert not repo.disable(conn, endpoint_id, reason="r", updated_at=iso(NOW), failures_at_least=2)
        repo.count_failed_delivery(conn, endpoint_id)
        assert repo.disable(
            conn, endpoint_id, reason="two in a row", updated_at=iso(NOW), failures_at_least=2
        )
        assert not repo.disable(conn, endpoint_id, reason="again", updated_at=iso(NOW))  # already disabled
    assert _failures(storage, endpoint_id) == 2
    with storage.engine.begin() as conn:
        view = repo.find(conn, workspace_id, endpoint_id)
        repo.reset_failures(conn, endpoint_id)
    assert view is not None and (view["enabled"], view["disabled_reason"]) == (False, "two in a row")
    assert _failures(storage, endpoint_id) == 0


def test_the_owner_carries_the_workspaces_test_clock(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = str(_insert(storage, workspace_id)["id"])
    with storage.engine.begin() as conn:
        conn.execute(
            update(schema.workspaces)
            .where(schema.workspaces.c.id == workspace_id)
            .values(clock_offset_seconds=86400.0)
        )
        assert repo.owner(conn, endpoint_id) == repo.Owner(
            workspace_id, "https://partner.example/hooks", 86400.0
        )
        assert repo.owner(conn, "we_missing") is None


def _queue_two(storage: Storage, workspace_id: str, endpoint_id: str) -> list[str]:
    """Two deliveries: the first attempted once (failed, retry later), the second still waiting."""
    ids = []
    for i in range(2):
        event = NewEvent(queue.new_id("evt"), workspace_id, "webhook.test", None, "{}", occurred_at=iso(NOW))
        with storage.engine.begin() as conn:
            queue.insert_event(conn, event, [endpoint_id], moment=NOW + timedelta(seconds=i))
            ids.append(queue.delivery_for(conn, event.id, endpoint_id) or "")
    retry = NOW + timedelta(seconds=90)
    with storage.engine.begin() as conn:
        queue.lease(conn, ids[:1], now=NOW + timedelta(seconds=5), worker_id="w", lease_seconds=30)
        queue.record_attempts(
            conn,
            [
                AttemptRecord(
                    ids[0],
                    endpoint_id,
                    1,
                    False,
                    503,
                    10.0,
                    "busy",
                    None,
                    NOW + timedelta(seconds=5),
                    retry,
                    "pending",
                )
            ],
            worker_id="w",
        )
    return ids


def test_the_delivery_log_lists_waiting_deliveries_then_attempts(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = str(_insert(storage, workspace_id)["id"])
    first, second = _queue_two(storage, workspace_id, endpoint_id)
    with storage.engine.connect() as conn:
        everything, total = repo.delivery_log(conn, endpoint_id, status=None, page=1, per_page=10)
        failed, _ = repo.delivery_log(conn, endpoint_id, status="failed", page=1, per_page=10)
        succeeded, none = repo.delivery_log(conn, endpoint_id, status="succeeded", page=1, per_page=10)
        with pytest.raises(ValueError):
            repo.delivery_log(conn, endpoint_id, status="exhausted", page=1, per_page=10)
    assert total == 3 and (succeeded, none) == ([], 0)
    assert [(d["id"], d["status"], d["attempt"]) for d in everything] == [
        (first, "pending", 2),  # waiting for its retry, newest due first
        (second, "pending", 1),
        (first, "failed", 1),
    ]
    assert everything[0]["next_retry_at"] == iso(NOW + timedelta(seconds=90))  # served in whole seconds
    assert [(d["id"], d["status_code"], d["response_snippet"]) for d in failed] == [(first, 503, "busy")]


def test_delete_takes_the_deliveries_and_attempts_and_keeps_the_events(storage: Storage) -> None:
    workspace_id = _workspace(storage)
    endpoint_id = str(_insert(storage, workspace_id)["id"])
    kept = str(_insert(storage, workspace_id)["id"])
    _queue_two(storage, workspace_id, endpoint_id)
    _queue_two(storage, workspace_id, kept)
    with storage.engine.begin() as conn:
        repo.delete(conn, endpoint_id)
    with storage.engine.connect() as conn:
        assert repo.find(conn, workspace_id, endpoint_id) is None
        assert set(conn.execute(select(schema.deliveries.c.endpoint_id)).scalars()) == {kept}
        assert set(conn.execute(select(schema.delivery_attempts.c.endpoint_id)).scalars()) == {kept}
        assert len(conn.execute(select(schema.events.c.id)).all()) == 4
