"""Request records for monitoring: what was derived from a request, never what was written.

One row per /detect or /session answer: time, endpoint, detected language and confidence, a
text-length bucket (not the length), the 28 emotion probabilities and active labels, the top
probability, the risk level, goal, the stages' targets and chosen items' scores, the retrieval
backend and latency; feedback ratings are joined later by session id. In the store
(`emoheal.store`: SQLite or PostgreSQL, shared by every replica), append-only until retention.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from emoheal.store.database import as_url, open_store
from emoheal.store.engine import open_engine, redacted
from emoheal.store.tables import RATING_COLUMNS, RECORD_COLUMNS, ratings, records

LENGTH_BUCKETS = (20, 50, 100, 200, 500, 1000, 2000)
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
    def __init__(self, target: str | Path | Engine):
        self.engine = target if isinstance(target, Engine) else open_store(target)

    def append(self, record: dict[str, Any]) -> None:
        unknown = set(record) - set(RECORD_COLUMNS)
        if unknown:
            raise ValueError(f"not record columns: {sorted(unknown)}")
        with self.engine.begin() as db:
            db.execute(insert(records).values(**record))

    def add_rating(self, session_id: str, stage: str | None = None, rating: int | None = None,
                   reflected: int | None = None, calmer: int | None = None) -> None:
        with self.engine.begin() as db:
            db.execute(insert(ratings).values(time=time.time(), session_id=session_id, stage=stage, rating=rating,
                                              reflected=reflected, calmer=calmer))

    def frame(self, since: float | None = None, table: str = "records") -> pd.DataFrame:
        with self.engine.connect() as db:
            return _read(db, table, since)


class RecordStoreError(ValueError):
    """A store that cannot be read for monitoring (missing, not a database, or without its tables)."""


_TABLES = {"records": (records, RECORD_COLUMNS), "ratings": (ratings, RATING_COLUMNS)}


def _read(db, table: str, since: float | None) -> pd.DataFrame:
    chosen, columns = _TABLES[table]
    query = select(*[chosen.c[c] for c in columns]).order_by(chosen.c.time)
    if since is not None:
        query = query.where(chosen.c.time >= since)
    return pd.DataFrame(db.execute(query).all(), columns=list(columns))


def read_store(target: str | Path, since: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records, ratings) since a time, read-only: a reader never creates, migrates or alters the
    store it is pointed at (a wrong path must not gain tables). `target`: a URL or an SQLite path."""
    url = as_url(target)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise RecordStoreError(f"no records store at {path}")
        url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    try:
        engine = open_engine(url, read_only=True)
        with engine.connect() as db:
            if not {"records", "ratings"} <= set(inspect(db).get_table_names()):
                raise RecordStoreError(f"{redacted(url)} is a database without the records and ratings tables: "
                                       "not a records store")
            return _read(db, "records", since), _read(db, "ratings", since)
    except SQLAlchemyError as exc:
        raise RecordStoreError(f"{redacted(url)} cannot be read as a records store: "
                               f"{exc.orig if getattr(exc, 'orig', None) else exc}") from None
