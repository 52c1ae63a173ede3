"""The store (emoheal.store) on SQLite: migrations from nothing and from the pre-Alembic feedback
file, profiles and tokens, history, export, erasure and retention. The PostgreSQL path runs the
same code against a real server in tests/integration/test_postgres_store.py."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sqlite3
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from emoheal.monitoring.records import RecordStore
from emoheal.session.feedback import FeedbackStore, UnknownSessionError
from emoheal.store.database import open_store
from emoheal.store.engine import StoreURLError, redacted, store_url
from emoheal.store.migrate import current, head, upgrade
from emoheal.store.people import People, well_formed
from emoheal.store.retention import apply_retention
from emoheal.store.tables import metadata, ratings, records, sessions

LEGACY_V1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE users (id TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT REFERENCES users(id), created REAL NOT NULL,
                       goal TEXT NOT NULL, items TEXT NOT NULL);
CREATE TABLE feedback (session_id TEXT NOT NULL REFERENCES sessions(id), stage TEXT NOT NULL,
                       rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5), created REAL NOT NULL,
                       PRIMARY KEY (session_id, stage));
CREATE INDEX sessions_by_user ON sessions(user_id, created);
INSERT INTO schema_version VALUES (1);
"""
ITEMS = {"match": {"id": "a", "measured": {"tempo_bpm": 80.0, "mode_major": 0.4, "density_onsets_per_s": 1.0},
                   "tracks": ["a", "b"]},
         "target": {"id": "c", "measured": {"tempo_bpm": 60.0, "mode_major": 0.7, "density_onsets_per_s": 0.5},
                    "tracks": ["c"]}}


def add_session(engine, session_id: str, profile: str | None, created: float | None = None) -> None:
    with engine.begin() as db:
        db.execute(insert(sessions).values(id=session_id, profile_id=profile, created=created or time.time(),
                                           goal="sleep", items=json.dumps(ITEMS), timeline="[]"))


def test_an_empty_database_migrates_to_exactly_the_tables_the_code_declares(tmp_path):
    engine = open_store(tmp_path / "s.sqlite")
    assert current(engine) == head() == "0003"
    with engine.connect() as db:
        assert compare_metadata(MigrationContext.configure(db), metadata) == []
    assert upgrade(engine) == head()  # again: nothing to do


