"""Request records for monitoring: what was derived from a request, never what was written.

One row per /detect or /session answer: time, endpoint, detected language and confidence, a
text-length bucket (not the length), the 28 emotion probabilities and active labels, the top
probability, the risk level, goal, the stages' targets and chosen items' scores, the retrieval
backend and latency; feedback ratings are joined later by session id. SQLite, append-only, one
connection per process guarded by a lock (a server's worker threads share it).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from emoheal.utils.sqlite import open_store

LENGTH_BUCKETS = (20, 50, 100, 200, 500, 1000, 2000)
SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    time REAL NOT NULL, request_id TEXT NOT NULL, endpoint TEXT NOT NULL, session_id TEXT,
    language TEXT, language_confidence REAL, length_bucket TEXT NOT NULL, probabilities TEXT,
    labels TEXT, top_label TEXT, top_probability REAL, risk_level TEXT, goal TEXT, stages TEXT,
    retrieval_backend TEXT, latency_ms REAL, model_version TEXT, runtime TEXT);
CREATE INDEX IF NOT EXISTS records_by_time ON records(time);
CREATE TABLE IF NOT EXISTS ratings (
    time REAL NOT NULL, session_id TEXT NOT NULL, stage TEXT, rating INTEGER, reflected INTEGER, calmer INTEGER);
"""


def length_bucket(n_chars: int) -> str:
    """A coarse bucket, so the record says "short/long", not how many characters someone typed."""
    low = 0
    for high in LENGTH_BUCKETS:
        if n_chars <= high:
            return f"{low + 1}-{high}" if low else f"<={high}"
        low = high
    return f">{LENGTH_BUCKETS[-1]}"


def derive(endpoint: str, request_id: str, text_chars: int, payload: dict, latency_ms: float) -> dict[str, Any]:
    """The record for an answer (the API's response body); the text itself never enters."""
    emotions = payload.get("emotions") or {}
    probabilities = emotions.get("probabilities") or {}
    top = max(probabilities.items(), key=lambda kv: kv[1]) if probabilities else (None, None)
    language = payload.get("language") or {}
    stages = [{"name": s["name"], "targets": {k: s["targets"].get(k) for k in ("tempo_bpm", "mode_major",
                                                                               "loudness_lufs")},
               "item": (s.get("item") or {}).get("id"), "score": s.get("score")} for s in payload.get("stages", [])]
    versions = payload.get("versions") or {}
    return {"time": time.time(), "request_id": request_id, "endpoint": endpoint,
            "session_id": payload.get("session_id"), "language": language.get("detected"),
            "language_confidence": language.get("confidence"), "length_bucket": length_bucket(text_chars),
            "probabilities": json.dumps(probabilities) if probabilities else None,
            "labels": json.dumps(emotions.get("labels", [])), "top_label": top[0], "top_probability": top[1],
            "risk_level": (payload.get("safety") or {}).get("level"), "goal": payload.get("goal"),
            "stages": json.dumps(stages), "retrieval_backend": versions.get("retrieval_backend"),
            "latency_ms": round(latency_ms, 2), "model_version": versions.get("emotion_model"),
            "runtime": versions.get("runtime")}


class RecordStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = open_store(self.path)
        self.lock = threading.Lock()
        with self.lock, self.db:
            self.db.executescript(SCHEMA)

    def append(self, record: dict[str, Any]) -> None:
        columns = ", ".join(record)
        with self.lock, self.db:
            self.db.execute(f"INSERT INTO records ({columns}) VALUES ({', '.join('?' * len(record))})",
                            tuple(record.values()))

    def add_rating(self, session_id: str, stage: str | None = None, rating: int | None = None,
                   reflected: int | None = None, calmer: int | None = None) -> None:
        with self.lock, self.db:
            self.db.execute("INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
                            (time.time(), session_id, stage, rating, reflected, calmer))

    def frame(self, since: float | None = None, table: str = "records") -> pd.DataFrame:
        with self.lock:
            return _read(self.db, table, since)


class RecordStoreError(ValueError):
    """A file that is not a records store (missing, not SQLite, or without its tables)."""


def _read(db: sqlite3.Connection, table: str, since: float | None) -> pd.DataFrame:
    query = f"SELECT * FROM {table}" + (" WHERE time >= ?" if since is not None else "")
    return pd.read_sql_query(query, db, params=(since,) if since is not None else None)


def read_store(path: str | Path, since: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records, ratings) since a time, read-only: a reader never creates or alters the file it is
    pointed at (a wrong path must not gain tables)."""
    path = Path(path)
    if not path.is_file():
        raise RecordStoreError(f"no records store at {path}")
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"records", "ratings"} <= tables:
                raise RecordStoreError(f"{path} is an SQLite file without the records and ratings tables: "
                                       "not a records store")
            return _read(db, "records", since), _read(db, "ratings", since)
    except sqlite3.DatabaseError as exc:
        raise RecordStoreError(f"{path} cannot be read as a records store: {exc}") from None
