"""Alembic migrations: new databases reach head, old ones are stamped, models and revisions agree.

The release test is the one that protects integrators: a database made by release 0.1.0 (before
Alembic; committed under ``release_0_1_0/`` with the script that made it) is migrated by the real
``care-sandbox migrate`` and served by the real ``care-sandbox serve``, and everything in it — the
key, the patient, the consent, the pending request, the webhook endpoint — is still there.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mock_server.storage import Storage, migrations, schema
from mock_server.storage.engine import build_engine
from mock_server.storage.migrations import (
    BASELINE,
    alembic_config,
    current_revision,
    head_revision,
    migrate,
    named_head,
)
from mock_server.timeutil import iso, utcnow
from tests.fixtures.fleet import PROJECT, cli, fleet_env, free_port, stop, wait_healthy

RELEASE = Path(__file__).resolve().parent / "release_0_1_0"


def test_a_new_database_is_built_by_the_revisions_and_reaches_head(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        applied = migrate(engine)
        assert applied and applied[0] == BASELINE and applied[-1] == head_revision()
        assert migrate(engine) == []  # once only
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
    finally:
        engine.dispose()


def test_autogenerate_finds_no_difference_between_the_models_and_the_migrations(database_url: str) -> None:
    """A schema.py change without a revision fails here (write one: `make revision m="…"`)."""
    storage = Storage.open(database_url)
    try:
        with storage.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, schema.metadata)
    finally:
        storage.close()
    assert differences == [], f"schema.py and the Alembic revisions differ: {differences}"


def test_a_database_made_before_alembic_is_stamped_at_the_baseline_not_rebuilt(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        with engine.begin() as conn:  # what release 0.1.0's migrate made: its tables and a version row
            # the baseline is release 0.1.0's create_all; today's metadata has moved on since
            command.upgrade(alembic_config(conn), BASELINE)
            conn.exec_driver_sql("DROP TABLE alembic_version")
            conn.execute(
                schema.schema_version.insert().values(
                    version=1, applied_at=iso(utcnow()), description="initial"
                )
            )
            conn.execute(
                schema.workspaces.insert().values(
                    id="ws_old",
                    name="old",
                    tier="standard",
                    scopes="[]",
                    seed=1,
                    salt="s",
                    created_at=iso(utcnow()),
                )
            )
        assert migrate(engine) == [rev for rev in _all_revisions() if rev != BASELINE]
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            assert conn.execute(sqlalchemy.select(schema.workspaces.c.name)).scalars().all() == ["old"]
    finally:
        engine.dispose()


def _all_revisions() -> list[str]:
    from alembic.script import ScriptDirectory

    from mock_server.storage.migrations import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return list(reversed([rev.revision for rev in script.walk_revisions()]))


def test_two_migrates_at_once_on_sqlite_apply_the_revisions_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.sqlite3'}"
    racing = [
        subprocess.Popen(
            cli("migrate", "--database-url", url),
            env=fleet_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = []
    for proc in racing:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode())
    assert sorted("applied" in out for out in outputs) == [False, True], outputs


def test_a_release_0_1_0_database_is_upgraded_and_everything_in_it_still_served(tmp_path: Path) -> None:
    database = tmp_path / "sandbox.sqlite3"
    shutil.copyfile(RELEASE / "sandbox.sqlite3", database)
    expected = json.loads((RELEASE / "expected.json").read_text())
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "alembic_version" not in tables and "schema_version" in tables, "the fixture predates Alembic"
    url = f"sqlite:///{database}"

    migrated = subprocess.run(
        cli("migrate", "--database-url", url), env=fleet_env(), capture_output=True, check=False, cwd=tmp_path
    )
    assert migrated.returncode == 0, migrated.stderr.decode()
    engine = build_engine(url)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    engine.dispose()

    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            cli("serve", "--no-demo", "--no-dispatcher", "--port", str(port), "--database-url", url),
            env=fleet_env(),
            stdout=log,
            stderr=log,
            cwd=PROJECT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, server, log_path)
            with httpx.Client(
                base_url=base, headers={"X-API-Key": expected["api_key"]}, timeout=30
            ) as client:
                patients = client.get("/v1/patients", params={"per_page": 100})
                assert patients.status_code == 200, patients.text  # the key still authenticates
                assert sorted(p["id"] for p in patients.json()["data"]) == expected["patient_ids"]
                patient = client.get(f"/v1/patients/{expected['patient_ids'][0]}")
                assert patient.status_code == 200, patient.text
                assert patient.json()["consent"]["status"] == "active"  # the consent survived
                accepted = client.get(f"/v1/link-requests/{expected['accepted_link_request']}")
                assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
                pending = client.get(f"/v1/link-requests/{expected['pending_link_request']}")
                assert pending.status_code == 200 and pending.json()["status"] == "pending", pending.text
                pain = client.get(f"/v1/patients/{expected['patient_ids'][0]}/pain-entries")
                assert pain.status_code == 200 and pain.json()["data"], pain.text
                webhook = client.get(f"/v1/webhooks/{expected['webhook_id']}")
                assert webhook.status_code == 200, webhook.text
                assert webhook.json()["url"] == "http://127.0.0.1:9/hooks"
                deliveries = client.get(f"/v1/webhooks/{expected['webhook_id']}/deliveries")
                assert deliveries.status_code == 200, deliveries.text  # the outbox's consent.granted
                assert [d["event_type"] for d in deliveries.json()["data"]] == ["consent.granted"], (
                    deliveries.text
                )
        finally:
            stop(server)


def test_the_head_named_by_the_revision_files_is_alembics_head() -> None:
    """The start-up fast path trusts ``named_head`` only when it agrees with Alembic (issue #16)."""
    assert named_head() == head_revision()


def test_a_database_at_head_is_checked_without_alembic(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = build_engine(database_url)
    try:
        migrate(engine)

        def refuse(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("Alembic ran on a database already at head")

        monkeypatch.setattr(command, "upgrade", refuse)
        monkeypatch.setattr(command, "stamp", refuse)
        monkeypatch.setattr(migrations, "head_revision", refuse)
        assert migrate(engine) == []
        with engine.begin() as conn:  # one revision behind: the locked Alembic path runs again
            conn.execute(
                sqlalchemy.text("UPDATE alembic_version SET version_num = :v"), {"v": "0001_baseline"}
            )
        with pytest.raises(AssertionError, match="Alembic ran"):
            migrate(engine)
    finally:
        engine.dispose()
