"""Alembic's entry point: run the revisions on the connection ``migrate()`` opened and locked.

There is no alembic.ini and no URL here: ``mock_server.storage.migrations.migrate`` hands over a
connection already inside its locked transaction, so revisions commit (or roll back) with it.
"""

from __future__ import annotations

from alembic import context

from mock_server.storage import schema

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations with `care-sandbox migrate` (mock_server.storage.migrations.migrate)")

context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
