"""Opening the store: a URL or an SQLite file path in, a migrated engine out."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from emoheal.store.engine import open_engine
from emoheal.store.migrate import upgrade


def as_url(target: str | Path) -> str:
    """A database URL as given, or an SQLite file path made into one."""
    text = str(target)
    return text if "://" in text else f"sqlite:///{Path(text)}"


def open_store(target: str | Path, migrate: bool = True) -> Engine:
    """The engine for `target` (URL or SQLite path), its schema brought to the newest revision."""
    engine = open_engine(as_url(target))
    if migrate:
        upgrade(engine)
    return engine
