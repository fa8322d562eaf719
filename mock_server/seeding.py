"""Populate a workspace's sandbox from care-synth, and keep its patients' data moving with the clock.

Each workspace gets its own deterministic patient population (seeded from the workspace's seed), so
two partners never share patients and a reset returns exactly the same world. Data is generated for
whole past days only; the test clock generates each new day as it passes, and check-ins of consented
patients reach the outbox as webhook events, as a real patient's would.

care-synth (and numpy and Faker under it) is imported where patients are generated, not when this
module is: the server imports it through ``sandbox_work`` and ``bootstrap``, and a restart, which
generates nothing, paid ~0.3 s of imports for it (issue #16).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from mock_server.consent import ConsentService
from mock_server.context import Services
from mock_server.scopes import PATIENT_DATA_SCOPES
from mock_server.storage import Connection
from mock_server.storage import records as records_mod
from mock_server.storage.patients import PatientRepo, SandboxPatientRow, anonymized_id
from mock_server.storage.workspaces import Workspace
from mock_server.timeutil import iso
from mock_server.webhooks.outbox import emit_event

DEMO_PATIENTS = 25
DEMO_HISTORY_DAYS = 90
CONSENTED_SCOPE_SETS: list[list[str]] = [
    list(PATIENT_DATA_SCOPES),  # the first consented patient granted everything
    ["pain:read", "wellbeing:read"],
    ["pain:read", "vitals:read", "reports:read"],
    ["pain:read", "wellbeing:read", "gauges:read", "fhir:read"],
    ["pain:read", "reports:read", "fhir:read", "vitals:read"],
]
SERIES = (
    ("pain_entries", "pain_entry", "pain:read", "pain_entry.created"),
    ("wellbeing", "wellbeing", "wellbeing:read", "wellbeing.completed"),
    ("gauges", "gauge", "gauges:read", None),
    ("vitals", "vital", "vitals:read", "vitals.received"),
)


@dataclass(frozen=True)
class Counts:
    values: dict[str, int]

    def add(self, other: dict[str, int]) -> Counts:
        merged = dict(self.values)
        for key, value in other.items():
            merged[key] = merged.get(key, 0) + value
        return Counts(merged)


def patient_ref(workspace_id: str, index: int) -> str:
    """Sortable by creation index (listing order), unique per workspace."""
    return f"sp_{index:05d}" + hashlib.sha256(f"{workspace_id}:{index}".encode()).hexdigest()[:12]


def profile_for(run_seed: int, index: int, overrides: dict[str, Any]) -> Any:
    kwargs = dict(overrides)
    if "sources" in kwargs and kwargs["sources"] is not None:
        kwargs["sources"] = tuple(kwargs["sources"])
    from synthetic_data.patients import make_profile  # care-synth on first use: see the module doc

    return make_profile(run_seed, index, **kwargs)


RecordRow = tuple[str, str, str, str, str | None, str | None, str]  # records_mod.BULK_COLUMNS order


@dataclass(frozen=True)
class Generated:
    """Days of one patient, generated and serialized, ready to store: the CPU work done up front so
    the write transaction that stores them only inserts (see ``sandbox_work``)."""

    series: list[tuple[str, str, str, str | None, list[dict[str, Any]], list[RecordRow]]]
    # (attribute, series name, scope, event, API items, rows in records_mod.BULK_COLUMNS order)


def generate_records(row: SandboxPatientRow, profile: Any, first_day: int, n_days: int) -> Generated:
    """Generate days [first_day, first_day + n_days) of one patient, without touching the database."""
    from synthetic_data.generate import generate_days  # on first use: see the module doc

    series = generate_days(
        profile,
        date.fromisoformat(row.history_start),
        first_day,
        n_days,
        messiness=float(row.profile.get("messiness", 0.3)),
    )
    out = []
    for attribute, name, scope, event in SERIES:
        items = list(getattr(series, attribute))
        if name == "gauge":
            items = [{**item, "patient_id": row.anon_id} for item in items]
        out.append(
            (attribute, name, scope, event, items, [records_mod.bulk_row(row.id, name, i) for i in items])
        )
    return Generated(out)


def store_records(
    conn: Connection,
    row: SandboxPatientRow,
    generated: Generated,
    workspace_id: str,
    timestamp: str,
    emit_scopes: frozenset[str] | None,
) -> dict[str, int]:
    """Insert generated days and, for a consenting partner, emit their events (one transaction)."""
    counts: dict[str, int] = {}
    for attribute, name, scope, event, items, values in generated.series:
        # the driver's executemany on prepared tuples: SQLAlchemy's per-row parameter handling was
        # a third of seeding the demo workspace (100 inserts of ~500 rows, issue #16)
        counts[attribute] = records_mod.insert_rows(conn, values)
        if emit_scopes is None or event is None or scope not in emit_scopes:
            continue
        if name == "vital" and items:
            emit_event(
                conn,
                workspace_id=workspace_id,
                event_type=event,
                patient_id=row.anon_id,
                data={"readings": items[:500], "count": len(items[:500])},
                timestamp=timestamp,
            )
        elif name != "vital":
            for item in items:
                emit_event(
                    conn,
                    workspace_id=workspace_id,
                    event_type=event,
                    patient_id=row.anon_id,
                    data=item,
                    timestamp=timestamp,
                )
    return counts


def insert_days(
    conn: Connection,
    row: SandboxPatientRow,
    profile: Any,
    first_day: int,
    n_days: int,
    workspace_id: str,
    timestamp: str,
    emit_scopes: frozenset[str] | None,
) -> dict[str, int]:
    """Generate days [first_day, first_day + n_days) of one patient, store them, maybe emit events."""
    generated = generate_records(row, profile, first_day, n_days)
    return store_records(conn, row, generated, workspace_id, timestamp, emit_scopes)


def plan_patient(
    workspace: Workspace,
    index: int,
    now: datetime,
    *,
    history_days: int,
    overrides: dict[str, Any] | None = None,
) -> tuple[SandboxPatientRow, Any]:
    """The row and generator profile of sandbox patient ``index`` (nothing stored yet)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    profile = profile_for(workspace.seed, index, overrides)
    ref = patient_ref(workspace.id, index)
    start = now.date() - timedelta(days=history_days)
    stored = {
        "display_name": profile.display_name,
        "locale": profile.locale,
        "condition": profile.condition,
        "baseline_severity": profile.baseline_severity,
        "sources": list(profile.sources),
        "history_days": history_days,
        "timezone": profile.timezone,
        "messiness": 0.3,
        "generator": {"run_seed": workspace.seed, "index": index, "overrides": overrides},
    }
    row = SandboxPatientRow(
        ref,
        workspace.id,
        profile.email,
        anonymized_id(workspace.salt, ref),
        stored,
        start.isoformat(),
        history_days,
        iso(now),
    )
    return row, profile


