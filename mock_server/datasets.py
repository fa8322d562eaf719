"""Load a care-synth dataset (NDJSON, Parquet or SQLite) into a workspace's sandbox.

QA teams generate a cohort with `care-synth` and then need the API to serve it. Loading:

1. **validates** the manifest and every patient first (as a SandboxPatient), then every record against
   the contract's own schema (PainEntry, WellbeingCheckin, Gauge, VitalReading) as it streams in, with
   its patient known and its id unique. The first problem stops the load with the file and row
   (`vitals/part-000000000.parquet row 7: …`);
2. **writes everything in one transaction** (patients, their records, consents or link requests, the
   test clock), so a bad row found late — or any other failure — rolls it all back: the database is
   either loaded or unchanged. One pass instead of validate-then-write halves the reading, which is
   most of a load's time;
3. keeps memory bounded: series are streamed and inserted in chunks; only the patient id map is held;
4. uses both cores for a large dataset: reading and checking records costs about twice SQLite's insert
   of them, so a reader process does it while this one inserts (``dataset_rows``), which roughly
   halves a large load's wall time. The checks and their messages are the same either way.

Loaded patients are ordinary sandbox patients: their data is served by every data endpoint, FHIR and
the reports, and the test clock is set to the dataset's end, so advancing it continues each patient's
series from the same generator (seed and index come from the dataset's manifest).
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs

from mock_server import spec
from mock_server.consent import ConsentService, patient_consent_view
from mock_server.context import Services
from mock_server.dataset_rows import (
    SERIES,
    DatasetLoadError,
    Refs,
    compile_validators,
    fail,
    manifest_records,
    problem,
    rows_in_process,
    rows_inline,
)
from mock_server.scopes import PATIENT_DATA_SCOPES
from mock_server.storage import Connection
from mock_server.storage import records as records_mod
from mock_server.storage.patients import NO_CONSENT, PatientRepo, SandboxPatientRow, anonymized_id
from mock_server.storage.workspaces import Workspace, WorkspaceRepo
from mock_server.timeutil import iso, utcnow
from synthetic_data.dataset import DatasetError, read_manifest
from synthetic_data.dataset_records import iter_records, loadable_format

__all__ = ["DatasetLoadError", "DatasetPlan", "LoadReport", "load_dataset", "validate_dataset"]

CONSENT_MODES = ("granted", "pending", "none")
READERS = ("auto", "process", "inline")
MAX_HISTORY_DAYS = 365  # SandboxPatient.history_days: the contract serves no longer history
# from this many records on, a reader process pays for its start (about a second, which its share of
# the work at ~7 µs a record repays from ~150,000 records); smaller loads read inline
PROCESS_READER_MIN_RECORDS = 200_000
RECORDS_PER_PATIENT_DAY = 9  # what care-synth makes (~3,200 a patient-year), when a manifest has no counts


@dataclass
class LoadReport:
    workspace_id: str
    patients: int
    counts: dict[str, int]
    consent: str
    clock: str  # "now" after loading: the dataset's end, or the clock kept (see _check_clock)
    patient_ids: dict[str, str] = field(default_factory=dict)  # dataset patient_id -> API patient_id


@dataclass(frozen=True)
class DatasetPlan:
    """What validation learned, for the writing pass."""

    fmt: str
    manifest: dict[str, Any]
    start: date
    days: int
    patients: list[dict[str, Any]]


def contract_schemas(spec_path: str | Path) -> dict[str, Any]:
    """The contract schemas a load checks against (refs inlined): the four record series' and
    SandboxPatient."""
    schemas = spec.inline_refs(spec.load(spec_path))["components"]["schemas"]
    return {name: schemas[name] for name in [schema for _, schema in SERIES.values()] + ["SandboxPatient"]}


def _validators(spec_path: str | Path) -> dict[str, jsonschema_rs.Draft202012Validator]:
    return compile_validators(contract_schemas(spec_path))


def _view(patient: dict[str, Any], days: int, created_at: str) -> dict[str, Any]:
    return {
        "id": "sp_" + "0" * 8,  # a placeholder of the right shape: ids are assigned when writing
        "email": patient.get("email"),
        "display_name": patient.get("display_name"),
        "locale": patient.get("locale"),
        "condition": patient.get("condition"),
        "baseline_severity": patient.get("baseline_severity"),
        "sources": patient.get("sources"),
        "history_days": days,
        "created_at": created_at,
        # as the patient stands before the load's consent mode applies
        "consent": patient_consent_view("", NO_CONSENT),
    }


def validate_dataset(directory: Path, spec_path: str | Path) -> DatasetPlan:
    """Check the manifest and every patient; raise DatasetLoadError at the first problem (file and
    row named). Nothing is written; records are checked as they stream into the load's transaction."""
    try:
        fmt = loadable_format(directory)
    except DatasetError as exc:
        raise DatasetLoadError(str(exc)) from None
    manifest = read_manifest(directory)
    if manifest is None or manifest.get("generator") != "care-synth":
        raise DatasetLoadError(f"{directory / 'manifest.json'}: missing or not a care-synth manifest")
    try:
        start = date.fromisoformat(str(manifest["start"]))
        days = int(manifest["days"])
        int(manifest["seed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetLoadError(f"{directory / 'manifest.json'}: bad start/days/seed ({exc})") from None
    if not 1 <= days <= MAX_HISTORY_DAYS:
        raise DatasetLoadError(
            f"manifest.json: {days} days of history; the contract serves 1 to {MAX_HISTORY_DAYS} "
            "(SandboxPatient.history_days)"
        )
    validator = _validators(spec_path)["SandboxPatient"]
    now = iso(utcnow())
    patients: list[dict[str, Any]] = []
    seen: set[str] = set()
    emails: set[str] = set()
    try:
        for located in iter_records(directory, "patients", fmt):
            p = located.record
            pid = p.get("patient_id")
            if not isinstance(pid, str) or not pid:
                raise fail(located, "patient_id: missing")
            if pid in seen:
                raise fail(located, f"patient_id: {pid} appears twice")
            if not isinstance(p.get("index"), int) or not isinstance(p.get("timezone"), str):
                raise fail(located, "index and timezone are required (the generator's inputs)")
            found = problem(validator, _view(p, days, now))
            if found is not None:
                raise fail(located, f"as a SandboxPatient, {found}")
            email = str(p["email"]).lower()
            if email in emails:
                raise fail(located, f"email: {p['email']} appears twice")
            seen.add(pid)
            emails.add(email)
            patients.append(
                {k: p[k] for k in ("patient_id", "index", "email", "display_name", "locale", "timezone")}
                | {k: p[k] for k in ("condition", "baseline_severity", "sources")}
                | {"where": located.where}  # the file and row, for a refusal at insert time
            )
        if not patients:
            raise DatasetLoadError(f"{directory}: the dataset has no patients")
    except DatasetError as exc:  # unreadable rows: already located
        raise DatasetLoadError(str(exc)) from None
    return DatasetPlan(fmt, manifest, start, days, patients)


CLOCK_TOLERANCE = timedelta(days=1)
"""How far a dataset's end may be from the clock of a workspace that already has patients."""


def _check_clock(
    conn: Connection, repo: PatientRepo, workspace: Workspace, end: datetime, days: int
) -> datetime | None:
    """The workspace's test clock if it is to be kept (it already has patients), else None.

    An empty workspace's clock is set to the dataset's end. One with patients (seeded, created, loaded
    before) has its own "now", and their data ends there: moving the clock back would put their data in
    the future, moving it on would leave days missing under it. So a dataset must end within
    ``CLOCK_TOLERANCE`` of that clock, and the clock stays; otherwise the load is refused, saying how
    to generate one that fits."""
    if not repo.count(workspace.id, conn):
        return None
    clock = utcnow() + timedelta(seconds=WorkspaceRepo(repo.db).clock_offset(conn, workspace.id))
    if abs(clock - end) <= CLOCK_TOLERANCE:
        return clock
    raise DatasetLoadError(
        f"workspace {workspace.name} already has patients and its test clock is at {iso(clock)}, but the "
        f"dataset ends at {iso(end)}: loading it would move the clock under those patients. Load it into "
        f"a new workspace (care-sandbox workspace create NAME --dataset DIR), or generate one that ends at "
        f"the workspace's clock (care-synth generate --days {days} --start "
        f"{(clock.date() - timedelta(days=days)).isoformat()} …)"
    )


def _ref(workspace_id: str, number: int, patient_id: str) -> str:
    digest = hashlib.sha256(f"{workspace_id}:{patient_id}".encode()).hexdigest()[:12]
    return f"sp_d{number:07d}{digest}"


def load_dataset(
    services: Services,
    workspace: Workspace,
    directory: Path,
    *,
    consent: str = "granted",
    scopes: list[str] | None = None,
    on_progress: Callable[[str, int], None] | None = None,
    plan: DatasetPlan | None = None,
    reader: str = "auto",
) -> LoadReport:
    """Validate `directory` (unless `plan` says it was), then load it into `workspace` in one
    transaction (see the module doc). ``reader``: read the series in a second process ("process"),
    in this one ("inline"), or by the dataset's size ("auto")."""
    if reader not in READERS:
        raise ValueError(f"reader must be one of {', '.join(READERS)}, not {reader!r}")
    if consent not in CONSENT_MODES:
        raise DatasetLoadError(f"consent must be one of {', '.join(CONSENT_MODES)}, not {consent!r}")
    plan = plan or validate_dataset(directory, services.settings.spec_path)
    chosen = list(scopes) if scopes else [s for s in workspace.scopes if s in PATIENT_DATA_SCOPES]
    unknown = sorted(set(chosen) - set(PATIENT_DATA_SCOPES))
    if unknown:
        raise DatasetLoadError(f"not a patient data scope: {', '.join(unknown)}")
    end = datetime.combine(plan.start + timedelta(days=plan.days), datetime.min.time(), UTC)
    storage = services.storage
    repo = PatientRepo(storage)
    consents = ConsentService(storage, repo, services.settings.link_request_ttl_days)
    with storage.unit_of_work() as conn:
        kept = _check_clock(conn, repo, workspace, end, plan.days)
        refs = _insert_patients(conn, repo, workspace, plan, directory)
        counts = _load_all_series(conn, services, directory, plan, refs, on_progress, reader)
        if consent == "granted":
            for ref, anon in refs.values():
                consents.grant_directly(conn, workspace.id, ref, anon, chosen, end)
        elif consent == "pending":
            for p in plan.patients:
                consents.create_request(workspace.id, p["email"], chosen, "care-synth dataset", end)
        if kept is None:
            WorkspaceRepo(storage).set_clock(conn, workspace.id, (end - utcnow()).total_seconds())
    mapping = {patient_id: anon for patient_id, (_, anon) in refs.items()}
    return LoadReport(workspace.id, len(plan.patients), counts, consent, iso(kept or end), mapping)


def _insert_patients(
    conn: Connection, repo: PatientRepo, workspace: Workspace, plan: DatasetPlan, directory: Path
) -> dict[str, tuple[str, str]]:
    """One sandbox patient per dataset patient, with how to regenerate it; dataset patient_id ->
    (ref, anonymized id). A patient already in the workspace (same email) refuses the load."""
    generator_seed = int(plan.manifest["seed"])
    messiness = float(plan.manifest.get("messiness", 0.3))
    by_condition = bool(plan.manifest.get("conditions"))
    created = iso(utcnow())
    refs: dict[str, tuple[str, str]] = {}
    first = repo.count(workspace.id, conn)
    for number, p in enumerate(plan.patients):
        if repo.by_email(conn, workspace.id, p["email"]) is not None:
            raise DatasetLoadError(
                f"{p['where']}: {p['email']} is already a patient of this workspace "
                "(was the dataset loaded before?)"
            )
        ref = _ref(workspace.id, first + number, p["patient_id"])
        anon = anonymized_id(workspace.salt, ref)
        refs[p["patient_id"]] = (ref, anon)
        overrides = {"condition": p["condition"]} if by_condition else {}
        stored = {
            "display_name": p["display_name"],
            "locale": p["locale"],
            "condition": p["condition"],
            "baseline_severity": p["baseline_severity"],
            "sources": list(p["sources"]),
            "history_days": plan.days,
            "timezone": p["timezone"],
            "messiness": messiness,
            "generator": {"run_seed": generator_seed, "index": p["index"], "overrides": overrides},
            "dataset": {"patient_id": p["patient_id"], "directory": str(directory)},
        }
        repo.insert(
            conn,
            SandboxPatientRow(
                ref, workspace.id, p["email"], anon, stored, plan.start.isoformat(), plan.days, created
            ),
        )
    return refs


def _load_all_series(
    conn: Connection,
    services: Services,
    directory: Path,
    plan: DatasetPlan,
    refs: Refs,
    on_progress: Callable[[str, int], None] | None,
    reader: str,
) -> dict[str, int]:
    """Stream every series in, validated row by row (in a reader process for a large dataset, see
    ``dataset_rows``); rows written per series."""
    counts = dict.fromkeys(SERIES, 0)
    schemas = contract_schemas(services.settings.spec_path)
    if reader == "process" or (reader == "auto" and _expected_records(plan) >= PROCESS_READER_MIN_RECORDS):
        chunks = rows_in_process(directory, plan.fmt, refs, schemas)
    else:
        chunks = rows_inline(directory, plan.fmt, refs, schemas)
    # Rows are acyclic tuples: the cyclic collector only re-scans them as chunks come and go (a fifth
    # of a load's time when profiled), so it is paused while series stream in.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for series, chunk in chunks:
            counts[series] += records_mod.insert_rows(conn, chunk)
            if on_progress is not None:
                on_progress(series, len(chunk))
    finally:
        if collecting:
            gc.enable()
        chunks.close()  # stops a reader process still running (a failed insert)
    return counts


def _expected_records(plan: DatasetPlan) -> int:
    """The records the dataset holds, from its manifest (only to choose how to read it)."""
    stated = manifest_records(plan.manifest)
    return stated if stated is not None else len(plan.patients) * plan.days * RECORDS_PER_PATIENT_DAY
