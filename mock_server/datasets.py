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
3. keeps memory bounded: series are streamed and inserted in chunks; only the patient id map is held.

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
from mock_server.consent import ConsentService
from mock_server.context import Services
from mock_server.scopes import PATIENT_DATA_SCOPES
from mock_server.storage import Connection
from mock_server.storage import records as records_mod
from mock_server.storage.patients import PatientRepo, SandboxPatientRow, anonymized_id
from mock_server.storage.workspaces import Workspace, WorkspaceRepo
from mock_server.timeutil import iso, utcnow
from synthetic_data.dataset import DatasetError, read_manifest
from synthetic_data.dataset_records import Located, iter_records, loadable_format

CONSENT_MODES = ("granted", "pending", "none")
# dataset series -> (stored series name, contract schema)
SERIES: dict[str, tuple[str, str]] = {
    "pain_entries": ("pain_entry", "PainEntry"),
    "wellbeing": ("wellbeing", "WellbeingCheckin"),
    "gauges": ("gauge", "Gauge"),
    "vitals": ("vital", "VitalReading"),
}
CHUNK_ROWS = 5_000
MAX_HISTORY_DAYS = 365  # SandboxPatient.history_days: the contract serves no longer history


_NO_PATIENT = object()  # before the first row: equal to no patient_id, not even a missing one


class DatasetLoadError(ValueError):
    """The dataset cannot be loaded; the message names the file and row (nothing was written)."""


@dataclass
class LoadReport:
    workspace_id: str
    patients: int
    counts: dict[str, int]
    consent: str
    clock: str  # the workspace's "now" after loading (the dataset's end)
    patient_ids: dict[str, str] = field(default_factory=dict)  # dataset patient_id -> API patient_id


@dataclass(frozen=True)
class DatasetPlan:
    """What validation learned, for the writing pass."""

    fmt: str
    manifest: dict[str, Any]
    start: date
    days: int
    patients: list[dict[str, Any]]


def _validators(spec_path: str | Path) -> dict[str, jsonschema_rs.Draft202012Validator]:
    schemas = spec.inline_refs(spec.load(spec_path))["components"]["schemas"]
    names = [schema for _, schema in SERIES.values()] + ["SandboxPatient"]
    return {name: jsonschema_rs.Draft202012Validator(schemas[name], validate_formats=True) for name in names}


def _problem(validator: jsonschema_rs.Draft202012Validator, instance: Any) -> str | None:
    """The first contract violation of `instance`, or None (the fast path: `is_valid`)."""
    if validator.is_valid(instance):
        return None
    for error in validator.iter_errors(instance):
        path = "/".join(str(p) for p in error.instance_path) or "(record)"
        return f"{path}: {error.message}"
    return "does not match the contract"  # pragma: no cover - is_valid and iter_errors agree


def _fail(located: Located, message: str) -> DatasetLoadError:
    return DatasetLoadError(f"{located.where}: {message}")


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
                raise _fail(located, "patient_id: missing")
            if pid in seen:
                raise _fail(located, f"patient_id: {pid} appears twice")
            if not isinstance(p.get("index"), int) or not isinstance(p.get("timezone"), str):
                raise _fail(located, "index and timezone are required (the generator's inputs)")
            problem = _problem(validator, _view(p, days, now))
            if problem is not None:
                raise _fail(located, f"as a SandboxPatient, {problem}")
            email = str(p["email"]).lower()
            if email in emails:
                raise _fail(located, f"email: {p['email']} appears twice")
            seen.add(pid)
            emails.add(email)
            patients.append(
                {k: p[k] for k in ("patient_id", "index", "email", "display_name", "locale", "timezone")}
                | {k: p[k] for k in ("condition", "baseline_severity", "sources")}
            )
        if not patients:
            raise DatasetLoadError(f"{directory}: the dataset has no patients")
    except DatasetError as exc:  # unreadable rows: already located
        raise DatasetLoadError(str(exc)) from None
    return DatasetPlan(fmt, manifest, start, days, patients)


