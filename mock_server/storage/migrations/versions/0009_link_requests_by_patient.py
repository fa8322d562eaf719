"""Link requests get an index by patient: the patients page reads each row's pending request.

``GET /v1/sandbox/patients`` (and the console's Patients page) reads a page of patients with one
statement, whose correlated subquery finds each patient's pending, unexpired link request. With only
``(workspace_id, status, created_at)`` to go by, SQLite scanned every pending request of the
workspace for every patient of the page *and* of the pages before it (``OFFSET`` evaluates the rows
it skips): with 5,000 patients each holding a pending request, the last page took 4.8 s. With
``(patient_ref, status, created_at, id)`` the subquery is one index lookup in the order it reads
(0.02 s for the same page); ``ConsentRepo.pending_for`` uses it too.

Revision ID: 0009_link_requests_by_patient
Revises: 0008_records_page_index_with_id
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0009_link_requests_by_patient"
down_revision = "0008_records_page_index_with_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_link_requests_patient", "link_requests", ["patient_ref", "status", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_link_requests_patient", table_name="link_requests")
