"""Alembic's environment, run by `emoheal.store.migrate.upgrade` (never by a bare `alembic`
command: the connection comes from the caller, so there is no alembic.ini and no URL in a file)."""

from __future__ import annotations

from alembic import context

from emoheal.store.tables import metadata

connection = context.config.attributes["connection"]
if connection.dialect.name == "sqlite":
    # SQLite rebuilds a table to alter it (batch mode): dropping the old copy must not trip the
    # foreign keys that point at it. Outside a transaction, or the pragma is ignored.
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