def _ref(workspace_id: str, number: int, patient_id: str) -> str:
    digest = hashlib.sha256(f"{workspace_id}:{patient_id}".encode()).hexdigest()[:12]
    return f"sp_d{number:07d}{digest}"


def _load_series(
    conn: Connection,
    directory: Path,
    fmt: str,
    series: str,
    name: str,
    validator: jsonschema_rs.Draft202012Validator,
    refs: dict[str, tuple[str, str]],
    on_progress: Callable[[str, int], None] | None,
) -> int:
    """Stream one series into the records table, checking each record on the way (see module doc).

    Ids are checked for uniqueness within each patient's run of rows (files are in patient order),
    which keeps memory bounded; the table's primary key still refuses any duplicate the check misses.
    """
    schema = SERIES[series][1]
    shape = records_mod.bulk_shaper(name)
    is_valid = validator.is_valid
    gauges = series == "gauges"
    chunk: list[records_mod.BulkRow] = []
    append = chunk.append
    written = 0
    current: object = _NO_PATIENT
    ref = anon = ""
    ids: set[str] = set()
    for located in iter_records(directory, series, fmt):
        record = located.record
        pid = record.pop("patient_id", None)
        if pid != current:  # a new patient's run of rows
            target = refs.get(pid) if isinstance(pid, str) else None
            if target is None:
                raise _fail(located, f"patient_id: {pid!r} is not in the patients file")
            current, ids, (ref, anon) = pid, set(), target
        record_id = record.get("id")
        if record_id in ids:
            raise _fail(located, f"id: {record_id} appears twice for patient {pid}")
        ids.add(str(record_id))
        if gauges:  # the partner-facing id, where the API puts it (after `id`)
            record = {"id": record_id, "patient_id": anon, **record}
        if not is_valid(record):
            raise _fail(located, f"as a {schema}, {_problem(validator, record)}")
        append(shape(ref, record))
        if len(chunk) >= CHUNK_ROWS:
            written += records_mod.insert_rows(conn, chunk)
            if on_progress is not None:
                on_progress(series, len(chunk))
            chunk.clear()
    written += records_mod.insert_rows(conn, chunk)
    return written


def load_dataset(
    services: Services,
    workspace: Workspace,
    directory: Path,
    *,
    consent: str = "granted",
    scopes: list[str] | None = None,
    on_progress: Callable[[str, int], None] | None = None,
    plan: DatasetPlan | None = None,
) -> LoadReport:
    """Validate `directory` (unless `plan` says it was), then load it into `workspace` in one
    transaction (see the module doc)."""
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
        refs = _insert_patients(conn, repo, workspace, plan, directory)
        counts = _load_all_series(conn, services, directory, plan, refs, on_progress)
        if consent == "granted":
            for ref, anon in refs.values():
                consents.grant_directly(conn, workspace.id, ref, anon, chosen, end)
        elif consent == "pending":
            for p in plan.patients:
                consents.create_request(workspace.id, p["email"], chosen, "care-synth dataset", end)
        offset = (end - utcnow()).total_seconds()
        WorkspaceRepo(storage).set_clock(conn, workspace.id, offset)
    mapping = {patient_id: anon for patient_id, (_, anon) in refs.items()}
    return LoadReport(workspace.id, len(plan.patients), counts, consent, iso(end), mapping)


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
                f"patients row {number + 1}: {p['email']} is already a patient of this workspace "
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
    refs: dict[str, tuple[str, str]],
    on_progress: Callable[[str, int], None] | None,
) -> dict[str, int]:
    """Stream every series file in, validated row by row; rows written per series."""
    counts = dict.fromkeys(SERIES, 0)
    validators = _validators(services.settings.spec_path)
    # Rows are acyclic tuples and dicts: the cyclic collector only re-scans chunks as they grow
    # (a fifth of a load's time when profiled), so it is paused while series stream in.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for series, (name, schema) in SERIES.items():
            counts[series] = _load_series(
                conn, directory, plan.fmt, series, name, validators[schema], refs, on_progress
            )
    except DatasetError as exc:  # an unreadable row: already located
        raise DatasetLoadError(str(exc)) from None
    finally:
        if collecting:
            gc.enable()
    return counts
