"""The records page index ends with ``id``: a page is read in its order instead of sorted.

Every list of patient data is ordered ``at DESC, id DESC`` (a total order, so pages never overlap).
With ``(patient_ref, series, at)`` SQLite read the rows in ``at`` order and sorted each group of equal
``at`` by ``id`` in a temporary B-tree, copying every body into it: that sort was most of the page
query's time (bench/README.md "Read path vs Prism", 2026-12-07). With ``id`` in the index the rows
come out in page order and the read stops after ``LIMIT`` rows. The new index replaces the old one
(it serves every query the old one did).

Revision ID: 0008_records_page_index_with_id
Revises: 0007_swagger_ui_redirects
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0008_records_page_index_with_id"
down_revision = "0007_swagger_ui_redirects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_patient_series_at_id", "records", ["patient_ref", "series", "at", "id"])
    op.drop_index("ix_records_patient_series_at", table_name="records")


def downgrade() -> None:
    op.create_index("ix_records_patient_series_at", "records", ["patient_ref", "series", "at"])
    op.drop_index("ix_records_patient_series_at_id", table_name="records")
