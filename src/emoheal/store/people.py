"""A person's data: profiles without accounts, their own history, everything stored about them,
and erasure.

An API profile is created by the service and known only by its bearer token, an opaque random
string of 256 bits that the store never keeps: it keeps the token's sha256 (a token that random
needs no salt or slow hash: there is nothing to guess from). A local profile is the CLI's
`--user NAME` on one machine: a name, no token, not reachable through the API."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from emoheal.store.engine import purge_old_copies
from emoheal.store.tables import feedback, profiles, ratings, records, sessions, study

TOKEN_BYTES = 32
TOKEN_PREFIX = "eh_"  # says what it is when one turns up somewhere it should not (a log, a ticket)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether a string could be one of our tokens (before any lookup)."""
    body = token[len(TOKEN_PREFIX):]
    return (token.startswith(TOKEN_PREFIX) and 40 <= len(body) <= 64
            and all(c.isalnum() or c in "-_" for c in body))


class People:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self) -> tuple[str, str]:
        """A new API profile: (profile id, bearer token). The token is shown once, here."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        profile = secrets.token_hex(16)
        with self.engine.begin() as db:
            db.execute(insert(profiles).values(id=profile, token_hash=token_hash(token), created=time.time()))
        return profile, token

    def resolve(self, token: str) -> str | None:
        """The profile a token belongs to; None for a malformed or unknown one (callers answer both
        alike)."""
        if not well_formed(token):
            return None
        with self.engine.connect() as db:
            return db.execute(select(profiles.c.id).where(profiles.c.token_hash == token_hash(token))).scalar()

    def local(self, name: str) -> str:
        """The local profile called `name` (the CLI's --user), created on first use."""
        if not name.strip():
            raise ValueError("a local user name cannot be empty")
        with self.engine.begin() as db:
            found = db.execute(select(profiles.c.id).where(profiles.c.local_name == name)).scalar()
            if found:
                return found
            profile = secrets.token_hex(16)
            db.execute(insert(profiles).values(id=profile, local_name=name, created=time.time()))
            return profile

    def find_local(self, name: str) -> str | None:
        with self.engine.connect() as db:
            return db.execute(select(profiles.c.id).where(profiles.c.local_name == name)).scalar()

    def history(self, profile: str, limit: int = 50) -> list[dict[str, Any]]:
        """The person's sessions, newest first: time, goal, each stage's items and rating, the two
        study answers. Never text (the store has none)."""
        with self.engine.connect() as db:
            rows = db.execute(select(sessions.c.id, sessions.c.created, sessions.c.goal, sessions.c["items"])
                              .where(sessions.c.profile_id == profile)
                              .order_by(sessions.c.created.desc()).limit(limit)).all()
            ids = [r.id for r in rows]
            given = _by_session(db.execute(select(feedback).where(feedback.c.session_id.in_(ids))).mappings())
            answers = {r["session_id"]: r for r in db.execute(select(study).where(study.c.session_id.in_(ids)))
                       .mappings()}
        out = []
        for row in rows:
            items = json.loads(row.items)
            stages = [{"stage": name, "item": stage["id"], "tracks": stage.get("tracks") or [stage["id"]],
                       "rating": given.get(row.id, {}).get(name)} for name, stage in items.items()]
            answer = answers.get(row.id)
            out.append({"session_id": row.id, "time": row.created, "goal": row.goal, "stages": stages,
                        "study": {"reflected": answer["reflected"], "calmer": answer["calmer"]} if answer else None})
        return out

    def export(self, profile: str) -> dict[str, Any]:
        """Everything stored about the person, as JSON-ready data."""
        with self.engine.connect() as db:
            row = db.execute(select(profiles).where(profiles.c.id == profile)).mappings().one()
            own = db.execute(select(sessions).where(sessions.c.profile_id == profile)
                             .order_by(sessions.c.created)).mappings().all()
            ids = [s["id"] for s in own]
            stage_rows = db.execute(select(feedback).where(feedback.c.session_id.in_(ids))
                                    .order_by(feedback.c.created)).mappings().all()
            study_rows = db.execute(select(study).where(study.c.session_id.in_(ids))).mappings().all()
        return {
            "profile": {"id": row["id"], "created": row["created"],
                        "kind": "local" if row["local_name"] is not None else "api",
                        "token": "not stored (only its sha256)" if row["token_hash"] else None},
            "sessions": [{"session_id": s["id"], "time": s["created"], "goal": s["goal"],
                          "items": json.loads(s["items"]), "timeline": json.loads(s["timeline"] or "null")}
                         for s in own],
            "stage_ratings": [dict(r) for r in stage_rows],
            "study_answers": [dict(r) for r in study_rows],
        }

    def erase(self, profile: str) -> dict[str, int]:
        """Everything of the person, in one transaction: the profile, its sessions and ratings (and
        so the preferences learned from them), the monitoring ratings of those sessions; the
        monitoring records of those sessions stay, de-identified (their session id removed).
        Returns what was removed, by kind."""
        with self.engine.begin() as db:
            ids = select(sessions.c.id).where(sessions.c.profile_id == profile).scalar_subquery()
            counts = {
                "stage_ratings": db.execute(delete(feedback).where(feedback.c.session_id.in_(ids))).rowcount,
                "study_answers": db.execute(delete(study).where(study.c.session_id.in_(ids))).rowcount,
                "monitoring_ratings": db.execute(delete(ratings).where(ratings.c.session_id.in_(ids))).rowcount,
                "records_unlinked": db.execute(update(records).where(records.c.session_id.in_(ids))
                                               .values(session_id=None)).rowcount,
            }
            counts["sessions"] = db.execute(delete(sessions).where(sessions.c.profile_id == profile)).rowcount
            counts["profiles"] = db.execute(delete(profiles).where(profiles.c.id == profile)).rowcount
        purge_old_copies(self.engine)
        return counts

    def count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(select(func.count()).select_from(profiles)).scalar()


def _by_session(rows) -> dict[str, dict[str, int | None]]:
    out: dict[str, dict[str, int | None]] = {}
    for r in rows:
        out.setdefault(r["session_id"], {})[r["stage"]] = r["rating"]
    return out
