"""People's data through the HTTP API (in-process app, a real Backend over the ci-trained model,
its own SQLite store): tokens, personalisation and feedback with a token, the one 401 and the one
403, history, export, erasure and retention — and nothing of a person left after erasure."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import insert

TEXT = "I'm a bit nervous about tomorrow's meeting and want to relax before sleep."


@pytest.fixture(scope="module")
def backend(bundle, tmp_path_factory):
    from serving.backend import Backend

    store = tmp_path_factory.mktemp("people") / "store.sqlite"
    return Backend(bundle["emotion"], bundle["session"], settings={**bundle["settings"], "store_file": str(store)})


@pytest.fixture(scope="module")
def client(backend):
    from fastapi.testclient import TestClient

    from serving.app import build_app
    from serving.middleware import RequestContext

    app = build_app(lambda: backend, backend.settings["max_text_chars"])
    return TestClient(RequestContext(app, versions=lambda: backend.versions,
                                     max_body_bytes=backend.settings["max_body_bytes"], local_app=app),
                      raise_server_exceptions=False)


def new_profile(client) -> tuple[str, dict]:
    r = client.post("/users")
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    return token, {"Authorization": f"Bearer {token}"}


def refusal(response, status: int) -> dict:
    """The error document without what differs per request (its id)."""
    assert response.status_code == status, response.text
    body = response.json()
    body.pop("request_id")
    return body


def store_bytes(backend) -> bytes:
    return b"".join(f.read_bytes() for f in Path(backend.settings["store_file"]).parent.glob("store.sqlite*"))


def test_a_profile_is_a_token_shown_once_and_stored_as_its_hash(client, backend):
    token, _ = new_profile(client)
    other, _ = new_profile(client)
    assert token != other and token.startswith("eh_") and len(token) >= 46
    assert token.encode() not in store_bytes(backend)
    assert hashlib.sha256(token.encode()).hexdigest().encode() in store_bytes(backend)


def test_a_token_personalises_sessions_and_keeps_them_in_the_history(client):
    _, me = new_profile(client)
    first = client.post("/session", json={"text": TEXT, "seed": 1}, headers=me).json()
    for stage in ("match", "guide", "target"):
        r = client.post("/feedback", json={"session_id": first["session_id"], "stage": stage, "rating": 2},
                        headers=me)
        assert r.status_code == 200, r.text
    second = client.post("/session", json={"text": TEXT, "seed": 2}, headers=me).json()
    assert "left out" in second["personalisation"]  # what this person heard is not offered again
    anonymous = client.post("/session", json={"text": TEXT, "seed": 2}).json()
    assert anonymous["personalisation"] is None
    history = client.get("/users/me/history", headers=me).json()["sessions"]
    assert [h["session_id"] for h in history] == [second["session_id"], first["session_id"]]
    assert {s["stage"]: s["rating"] for s in history[1]["stages"]} == {"match": 2, "guide": 2, "target": 2}
    assert history[0]["goal"] == "sleep" and history[0]["time"] <= time.time()
    assert "nervous" not in str(history)


def test_every_refused_token_gets_the_same_401_and_a_foreign_session_the_same_403(client):
    token, mine = new_profile(client)
    _, theirs = new_profile(client)
    session = client.post("/session", json={"text": TEXT}, headers=mine).json()
    unknown = "eh_" + "A" * 43  # well formed, names no profile
    headers = [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwdw=="},
               {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {unknown}"},
               {"Authorization": f"Bearer {token}x"}, {"Authorization": f"Token {token}"}]
    refusals = []
    for h in headers:
        for method, path, body in (("GET", "/users/me/history", None), ("GET", "/users/me/export", None),
                                   ("DELETE", "/users/me", None),
                                   ("POST", "/feedback", {"session_id": session["session_id"], "stage": "match",
                                                          "rating": 3})):
            r = client.request(method, path, json=body, headers=h)
            assert r.headers.get("www-authenticate", "").startswith("Bearer")
            refusals.append(refusal(r, 401))
    assert all(r == refusals[0] for r in refusals) and refusals[0]["error"]["code"] == "unauthorized"
    for h in headers[1:]:  # a /session with a bad token is refused too, never quietly anonymous
        assert refusal(client.post("/session", json={"text": TEXT}, headers=h), 401) == refusals[0]
    rate = {"stage": "match", "rating": 1}
    foreign = refusal(client.post("/feedback", json={"session_id": session["session_id"], **rate}, headers=theirs),
                      403)
    missing = refusal(client.post("/feedback", json={"session_id": "f" * 32, **rate}, headers=theirs), 403)
    assert foreign == missing and foreign["error"]["code"] == "forbidden"
    assert client.get("/users/me/history", headers=theirs).json()["sessions"] == []
    assert client.get("/users/me/history", headers=mine).json()["sessions"][0]["stages"][0]["rating"] is None
    r = client.post("/session", json={"text": TEXT, "user": "alice"})
    assert r.status_code == 422 and "Authorization: Bearer" in r.json()["error"]["message"]


def test_export_holds_everything_stored_about_the_person(client):
    _, me = new_profile(client)
    session = client.post("/session", json={"text": TEXT}, headers=me).json()
    client.post("/feedback", json={"session_id": session["session_id"], "stage": "target", "rating": 5}, headers=me)
    client.post("/feedback", json={"session_id": session["session_id"], "reflected": 4, "calmer": 5}, headers=me)
    exported = client.get("/users/me/export", headers=me).json()
    assert exported["profile"]["kind"] == "api" and "token_hash" not in str(exported["profile"])
    assert [s["session_id"] for s in exported["sessions"]] == [session["session_id"]]
    assert exported["sessions"][0]["timeline"] and exported["stage_ratings"][0]["rating"] == 5
    assert exported["study_answers"][0]["calmer"] == 5 and exported["preferences"]["ratings"] == 1
    assert exported["retention_days"] == 90 and "nervous" not in str(exported)


def test_erasure_leaves_nothing_of_the_person_in_the_store_mlflow_or_the_logs(client, backend, caplog, ci_pipeline,
                                                                            monkeypatch, tmp_path):
    from emoheal.cli import main
    from tests.helpers import run_stage

    token, me = new_profile(client)
    profile = backend.people.resolve(token)
    with caplog.at_level(logging.DEBUG):
        sessions = [client.post("/session", json={"text": TEXT, "seed": k}, headers=me).json()["session_id"]
                    for k in range(2)]
        for sid in sessions:
            client.post("/feedback", json={"session_id": sid, "stage": "match", "rating": 1}, headers=me)
        r = client.delete("/users/me", headers=me)
    assert r.status_code == 200, r.text
    erased = r.json()["erased"]
    assert erased["profiles"] == 1 and erased["sessions"] == 2 and erased["stage_ratings"] == 2
    assert erased["monitoring_ratings"] == 2 and erased["records_unlinked"] == 2
    assert refusal(client.get("/users/me/history", headers=me), 401)["error"]["code"] == "unauthorized"
    raw = store_bytes(backend)
    for trace in (token, profile, hashlib.sha256(token.encode()).hexdigest(), *sessions):
        assert trace.encode() not in raw, trace
    ratings = backend.records.frame(table="ratings")
    assert not ratings["session_id"].isin(sessions).any()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in logged and profile not in logged and TEXT not in logged
    # the monitor's MLflow run over the store afterwards: nothing of the person in it either
    monkeypatch.setenv("MLFLOW_TRACKING_URI", ci_pipeline["env"]["MLFLOW_TRACKING_URI"])
    reference = Path(ci_pipeline["params"]["paths"]["monitoring"])
    if not (reference / "reference.json").is_file():
        run_stage("monitor_reference", ci_pipeline["params_file"], ci_pipeline["env"])
    out = tmp_path / "monitor"
    assert main(["monitor", "--store", backend.settings["store_file"], "--reference", str(reference), "--out",
                 str(out), "--params", str(ci_pipeline["params_file"]), "--since", "all"]) in (0, 1)
    import mlflow

    run_id = json.loads((out / "monitor.json").read_text())["mlflow_run_id"]
    run = mlflow.MlflowClient(ci_pipeline["env"]["MLFLOW_TRACKING_URI"]).get_run(run_id)
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    written = [p.read_bytes() for p in artifacts.rglob("*") if p.is_file()] + [
        json.dumps([run.data.params, run.data.tags, run.data.metrics]).encode()]
    for trace in (token, profile, *sessions):
        assert not any(trace.encode() in blob for blob in written), trace


def test_retention_removes_old_sessions_and_records_but_not_the_reference(client, backend, ci_pipeline):
    from emoheal.store.tables import ratings, records, sessions

    reference = Path(ci_pipeline["params"]["paths"]["monitoring"])
    before = {p.name: p.read_bytes() for p in reference.iterdir() if p.is_file()}
    old = time.time() - (backend.settings["retention_days"] + 1) * 86400
    with backend.engine.begin() as db:
        db.execute(insert(sessions).values(id="o" * 32, profile_id=None, created=old, goal="sleep", items="{}"))
        db.execute(insert(records).values(time=old, request_id="old", endpoint="session", length_bucket="<=20"))
        db.execute(insert(ratings).values(time=old, session_id="o" * 32, stage="match", rating=3))
    _, me = new_profile(client)
    client.post("/session", json={"text": TEXT}, headers=me)
    removed = backend.apply_retention()
    assert removed["sessions"] == 1 and removed["records"] == 1 and removed["monitoring_ratings"] == 1
    assert "old" not in set(backend.records.frame()["request_id"])
    assert len(client.get("/users/me/history", headers=me).json()["sessions"]) == 1  # the recent one stays
    assert {p.name: p.read_bytes() for p in reference.iterdir() if p.is_file()} == before
