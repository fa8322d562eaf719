"""Deleting a workspace's sandbox world in bounded chunks, and counting what it holds (quotas).

Why chunks: a reset of a workspace with 244k records held SQLite's single writer for ~5 s, and
every other workspace's write (a check-in, a delivery record, an idempotency key) waited behind it.
Each function here deletes at most ``limit`` rows and returns how many it deleted; the caller
commits after each call and loops until nothing is left, so the writer is held for milliseconds at
a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, select, update

from mock_server.storage import schema

R = schema.records
P = schema.sandbox_patients
EV = schema.events
D = schema.deliveries


def records_chunk(conn: Connection, patient_refs: Sequence[str], limit: int) -> int:
    """Delete up to ``limit`` records of these patients (rows of one patient at a time)."""
    for ref in patient_refs:
        ids = list(conn.execute(select(R.c.id).where(R.c.patient_ref == ref).limit(limit)).scalars())
        if ids:
            conn.execute(delete(R).where(R.c.patient_ref == ref, R.c.id.in_(ids)))
            return len(ids)
    return 0


def events_chunk(conn: Connection, workspace_id: str, limit: int) -> int:
    """Delete up to ``limit`` events of a workspace with their deliveries and delivery attempts."""
    ids = list(conn.execute(select(EV.c.id).where(EV.c.workspace_id == workspace_id).limit(limit)).scalars())
    if not ids:
        return 0
    delivery_ids = list(conn.execute(select(D.c.id).where(D.c.event_id.in_(ids))).scalars())
    if delivery_ids:
        conn.execute(
            delete(schema.delivery_attempts).where(schema.delivery_attempts.c.delivery_id.in_(delivery_ids))
        )
        conn.execute(delete(D).where(D.c.id.in_(delivery_ids)))
    conn.execute(delete(EV).where(EV.c.id.in_(ids)))
    return len(ids)


def detach_world(conn: Connection, workspace_id: str) -> dict[str, int]:
    """One short transaction: the workspace's patients, consents, link requests and report jobs go,
    and its clock returns to real time (a pending advance is dropped). Their records are left for
    :func:`records_chunk`; call it with the refs read beforehand."""
    counts: dict[str, int] = {}
    for name, table in (
        ("link_requests", schema.link_requests),
        ("consents", schema.consents),
        ("report_jobs", schema.report_jobs),
        ("patients", P),
    ):
        counts[name] = conn.execute(delete(table).where(table.c.workspace_id == workspace_id)).rowcount or 0
    conn.execute(
        update(schema.workspaces)
        .where(schema.workspaces.c.id == workspace_id)
        .values(clock_offset_seconds=0.0, clock_target_seconds=None)
    )
    return counts


def orphan_refs(conn: Connection, limit: int = 100) -> list[str]:
    """Patient refs that still have records but no patient: the leftovers of an interrupted reset."""
    query = (
        select(R.c.patient_ref)
        .where(R.c.patient_ref.not_in(select(P.c.id).scalar_subquery()))
        .group_by(R.c.patient_ref)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def count_records(conn: Connection, workspace_id: str) -> int:
    """Stored records of a workspace's patients (the ``records`` quota)."""
    refs = select(P.c.id).where(P.c.workspace_id == workspace_id).scalar_subquery()
    return int(
        conn.execute(select(func.count()).select_from(R).where(R.c.patient_ref.in_(refs))).scalar_one()
    )


def count_generated_days(conn: Connection, workspace_id: str) -> tuple[int, int]:
    """``(patients, patient-days generated)``: with :func:`count_records`, the rows a day costs."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(P.c.generated_days), 0)).where(
            P.c.workspace_id == workspace_id
        )
    ).one()
    return int(row[0]), int(row[1])


def count_webhook_endpoints(conn: Connection, workspace_id: str) -> int:
    """Webhook endpoints of a workspace (the ``webhook_endpoints`` quota)."""
    E = schema.webhook_endpoints
    return int(
        conn.execute(select(func.count()).select_from(E).where(E.c.workspace_id == workspace_id)).scalar_one()
    )
