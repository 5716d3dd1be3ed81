"""Alembic environment: runs migrations on the connection pecora hands over (no URL in an ini)."""

from __future__ import annotations

from alembic import context

from store.schema import metadata

target_metadata = metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - pecora always passes its own connection
    raise RuntimeError("run migrations through `pecora db upgrade` (store.migrate)")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things: batch mode rebuilds tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
