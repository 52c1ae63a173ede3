"""Feedback and personalisation in the store (`emoheal.store`: SQLite or PostgreSQL): sessions
(ids, goal, chosen items — never text) of a profile, a 1–5 rating per stage (or skipped), and the
two study questions.

A person's ratings become preferences: for tempo, mode and note density, the rating-weighted
direction they like (positive = more of it), from the items they rated. Later sessions add a
small bonus in that direction and leave out what they heard recently; the explanation says so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from emoheal.retrieval.retrieve import PREFERENCE_PARAMETERS
from emoheal.store.database import open_store
from emoheal.store.people import People
from emoheal.store.tables import feedback, sessions, study

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
    """Sessions and their ratings; `profile` arguments are profile ids (`emoheal.store.people`)."""

    def __init__(self, target: str | Path | Engine):
        self.engine = target if isinstance(target, Engine) else open_store(target)
        self.people = People(self.engine)

    def record_session(self, session: dict, profile: str | None) -> None:
        """Ids, goal and the chosen items with their measured descriptors — no text."""
        items = {s["name"]: {"id": s["item"]["id"], "measured": _heard(s),
                             "tracks": [t["item_id"] for t in s.get("tracks") or []]}
                 for s in session["stages"] if s.get("item")}
        from emoheal.session.mix import timeline_tracks

        with self.engine.begin() as db:
            db.execute(insert(sessions).values(id=session["session_id"], profile_id=profile, created=time.time(),
                                               goal=session["goal"], items=json.dumps(items),
                                               timeline=json.dumps(timeline_tracks(session))))

    def owner(self, session_id: str) -> tuple[bool, str | None]:
        """(whether the session exists, the profile it belongs to)."""
        with self.engine.connect() as db:
            row = db.execute(select(sessions.c.profile_id).where(sessions.c.id == session_id)).first()
        return (False, None) if row is None else (True, row[0])

    def timeline(self, session_id: str) -> list[dict] | None:
        """The recorded session's tracks and timings (None: no such session, or one recorded before
        timelines were kept)."""
        with self.engine.connect() as db:
            found = db.execute(select(sessions.c.timeline).where(sessions.c.id == session_id)).first()
        return None if found is None or found[0] is None else json.loads(found[0])

    def add_feedback(self, session_id: str, stage: str, rating: int | None) -> None:
        if stage not in STAGES:
            raise FeedbackError(f"unknown stage {stage!r}: {', '.join(STAGES)}")
        if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
            raise FeedbackError(f"a rating is a whole number from 1 to 5 (or none for skipped), not {rating!r}")
        self._replace(feedback, ("session_id", "stage"),
                      {"session_id": session_id, "stage": stage, "rating": rating, "created": time.time()})

    def add_study_answers(self, session_id: str, reflected: int, calmer: int) -> None:
        for name, value in (("reflected", reflected), ("calmer", calmer)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise FeedbackError(f"{name} is a whole number from 1 to 5, not {value!r}")
        self._replace(study, ("session_id",),
                      {"session_id": session_id, "reflected": reflected, "calmer": calmer, "created": time.time()})

    def _replace(self, table, key: tuple[str, ...], row: dict) -> None:
        """Insert, or replace the answer already given (a person may change their mind): one
        statement, so two replicas writing at once cannot both insert."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).values(**row)
        statement = statement.on_conflict_do_update(index_elements=list(key),
                                                    set_={k: statement.excluded[k] for k in row if k not in key})
        with self.engine.begin() as db:
            if db.execute(select(sessions.c.id).where(sessions.c.id == row["session_id"])).first() is None:
                raise UnknownSessionError(f"unknown session {row['session_id']!r}")
            db.execute(statement)

    def recent_items(self, profile: str, days: float = 7.0) -> set[str]:
        since = time.time() - days * 86400
        with self.engine.connect() as db:
            rows = db.execute(select(sessions.c["items"]).where((sessions.c.profile_id == profile)
                                                             & (sessions.c.created >= since))).all()
        # every track heard, not only each stage's first (older records list the first only)
        return {i for (items,) in rows for stage in json.loads(items).values()
                for i in [stage["id"], *stage.get("tracks", [])]}

    def preferences(self, profile: str, scales: dict[str, float]) -> dict:
        """Per parameter, the rating-weighted direction the person likes, in units of the corpus
        spread (`scales`): sum((rating - 3) * (value - mean)) / sum(|rating - 3|), clipped to [-1, 1]."""
        with self.engine.connect() as db:
            rows = db.execute(select(sessions.c["items"], feedback.c.stage, feedback.c.rating)
                              .join(sessions, sessions.c.id == feedback.c.session_id)
                              .where((sessions.c.profile_id == profile) & feedback.c.rating.is_not(None))).all()
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
