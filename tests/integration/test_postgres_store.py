"""The store on a real PostgreSQL server (tests/pg_server.py: Debian's binaries, a throwaway
cluster on loopback): the migrations, two migrators at once, profiles, ratings that replace each
other, erasure, retention and concurrent writers — the same code the SQLite tests run."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, insert, select

from emoheal.monitoring.records import RecordStore, read_store
from emoheal.session.feedback import FeedbackStore
from emoheal.store.database import open_store
from emoheal.store.migrate import current, head, upgrade
from emoheal.store.retention import apply_retention
from emoheal.store.tables import metadata, records, sessions
from tests.pg_server import binaries, postgres

pytestmark = pytest.mark.skipif(binaries() is None, reason="PostgreSQL is installed by `make setup`")
ITEMS = {"match": {"id": "a", "measured": {"tempo_bpm": 80.0, "mode_major": 0.4, "density_onsets_per_s": 1.0},
                   "tracks": ["a"]}}


@pytest.fixture(scope="module")
def server():
    with postgres() as url:
        yield url


@pytest.fixture
def store(server):
    """A migrated store in a fresh schema-less state: every table emptied between tests."""
    engine = open_store(server)
    yield FeedbackStore(engine)
    with engine.begin() as db:
        for table in reversed(metadata.sorted_tables):
            db.execute(table.delete())
    engine.dispose()


def _upgrade(url: str) -> str:
    return upgrade(open_store(url, migrate=False))


def test_two_replicas_migrating_at_once_both_reach_the_newest_schema(server):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        assert pool.map(_upgrade, [server, server]) == [head(), head()]
    engine = open_store(server, migrate=False)
    assert current(engine) == head()
    with engine.connect() as db:
        assert compare_metadata(MigrationContext.configure(db), metadata) == []
    engine.dispose()


def test_people_ratings_history_and_erasure(store):
    a, token = store.people.create()
    b, _ = store.people.create()
    with store.engine.begin() as db:
        for sid, who in (("s-a", a), ("s-b", b)):
            db.execute(insert(sessions).values(id=sid, profile_id=who, created=time.time(), goal="sleep",
                                               items=json.dumps(ITEMS), timeline="[]"))
    store.add_feedback("s-a", "match", 5)
    store.add_feedback("s-a", "match", 2)  # replaced in one statement (ON CONFLICT)
    store.add_study_answers("s-a", 4, 4)
    store.add_feedback("s-b", "match", 4)
    RecordStore(store.engine).add_rating("s-a", "match", 2)
    assert store.people.resolve(token) == a
    assert store.people.history(a)[0]["stages"][0]["rating"] == 2
    assert store.preferences(a, {p: {"mean": 0.0, "scale": 1.0} for p in
                                 ("tempo_bpm", "mode_major", "density_onsets_per_s")})["ratings"] == 1
    erased = store.people.erase(a)
    assert erased["profiles"] == 1 and erased["sessions"] == 1 and erased["monitoring_ratings"] == 1
    assert store.people.resolve(token) is None and store.people.history(b)[0]["stages"][0]["rating"] == 4
    _, ratings = read_store(str(store.engine.url.render_as_string(hide_password=False)))
    assert list(ratings["session_id"]) == []


def test_retention_on_postgres(store):
    now = time.time()
    monitoring = RecordStore(store.engine)
    for rid, age in (("old", 100), ("new", 1)):
        monitoring.append({"time": now - age * 86400, "request_id": rid, "endpoint": "detect",
                           "length_bucket": "<=20"})
    removed = apply_retention(store.engine, 90, now=now)
    assert removed["records"] == 1 and list(monitoring.frame()["request_id"]) == ["new"]


def test_concurrent_writers_lose_and_double_nothing(store):
    monitoring = RecordStore(store.engine)

    def write(worker: int) -> None:
        for i in range(50):
            monitoring.append({"time": time.time(), "request_id": f"{worker}-{i}", "endpoint": "detect",
                               "length_bucket": "<=20"})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store.engine.connect() as db:
        assert db.execute(select(func.count()).select_from(records)).scalar() == 400
        assert db.execute(select(func.count(records.c.request_id.distinct()))).scalar() == 400
