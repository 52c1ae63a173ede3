"""Feedback and personalisation in SQLite: users, sessions (ids, goal, chosen items — never
text), a 1–5 rating per stage (or skipped), and the two study questions. Schema changes
are numbered migrations, applied in order on open.

A person's ratings become preferences: for tempo, mode and note density, the rating-weighted
direction they like (positive = more of it), from the items they rated. Later sessions add a
small bonus in that direction and leave out what they heard recently; the explanation says so.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np

from emoheal.retrieval.retrieve import PREFERENCE_PARAMETERS
from emoheal.utils.sqlite import open_store

MIGRATIONS = (
    # 1: users, sessions and per-stage ratings
    """
    CREATE TABLE users (id TEXT PRIMARY KEY, created REAL NOT NULL);
    CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT REFERENCES users(id), created REAL NOT NULL,
                           goal TEXT NOT NULL, items TEXT NOT NULL);
    CREATE TABLE feedback (session_id TEXT NOT NULL REFERENCES sessions(id), stage TEXT NOT NULL,
                           rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5), created REAL NOT NULL,
                           PRIMARY KEY (session_id, stage));
    CREATE INDEX sessions_by_user ON sessions(user_id, created);
    """,
    # 2: the paper's two study questions, per session
    """
    CREATE TABLE study (session_id TEXT PRIMARY KEY REFERENCES sessions(id),
                        reflected INTEGER CHECK (reflected BETWEEN 1 AND 5),
                        calmer INTEGER CHECK (calmer BETWEEN 1 AND 5), created REAL NOT NULL);
    """,
    # 3: each session's timeline (item ids and timings, nothing else), so any worker can render its mix
    """
    ALTER TABLE sessions ADD COLUMN timeline TEXT;
    """,
)
STAGES = ("match", "guide", "target")


def _heard(stage: dict) -> dict:
    """What a stage's rating is about: its first item's measures, and for the preference
    parameters the time-weighted mean over all its tracks (a rating is of the whole stage)."""
    measured = dict(stage["item"]["measured"])
    tracks = [t for t in stage.get("tracks") or [] if all(t["measured"].get(p) is not None
                                                         for p in PREFERENCE_PARAMETERS)]
    if tracks:
        weights = np.array([t["duration_s"] for t in tracks], dtype=float)
        for p in PREFERENCE_PARAMETERS:
            values = np.array([t["measured"][p] for t in tracks], dtype=float)
            measured[p] = float((weights * values).sum() / weights.sum())
    return measured


class FeedbackError(ValueError):
    """A rating, stage or session that cannot be recorded."""


class UnknownSessionError(FeedbackError):
    """Feedback for a session this store never saw."""


class FeedbackStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = open_store(self.path)  # shared by a server's worker threads, writes serialised by the lock
        self.lock = threading.RLock()
        self.db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        for version, script in enumerate(MIGRATIONS, start=1):
            if version > current:
                with self.db:
                    self.db.executescript(script)
                    self.db.execute("INSERT INTO schema_version VALUES (?)", (version,))

    @property
    def version(self) -> int:
        return self.db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    def record_session(self, session: dict, user: str | None) -> None:
        """Ids, goal and the chosen items with their measured descriptors — no text."""
        items = {s["name"]: {"id": s["item"]["id"], "measured": _heard(s),
                             "tracks": [t["item_id"] for t in s.get("tracks") or []]}
                 for s in session["stages"] if s.get("item")}
        from emoheal.session.mix import timeline_tracks

        timeline = json.dumps(timeline_tracks(session))
        with self.lock, self.db:
            if user is not None:
                self.db.execute("INSERT OR IGNORE INTO users VALUES (?, ?)", (user, time.time()))
            self.db.execute("INSERT INTO sessions (id, user_id, created, goal, items, timeline) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (session["session_id"], user, time.time(), session["goal"], json.dumps(items), timeline))

    def timeline(self, session_id: str) -> list[dict] | None:
        """The recorded session's tracks and timings (None: no such session, or one recorded before
        timelines were kept)."""
        with self.lock:
            row = self.db.execute("SELECT timeline FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return None if row is None or row[0] is None else json.loads(row[0])

    def add_feedback(self, session_id: str, stage: str, rating: int | None) -> None:
        if stage not in STAGES:
            raise FeedbackError(f"unknown stage {stage!r}: {', '.join(STAGES)}")
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
            raise FeedbackError(f"a rating is a whole number from 1 to 5 (or none for skipped), not {rating!r}")
        with self.lock, self.db:
            self._require_session(session_id)
            self.db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                            (session_id, stage, rating, time.time()))

    def add_study_answers(self, session_id: str, reflected: int, calmer: int) -> None:
        for name, value in (("reflected", reflected), ("calmer", calmer)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise FeedbackError(f"{name} is a whole number from 1 to 5, not {value!r}")
        with self.lock, self.db:
            self._require_session(session_id)
            self.db.execute("INSERT OR REPLACE INTO study VALUES (?, ?, ?, ?)",
                            (session_id, reflected, calmer, time.time()))

    def _require_session(self, session_id: str) -> None:
        if self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise UnknownSessionError(f"unknown session {session_id!r}")

    def recent_items(self, user: str, days: float = 7.0) -> set[str]:
        since = time.time() - days * 86400
        with self.lock:
            rows = self.db.execute("SELECT items FROM sessions WHERE user_id = ? AND created >= ?",
                                   (user, since)).fetchall()
        # every track heard, not only each stage's first (older records list the first only)
        return {i for (items,) in rows for stage in json.loads(items).values()
                for i in [stage["id"], *stage.get("tracks", [])]}

    def preferences(self, user: str, scales: dict[str, float]) -> dict:
        """Per parameter, the rating-weighted direction the person likes, in units of the corpus
        spread (`scales`): sum((rating - 3) * (value - mean)) / sum(|rating - 3|), clipped to [-1, 1]."""
        with self.lock:
            rows = self.db.execute(
                "SELECT s.items, f.stage, f.rating FROM feedback f JOIN sessions s ON s.id = f.session_id "
                "WHERE s.user_id = ? AND f.rating IS NOT NULL", (user,)).fetchall()
        if not rows:
            return {"ratings": 0}
        ratings, values = [], {p: [] for p in PREFERENCE_PARAMETERS}
        for items, stage, rating in rows:
            item = json.loads(items).get(stage)
            if item is None:
                continue
            ratings.append(rating - 3)
            for p in PREFERENCE_PARAMETERS:
                values[p].append(item["measured"][p])
        r = np.array(ratings, dtype=float)
        if not np.abs(r).sum():
            return {"ratings": len(ratings)}
        out = {"ratings": len(ratings)}
        for p in PREFERENCE_PARAMETERS:
            v = np.array(values[p], dtype=float)
            centred = (v - scales[p]["mean"]) / scales[p]["scale"]
            out[p] = float(np.clip((r * centred).sum() / np.abs(r).sum(), -1, 1))
        return out
