"""The demo workspace's key: predictable on a loopback bind, never served on a public one (issue 12)."""

from __future__ import annotations

import orjson
from alembic import command
from sqlalchemy import select, update

from mock_server.bootstrap import DEMO_WORKSPACE, demo_key, ensure_demo
from mock_server.settings import Settings
from mock_server.storage import Storage, schema
from mock_server.storage.migrations import alembic_config
from mock_server.storage.workspaces import WorkspaceRepo


def _settings(database_url: str, **overrides: object) -> Settings:
    return Settings(database_url=database_url, **overrides)  # type: ignore[arg-type]


def test_a_loopback_bind_serves_the_seed_derived_key(storage: Storage, database_url: str) -> None:
    settings = _settings(database_url, host="127.0.0.1")
    info = ensure_demo(settings, storage)
    assert info.created and info.api_key == demo_key(settings)
    repo = WorkspaceRepo(storage)
    principal = repo.principal_for_api_key(demo_key(settings))
    assert principal is not None and "sandbox:manage" in principal.scopes
    assert ensure_demo(settings, storage).api_key == demo_key(settings)


def test_a_public_bind_gets_a_random_key_printed_once(storage: Storage, database_url: str) -> None:
    settings = _settings(database_url, host="0.0.0.0")
    info = ensure_demo(settings, storage)
    repo = WorkspaceRepo(storage)
    assert info.created and info.api_key and info.api_key != demo_key(settings)
    assert repo.principal_for_api_key(info.api_key) is not None
    assert repo.principal_for_api_key(demo_key(settings)) is None
    again = ensure_demo(settings, storage)
    assert again.api_key is None and "printed when it was created" in again.message


def test_a_public_bind_revokes_the_predictable_key_of_an_earlier_loopback_run(
    storage: Storage, database_url: str
) -> None:
    local = _settings(database_url, host="127.0.0.1")
    ensure_demo(local, storage)
    public = local.replace(host="0.0.0.0")
    info = ensure_demo(public, storage)
    repo = WorkspaceRepo(storage)
    assert "predictable seed-derived key was revoked" in info.message
    assert info.api_key and info.api_key != demo_key(local)
    assert repo.principal_for_api_key(demo_key(local)) is None
    assert repo.principal_for_api_key(info.api_key) is not None


def test_a_configured_demo_key_is_used_on_a_public_bind(storage: Storage, database_url: str) -> None:
    chosen = "p2c_test_chosen_by_the_operator_0123456789"
    info = ensure_demo(_settings(database_url, host="0.0.0.0", demo_api_key=chosen), storage)
    assert info.api_key == chosen


def test_migration_gives_sandbox_manage_to_full_scope_credentials_only(
    storage: Storage, database_url: str
) -> None:
    ensure_demo(_settings(database_url), storage)
    repo = WorkspaceRepo(storage)
    workspace = repo.by_name(DEMO_WORKSPACE)
    assert workspace is not None
    narrow = repo.add_api_key(workspace.id, ("patients:read", "pain:read"))
    new_scopes = {"sandbox:manage", "events:read"}  # what 0004 and 0006 add
    with storage.engine.begin() as conn:  # the scopes as they were before sandbox:manage existed
        for table in (schema.workspaces, schema.api_keys, schema.oauth_clients):
            for key, scopes_json in conn.execute(
                select(table.c[table.primary_key.columns.keys()[0]], table.c.scopes)
            ):
                kept = [s for s in orjson.loads(scopes_json) if s not in new_scopes]
                column = table.c[table.primary_key.columns.keys()[0]]
                conn.execute(update(table).where(column == key).values(scopes=orjson.dumps(kept).decode()))
        # run revision 0004 alone (a data migration) on them; stamping moves no schema
        command.stamp(alembic_config(conn), "0003_consent_sequence")
        command.upgrade(alembic_config(conn), "0004_sandbox_manage_scope")
        command.stamp(alembic_config(conn), "head")
        scopes = [orjson.loads(r[0]) for r in conn.execute(select(schema.oauth_clients.c.scopes))]
    assert all("sandbox:manage" in s for s in scopes)
    narrow_principal = repo.principal_for_api_key(narrow)
    full_principal = repo.principal_for_api_key(demo_key(_settings(database_url)))
    assert narrow_principal is not None and "sandbox:manage" not in narrow_principal.scopes
    assert full_principal is not None and "sandbox:manage" in full_principal.scopes