def test_a_pre_alembic_feedback_file_keeps_its_people_sessions_and_ratings(tmp_path):
    path = tmp_path / "feedback.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_V1 + """
            INSERT INTO users VALUES ('alice', 1.0);
            INSERT INTO sessions VALUES ('s1', 'alice', 2.0, 'sleep', '{}');
            INSERT INTO sessions VALUES ('s2', NULL, 3.0, 'calm', '{}');
            INSERT INTO feedback VALUES ('s1', 'match', 4, 2.5);""")
    engine = open_store(path)
    assert current(engine) == head()
    people = People(engine)
    alice = people.find_local("alice")
    assert alice and len(alice) == 32 and alice != "alice"  # a new random id, the name kept as the local name
    with engine.connect() as db:
        owners = dict(db.execute(select(sessions.c.id, sessions.c.profile_id)).all())
        assert owners == {"s1": alice, "s2": None}
        assert db.exec_driver_sql("SELECT session_id, stage, rating FROM feedback").all() == [("s1", "match", 4)]
        names = {r[0] for r in db.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "users" not in names and "schema_version" not in names and {"records", "ratings", "profiles"} <= names


def _migrate(path: str) -> str:
    return upgrade(open_store(path, migrate=False))


def test_two_processes_opening_a_new_store_at_once_both_succeed(tmp_path):
    path = str(tmp_path / "race.sqlite")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(_migrate, [path, path]) == [head(), head()]


def test_tokens_are_random_kept_only_as_hashes_and_resolve_to_their_profile(tmp_path):
    engine = open_store(tmp_path / "s.sqlite")
    people = People(engine)
    (a, token_a), (b, token_b) = people.create(), people.create()
    assert a != b and token_a != token_b and well_formed(token_a) and len(token_a) >= 3 + 43  # 256 bits
    assert people.resolve(token_a) == a and people.resolve(token_b) == b
    for wrong in ("", "eh_", "Bearer " + token_a, token_a[:-1] + ("A" if token_a[-1] != "A" else "B"),
                  "eh_" + "x" * 43, token_a + " ", "☃" * 50):
        assert people.resolve(wrong) is None
    with engine.connect() as db:
        stored = db.exec_driver_sql("SELECT token_hash FROM profiles WHERE id = ?", (a,)).scalar()
    assert stored == hashlib.sha256(token_a.encode()).hexdigest()
    engine.dispose()
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("s.sqlite*"))
    assert token_a.encode() not in raw and token_b.encode() not in raw


def test_history_export_and_ratings_belong_to_their_profile(tmp_path):
    store = FeedbackStore(tmp_path / "s.sqlite")
    a, _ = store.people.create()
    b, _ = store.people.create()
    add_session(store.engine, "s-a", a, created=100.0)
    add_session(store.engine, "s-a2", a, created=200.0)
    add_session(store.engine, "s-b", b)
    store.add_feedback("s-a", "match", 5)
    store.add_feedback("s-a", "match", 2)  # changed their mind: the last rating counts
    store.add_feedback("s-a", "target", None)
    store.add_study_answers("s-a", 4, 5)
    with pytest.raises(UnknownSessionError):
        store.add_feedback("s-none", "match", 3)
    history = store.people.history(a)
    assert [h["session_id"] for h in history] == ["s-a2", "s-a"]  # newest first
    rated = {s["stage"]: s["rating"] for s in history[1]["stages"]}
    assert rated == {"match": 2, "target": None} and history[1]["study"] == {"reflected": 4, "calmer": 5}
    assert history[1]["stages"][0]["tracks"] == ["a", "b"]
    assert [h["session_id"] for h in store.people.history(b)] == ["s-b"]
    exported = store.people.export(a)
    assert exported["profile"]["id"] == a and exported["profile"]["kind"] == "api"
    assert {s["session_id"] for s in exported["sessions"]} == {"s-a", "s-a2"}
    assert {(r["stage"], r["rating"]) for r in exported["stage_ratings"]} == {("match", 2), ("target", None)}
    assert store.owner("s-a") == (True, a) and store.owner("s-b") == (True, b) and store.owner("x") == (False, None)


def test_erasure_leaves_nothing_of_the_person_and_keeps_others(tmp_path):
    store = FeedbackStore(tmp_path / "s.sqlite")
    monitoring = RecordStore(store.engine)
    a, token = store.people.create()
    b, _ = store.people.create()
    add_session(store.engine, "s-a", a)
    add_session(store.engine, "s-b", b)
    for sid, rating in (("s-a", 1), ("s-b", 4)):
        store.add_feedback(sid, "match", rating)
        store.add_study_answers(sid, 3, 3)
        monitoring.add_rating(sid, "match", rating)
        monitoring.append({"time": time.time(), "request_id": f"r-{sid}", "endpoint": "session", "session_id": sid,
                           "length_bucket": "<=20"})
    erased = store.people.erase(a)
    assert erased == {"stage_ratings": 1, "study_answers": 1, "monitoring_ratings": 1, "records_unlinked": 1,
                      "sessions": 1, "profiles": 1}
    assert store.people.resolve(token) is None and store.people.history(a) == []
    with store.engine.connect() as db:
        assert db.execute(select(ratings.c.session_id)).scalars().all() == ["s-b"]
        assert sorted(db.execute(select(records.c.session_id)).scalars().all(), key=str) == [None, "s-b"]
        left = [json.dumps([list(r) for r in db.exec_driver_sql(f"SELECT * FROM {t}")])
                for t in ("profiles", "sessions", "feedback", "study", "records", "ratings")]
    assert not any(a in text or "s-a" in text.replace("r-s-a", "") for text in left)
    assert store.people.history(b)[0]["stages"][0]["rating"] == 4  # the other person is untouched
    # the files as they are, the engine still open: deleted rows overwritten, the log checkpointed
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("s.sqlite*"))
    assert a.encode() not in raw and hashlib.sha256(token.encode()).hexdigest().encode() not in raw


def test_retention_deletes_what_is_older_than_the_window(tmp_path):
    store = FeedbackStore(tmp_path / "s.sqlite")
    monitoring = RecordStore(store.engine)
    now = time.time()
    old_profile, _ = store.people.create()
    with store.engine.begin() as db:  # a profile created long ago, whose only session is old too
        db.exec_driver_sql("UPDATE profiles SET created = ? WHERE id = ?", (now - 100 * 86400, old_profile))
    recent, _ = store.people.create()
    add_session(store.engine, "old", old_profile, created=now - 91 * 86400)
    add_session(store.engine, "new", recent, created=now - 89 * 86400)
    store.add_feedback("old", "match", 3)
    store.add_feedback("new", "match", 4)
    for sid, age in (("old", 91), ("new", 1)):
        monitoring.append({"time": now - age * 86400, "request_id": sid, "endpoint": "session", "session_id": sid,
                           "length_bucket": "<=20"})
        with store.engine.begin() as db:
            db.execute(insert(ratings).values(time=now - age * 86400, session_id=sid, stage="match", rating=3))
    removed = apply_retention(store.engine, 90, now=now)
    assert removed == {"stage_ratings": 1, "study_answers": 0, "sessions": 1, "records": 1, "monitoring_ratings": 1,
                       "profiles": 1}
    assert [h["session_id"] for h in store.people.history(recent)] == ["new"]
    assert list(monitoring.frame()["request_id"]) == ["new"]
    assert apply_retention(store.engine, 90, now=now) == dict.fromkeys(removed, 0)  # again: nothing more
    with pytest.raises(ValueError, match="positive"):
        apply_retention(store.engine, 0)


def test_store_urls(monkeypatch, tmp_path):
    monkeypatch.delenv("EMOHEAL_STORE_URL", raising=False)
    assert store_url(None, tmp_path / "x.sqlite") == f"sqlite:///{tmp_path / 'x.sqlite'}"
    assert store_url("postgresql+psycopg://u@h/db", "ignored") == "postgresql+psycopg://u@h/db"
    monkeypatch.setenv("EMOHEAL_STORE_URL", "postgresql+psycopg://env@h/db")
    assert store_url("postgresql+psycopg://u@h/db", "ignored") == "postgresql+psycopg://env@h/db"
    for bad in ("mysql://u@h/db", "not a url"):
        monkeypatch.setenv("EMOHEAL_STORE_URL", bad)
        with pytest.raises(StoreURLError):
            store_url(None, "x")
    assert "hunter2" not in redacted("postgresql+psycopg://u:hunter2@h/db")


def test_a_records_file_from_before_the_store_is_still_read_by_the_monitor(tmp_path):
    from emoheal.monitoring.records import read_store

    path = tmp_path / "records.sqlite"
    with sqlite3.connect(path) as db:  # the schema the monitoring records had in their own file
        db.executescript("""
            CREATE TABLE records (
                time REAL NOT NULL, request_id TEXT NOT NULL, endpoint TEXT NOT NULL, session_id TEXT,
                language TEXT, language_confidence REAL, length_bucket TEXT NOT NULL, probabilities TEXT,
                labels TEXT, top_label TEXT, top_probability REAL, risk_level TEXT, goal TEXT, stages TEXT,
                retrieval_backend TEXT, latency_ms REAL, model_version TEXT, runtime TEXT);
            CREATE TABLE ratings (
                time REAL NOT NULL, session_id TEXT NOT NULL, stage TEXT, rating INTEGER, reflected INTEGER,
                calmer INTEGER);
            INSERT INTO records (time, request_id, endpoint, length_bucket) VALUES (2.0, 'b', 'detect', '<=20');
            INSERT INTO records (time, request_id, endpoint, length_bucket) VALUES (1.0, 'a', 'session', '<=20');
            INSERT INTO ratings VALUES (1.5, 's', 'match', 4, NULL, NULL);""")
    found, given = read_store(path)
    assert list(found["request_id"]) == ["a", "b"] and list(given["rating"]) == [4]
    assert sorted(r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")) == [
        "ratings", "records"]  # read, never migrated
