"""Retention: what is older than the configured window is deleted, people's data and monitoring
records alike (`emoheal retention`, and the service once a day). The monitoring reference (the
test split as the service would record it, a file of the pipeline) is not in the store and is
never touched."""

from __future__ import annotations

import time

from sqlalchemy import Engine, delete, exists, select, update

from emoheal.store.tables import feedback, profiles, ratings, records, sessions, study

DAY_S = 86_400


def apply_retention(engine: Engine, days: float, now: float | None = None) -> dict[str, int]:
    """Delete sessions (with their stage ratings and study answers), monitoring records and ratings
    older than `days`, and profiles older than that with no session left. Returns the counts."""
    if days <= 0:
        raise ValueError(f"a retention window is a positive number of days, not {days!r}")
    cutoff = (time.time() if now is None else now) - days * DAY_S
    with engine.begin() as db:
        old = select(sessions.c.id).where(sessions.c.created < cutoff).scalar_subquery()
        counts = {
            "stage_ratings": db.execute(delete(feedback).where(feedback.c.session_id.in_(old))).rowcount,
            "study_answers": db.execute(delete(study).where(study.c.session_id.in_(old))).rowcount,
        }
        # a newer record of an old session (cannot happen today) keeps no link to what is gone
        db.execute(update(records).where(records.c.session_id.in_(old)).values(session_id=None))
        counts["sessions"] = db.execute(delete(sessions).where(sessions.c.created < cutoff)).rowcount
        counts["records"] = db.execute(delete(records).where(records.c.time < cutoff)).rowcount
        counts["monitoring_ratings"] = db.execute(delete(ratings).where(ratings.c.time < cutoff)).rowcount
        idle = (profiles.c.created < cutoff) & ~exists().where(sessions.c.profile_id == profiles.c.id)
        counts["profiles"] = db.execute(delete(profiles).where(idle)).rowcount
    return counts
