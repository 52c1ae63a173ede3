"""How the service opens its SQLite stores (feedback, monitoring records)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_store(path: str | Path) -> sqlite3.Connection:
    """One connection shared by a server's worker threads (each store serialises its writes with a lock).

    Write-ahead log with synchronous=NORMAL: a commit appends to the log without an fsync (0.02 ms here,
    against 3 ms for the default rollback journal). Every /session commits twice (its timeline, its
    monitoring record), behind those locks, and at eight concurrent clients the fsyncs queued into the
    tail latency. What this gives up: a power cut (not a crash of the process) may lose the last
    commits; the file stays consistent either way."""
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    return db