def create_patient(
    services: Services,
    conn: Connection,
    workspace: Workspace,
    index: int,
    now: datetime,
    *,
    history_days: int,
    overrides: dict[str, Any] | None = None,
) -> SandboxPatientRow:
    """One sandbox patient with ``history_days`` whole past days of data."""
    row, profile = plan_patient(workspace, index, now, history_days=history_days, overrides=overrides)
    PatientRepo(services.storage).insert(conn, row)
    if history_days:
        insert_days(conn, row, profile, 0, history_days, workspace.id, iso(now), None)
    return row


def seed_workspace(
    services: Services,
    workspace: Workspace,
    now: datetime,
    *,
    patients: int = DEMO_PATIENTS,
    history_days: int = DEMO_HISTORY_DAYS,
    consented: int = len(CONSENTED_SCOPE_SETS),
) -> dict[str, int]:
    """The seeded state of a workspace: patients with history, the first few already consented."""
    consents = ConsentService(
        services.storage, PatientRepo(services.storage), services.settings.link_request_ttl_days
    )
    with services.storage.unit_of_work() as conn:
        rows = [
            create_patient(services, conn, workspace, i, now, history_days=history_days)
            for i in range(patients)
        ]
        for row, scopes in zip(rows[:consented], CONSENTED_SCOPE_SETS, strict=False):
            consents.grant_directly(conn, workspace.id, row.id, row.anon_id, scopes, now)
    return {"patients": len(rows), "consents": min(consented, len(rows))}
