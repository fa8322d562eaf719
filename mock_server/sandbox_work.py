"""The heavy sandbox controls — clock advance and reset — done in short, committed chunks.

Why: both used to run as one transaction on the event loop. A 365-day advance wrote ~170,000 rows
and held every request of every workspace for 3-4 s; a reset of a 244k-record workspace held
SQLite's single writer for ~5 s. Now they run in a child process (``HeavyWork``) and commit every
``Settings.sandbox_chunk_rows`` rows or so; each chunk is generated and serialized *before* its
transaction begins, so the write lock is held only to insert, and after each commit the lock is left
free for about as long as it was held (SQLite's lock is not fair; see :func:`_yield_writer`). Another
workspace's write waits milliseconds, not seconds.

Correctness with chunks:

- **Advance**: the request first records a *pending target* (``workspaces.clock_target_seconds``)
  and leaves the served clock alone. Each chunk generates some days of one patient and moves that
  patient's ``generated_days`` by compare-and-set in the chunk's own transaction, so a chunk is
  written once or not at all and two advances never write a day twice. Only when every patient is
  generated up to the target does the served offset jump to it. A crash midway therefore leaves
  the clock where it was (``GET /v1/sandbox/clock`` shows ``advancing_to``), and the advance is
  resumed at the next start (:func:`resume_pending`) or by the next advance of that workspace.
  The data is the same as one big transaction's: the generator is continuable (days 0..N then
  N..N+k equal 0..N+k), which ``tests/mock_server/test_sandbox_work.py`` checks.
- **Reset**: one short transaction removes the patients, consents, link requests and report jobs and
  returns the clock to real time; the records, events and deliveries left behind are deleted in
  chunks; then each seeded patient is written in its own transaction, after clearing whatever an
  interrupted earlier reset left under its (deterministic) id. Interrupted anywhere, the workspace
  is returned to its seeded state by running the reset again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from mock_server.consent import ConsentService
from mock_server.context import Services
from mock_server.seeding import (
    CONSENTED_SCOPE_SETS,
    DEMO_HISTORY_DAYS,
    DEMO_PATIENTS,
    generate_records,
    patient_ref,
    plan_patient,
    profile_for,
    store_records,
)
from mock_server.storage import purge
from mock_server.storage.patients import PatientRepo, SandboxPatientRow
from mock_server.storage.workspaces import Workspace, WorkspaceRepo
from mock_server.timeutil import iso, utcnow

log = logging.getLogger("care_sandbox.sandbox")

FIRST_CHUNK_DAYS = 7  # the first chunk of a patient measures how many rows a day makes
MAX_YIELD_SECONDS = 0.05


@dataclass
class Advanced:
    now: datetime
    offset_seconds: float
    expired_link_requests: int = 0
    generated: dict[str, int] = field(
        default_factory=lambda: {"pain_entries": 0, "wellbeing": 0, "gauges": 0, "vitals": 0}
    )

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            self.generated[key] = self.generated.get(key, 0) + value


def advance(services: Services, workspace: Workspace, seconds: float) -> Advanced:
    """Move the workspace clock ``seconds`` forward, generating the days that pass, chunk by chunk."""
    repo = WorkspaceRepo(services.storage)
    with services.storage.unit_of_work() as conn:
        own = repo.begin_advance(conn, workspace.id, seconds)
    done = complete(services, workspace)
    if done.offset_seconds >= own:
        # concurrent advances finish together at the furthest target; each answers with where its
        # own step landed (on top of the ones recorded before it), as when they ran one by one
        done.offset_seconds = own
        done.now = utcnow() + timedelta(seconds=own)
    return done


def complete(services: Services, workspace: Workspace) -> Advanced:
    """Finish whatever advance is pending for the workspace (this one's, another's, a crashed one's)."""
    storage, repo = services.storage, WorkspaceRepo(services.storage)
    result: Advanced | None = None
    while True:
        with storage.read() as conn:
            offset, target = repo.clock_state(conn, workspace.id)
        if target is None:  # finished (by us or a concurrent advance), or dropped by a reset
            result = result or Advanced(utcnow() + timedelta(seconds=offset), offset)
            result.now, result.offset_seconds = utcnow() + timedelta(seconds=offset), offset
            return result
        moment = utcnow() + timedelta(seconds=target)
        result = result or Advanced(moment, target)
        _generate_until(services, workspace, moment, result)
        with storage.unit_of_work() as conn:
            finished = repo.finish_advance(conn, workspace.id, target)
        if finished:
            consents = ConsentService(storage, PatientRepo(storage), services.settings.link_request_ttl_days)
            result.expired_link_requests += consents.expire_due(workspace.id, moment)
            services.wake_dispatcher()
            result.now, result.offset_seconds = moment, target
            return result


def _generate_until(services: Services, workspace: Workspace, moment: datetime, result: Advanced) -> None:
    storage = services.storage
    patients = PatientRepo(storage)
    consents = ConsentService(storage, patients, services.settings.link_request_ttl_days)
    chunk_rows = max(services.settings.sandbox_chunk_rows, 1)
    stamp = iso(moment)
    for listed in patients.all(workspace.id):
        row: SandboxPatientRow | None = listed
        per_day = 0.0
        while row is not None:
            goal = (moment.date() - date.fromisoformat(row.history_start)).days
            done = row.generated_days
            if goal <= done:
                break
            n = FIRST_CHUNK_DAYS if per_day == 0 else max(1, int(chunk_rows / per_day))
            n = min(n, goal - done)
            gen = row.profile["generator"]
            profile = profile_for(gen["run_seed"], gen["index"], gen["overrides"])
            generated = generate_records(row, profile, done, n)  # the CPU work, before the write lock
            held = time.monotonic()
            with storage.unit_of_work() as conn:
                if not patients.claim_days(conn, row.id, done, done + n):
                    row = patients.by_ref(conn, row.id)  # another advance wrote these days (or a reset)
                    continue
                consent = consents.latest(conn, workspace.id, row.anon_id)
                scopes = None
                if consent is not None and consent.status == "active":
                    scopes = frozenset(orjson.loads(consent.scopes))
                counts = store_records(conn, row, generated, workspace.id, stamp, scopes)
            _yield_writer(time.monotonic() - held)
            services.wake_dispatcher()
            result.add(counts)
            per_day = max(sum(counts.values()) / n, 1.0)
            row = replace(row, generated_days=done + n)


def _yield_writer(held: float) -> None:
    """Leave SQLite's write lock free for about as long as the last chunk held it.

    Why: SQLite's lock is not fair. A writer waiting in its busy handler polls at growing
    intervals, and a loop that commits and at once begins again takes the lock back first nearly
    every time, so another workspace's check-in would wait for the whole advance. With this pause
    the writer is free at least half the time and a waiting request gets it within a few polls.
    """
    time.sleep(min(max(held, 0.001), MAX_YIELD_SECONDS))


def advance_job(services: Services, workspace_id: str, seconds: float) -> dict[str, Any]:
    """:func:`advance` by workspace id, with a picklable result: what ``HeavyWork`` runs."""
    workspace = WorkspaceRepo(services.storage).get(workspace_id)
    if workspace is None:
        raise LookupError(f"workspace {workspace_id} is gone")
    done = advance(services, workspace, seconds)
    return {
        "now": iso(done.now),
        "offset_seconds": int(done.offset_seconds),
        "expired_link_requests": done.expired_link_requests,
        "generated": done.generated,
    }


def reset_job(services: Services, workspace_id: str) -> dict[str, Any]:
    """:func:`reset` by workspace id: what ``HeavyWork`` runs."""
    workspace = WorkspaceRepo(services.storage).get(workspace_id)
    if workspace is None:
        raise LookupError(f"workspace {workspace_id} is gone")
    return reset(services, workspace)


def run_heavy(services: Services, fn: Any, *args: Any) -> dict[str, Any]:
    """Run a job in the child process when there is one, here otherwise; then wake the dispatcher
    (the child cannot reach it) for the events the job wrote."""
    result: dict[str, Any] = (
        fn(services, *args) if services.heavy is None else services.heavy.call(services, fn, *args)
    )
    services.wake_dispatcher()
    return result


def resume_pending(services: Services) -> int:
    """At start-up: finish advances a crash or restart interrupted. Returns how many were pending."""
    repo = WorkspaceRepo(services.storage)
    pending = repo.pending_advances()
    for workspace_id in pending:
        workspace = repo.get(workspace_id)
        if workspace is not None:
            log.info("resuming the interrupted clock advance of workspace %s", workspace_id)
            complete(services, workspace)
    return len(pending)


def reset(
    services: Services,
    workspace: Workspace,
    *,
    patients: int = DEMO_PATIENTS,
    history_days: int = DEMO_HISTORY_DAYS,
) -> dict[str, Any]:
    """Return the workspace to its seeded state, holding the writer for one chunk at a time."""
    storage = services.storage
    chunk = max(services.settings.sandbox_chunk_rows, 1)
    repo = PatientRepo(storage)
    with storage.unit_of_work() as conn:
        refs = repo.refs(conn, workspace.id)
        cleared = purge.detach_world(conn, workspace.id)
    # what an interrupted earlier reset may have left under the refs the seed is about to reuse
    refs = list(dict.fromkeys([*refs, *(patient_ref(workspace.id, i) for i in range(patients))]))
    removed = _drain(storage, lambda conn: purge.records_chunk(conn, refs, chunk))
    _drain(storage, lambda conn: purge.events_chunk(conn, workspace.id, max(chunk // 4, 1)))
    now = services.clock.now(workspace.id)
    consents = ConsentService(storage, repo, services.settings.link_request_ttl_days)
    rows = []
    for i in range(patients):
        row, profile = plan_patient(workspace, i, now, history_days=history_days)
        generated = generate_records(row, profile, 0, history_days)
        held = time.monotonic()
        with storage.unit_of_work() as conn:
            repo.insert(conn, row)
            store_records(conn, row, generated, workspace.id, iso(now), None)
        _yield_writer(time.monotonic() - held)
        rows.append(row)
    with storage.unit_of_work() as conn:
        for row, scopes in zip(rows, CONSENTED_SCOPE_SETS, strict=False):
            consents.grant_directly(conn, workspace.id, row.id, row.anon_id, scopes, now)
    return {
        "patients": len(rows),
        "consents": min(len(CONSENTED_SCOPE_SETS), len(rows)),
        "link_requests": cleared.get("link_requests", 0),
        "removed_records": removed,
    }


def _drain(storage: Any, step: Any) -> int:
    total = 0
    while True:
        held = time.monotonic()
        with storage.unit_of_work() as conn:
            n = int(step(conn))
        _yield_writer(time.monotonic() - held)
        if n == 0:
            return total
        total += n
