"""Where the store lives: a URL (SQLite file by default, PostgreSQL when one is named) and the
engine that talks to it."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

URL_ENV = "EMOHEAL_STORE_URL"


class StoreURLError(ValueError):
    """A store URL that names no database this project can use."""


def store_url(configured: str | None, default_file: str | Path) -> str:
    """The store's URL: EMOHEAL_STORE_URL, else the configured `serving.store_url`, else the SQLite
    file `default_file`. Only SQLite and PostgreSQL are accepted."""
    return checked(os.environ.get(URL_ENV) or configured or f"sqlite:///{Path(default_file)}")


def checked(url: str) -> str:
    """`url` if it names an SQLite or PostgreSQL database, else StoreURLError."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise StoreURLError(f"not a database URL: {redacted(url)!r} (e.g. sqlite:///state/store.sqlite or "
                            "postgresql+psycopg://user@host:5432/emoheal)") from None
    if backend not in ("sqlite", "postgresql"):
        raise StoreURLError(f"the store runs on SQLite or PostgreSQL, not {backend!r}")
    return url


def redacted(url: str) -> str:
    """The URL as logs and errors may show it: never its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def open_engine(url: str, pool_size: int = 8, read_only: bool = False) -> Engine:
    """SQLite: write-ahead log, synchronous=NORMAL (a commit appends to the log without an fsync:
    at eight concurrent clients the default journal's fsyncs queued into the tail latency; a power
    cut, not a crash, may lose the last commits), foreign keys enforced, and a writer waits up to
    10 s for another instead of failing. PostgreSQL: a pool of `pool_size` connections, checked
    before use (a replica outlives a database restart). `read_only`: SQLite pragmas that would
    write are left out (the URL opens the file with mode=ro)."""
    parsed = make_url(checked(url))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    if not read_only and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
    # secure_delete: a deleted row's bytes are overwritten, not left in a free page (erasure means it)
    pragmas = ["PRAGMA foreign_keys = ON"] if read_only else [
        "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON",
        "PRAGMA secure_delete = ON"]

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    return engine


def purge_old_copies(engine: Engine) -> None:
    """After a deletion that must leave nothing behind: SQLite's write-ahead log still holds the
    pages as they were before it, until a checkpoint copies the log into the file and truncates it.
    (PostgreSQL keeps dead rows until VACUUM, which autovacuum runs; docs/privacy.md.)"""
    if engine.dialect.name == "sqlite":
        with engine.connect() as db:
            db.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
