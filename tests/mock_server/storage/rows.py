"""Rows the repository contract tests build on: a workspace (with its first key and OAuth client) and
a sandbox patient, made through the repositories themselves."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from mock_server.storage import Storage
from mock_server.storage.patients import PatientRepo, SandboxPatientRow, anonymized_id
from mock_server.storage.workspaces import NewWorkspace, WorkspaceRepo
from mock_server.timeutil import iso


def workspace(storage: Storage, name: str | None = None) -> NewWorkspace:
    return WorkspaceRepo(storage).create(name or f"ws-{secrets.token_hex(6)}", seed=1)


def patient(storage: Storage, workspace_id: str) -> SandboxPatientRow:
    ref = f"sp_{secrets.token_hex(8)}"
    row = SandboxPatientRow(
        ref,
        workspace_id,
        f"{ref}@patients.example",
        anonymized_id("salt", ref),
        {
            "display_name": "A B.",
            "locale": "en_GB",
            "condition": "migraine",
            "baseline_severity": "moderate",
            "sources": [],
            "history_days": 0,
        },
        "2026-01-01",
        0,
        iso(datetime.now(UTC)),
    )
    with storage.unit_of_work() as conn:
        PatientRepo(storage).insert(conn, row)
    return row
