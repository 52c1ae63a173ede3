"""Bring a store's schema to the newest revision (Alembic, `migrations/versions/`), whoever
opens it first: the service on start (each replica and worker; one at a time, under a lock),
`emoheal store upgrade`, or a test.

A feedback store written before Alembic (its own `schema_version` table, numbered scripts 1-3)
is first brought to that code's last version, then stamped at revision 0001 (the same schema)
and upgraded from there: its users, sessions and ratings are kept."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: the PostgreSQL advisory lock that keeps two replicas from migrating at once.
_PG_LOCK = 7_304_211_901
# The pre-Alembic feedback store's scripts 2 and 3 (1 is revision 0001's first half), for a file
# that stopped before them.
_LEGACY_STEPS = {
    2: "CREATE TABLE study (session_id TEXT PRIMARY KEY REFERENCES sessions(id), reflected INTEGER CHECK "
       "(reflected BETWEEN 1 AND 5), calmer INTEGER CHECK (calmer BETWEEN 1 AND 5), created REAL NOT NULL)",
    3: "ALTER TABLE sessions ADD COLUMN timeline TEXT",
}


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate to `revision` (default: the newest); returns the revision the store is at."""
    with _exclusive(engine), engine.connect() as connection:
        _adopt_legacy(connection)
        command.upgrade(_config(connection), revision)
        connection.commit()
    return current(engine)


def _adopt_legacy(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if "schema_version" not in tables or "alembic_version" in tables:
        return
    version = connection.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0
    if version < 1:
        raise RuntimeError("a pre-Alembic feedback store without its first migration: not a store this code wrote")
    for step in range(version + 1, 4):
        connection.exec_driver_sql(_LEGACY_STEPS[step])
    connection.commit()
    command.stamp(_config(connection), "0001")
    connection.commit()


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """One migrator at a time: a PostgreSQL advisory lock (replicas on several hosts), or a lock
    file beside an SQLite database (the worker processes of one host)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
