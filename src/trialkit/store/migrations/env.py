"""Alembic environment: always run programmatically with a connection passed in.

``trialkit db upgrade`` opens the transaction and hands its connection over in
``config.attributes["connection"]``; the schema lands in the connection's default schema (on
PostgreSQL the first entry of its ``search_path``).
"""

from __future__ import annotations

from alembic import context

from trialkit.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI
    raise RuntimeError("run migrations through `trialkit db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
