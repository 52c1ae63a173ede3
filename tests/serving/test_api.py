"""The HTTP API in-process (FastAPI app + the request middleware, a real Backend over the
ci-trained model): responses, stamps, feedback, media ranges, and a clear 4xx for each kind
of bad input — never a 5xx, never the person's text in a log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

JSON = {"content-type": "application/json"}
TEXT = "I'm a bit nervous about tomorrow's meeting and want to relax before sleep."


@pytest.fixture(scope="module")
def backend(bundle):
    from serving.backend import Backend

    return Backend(bundle["emotion"], bundle["session"])


@pytest.fixture(scope="module")
def client(backend):
    from fastapi.testclient import TestClient

    from serving.app import build_app
    from serving.middleware import RequestContext

    app = build_app(lambda: backend, backend.settings["max_text_chars"])
    wrapped = RequestContext(app, versions=lambda: backend.versions,
                             max_body_bytes=backend.settings["max_body_bytes"], local_app=app)
    return TestClient(wrapped, raise_server_exceptions=False)


def assert_error(response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"] and body["request_id"] == response.headers["x-request-id"]
    assert body["versions"]["emoheal"]
    if field:
        assert body["error"]["field"] == field
    return body


def test_detect_returns_stamped_emotions(client):
    r = client.post("/detect", json={"text": TEXT})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["emotions"]["probabilities"]) == 28 and len(body["top"]) == 5
    assert body["top"][0]["probability"] >= body["top"][-1]["probability"]
    assert body["versions"]["emotion_model"].startswith("emotion-minilm-") and body["versions"]["runtime"] == "torch"
    assert len(body["request_id"]) == 32 and r.headers["x-request-id"] == body["request_id"]
    assert "graph/kg-" in r.headers["x-emoheal-version"]


def test_a_client_request_id_is_kept_and_a_bad_one_replaced(client):
    assert client.post("/detect", json={"text": "hello there"},
                       headers={"X-Request-ID": "trace-1234abcd"}).json()["request_id"] == "trace-1234abcd"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"}).json()["request_id"]
    assert replaced != "<script>" and len(replaced) == 32


def test_a_session_has_three_stages_with_playable_media(client):
    r = client.post("/session", json={"text": TEXT, "goal": "sleep", "minutes": 15})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["name"] for s in body["stages"]] == ["match", "guide", "target"]
    assert len(body["session_id"]) == 32 and body["safety"]["level"] in ("none", "low")
    assert sum(s["minutes"] for s in body["stages"]) == pytest.approx(15)
    for stage in body["stages"]:
        assert stage["narrative"] and stage["what"] and stage["why"]
        item = stage["item"]
        assert item["audio_url"] == f"/media/{item['id']}" and "media_path" not in item  # no server paths
        audio = client.get(item["audio_url"])
        assert audio.status_code == 200 and audio.headers["content-type"] == "audio/flac"
        assert audio.content[:4] == b"fLaC"


def test_a_session_is_a_timeline_of_tracks_with_one_continuous_mix(client, tmp_path):
    import subprocess

    r = client.post("/session", json={"text": TEXT, "goal": "sleep", "minutes": 6, "seed": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    timeline = body["timeline"]
    assert timeline["seed"] == 7 and timeline["requested_s"] == 360.0
    assert timeline["filled_s"] == pytest.approx(360, rel=0.02) or timeline["reason"]
    tracks = [t for s in body["stages"] for t in s["tracks"]]
    assert timeline["tracks"] == len(tracks) >= 3 and len({t["item_id"] for t in tracks}) == len(tracks)
    for stage in body["stages"]:
        assert stage["item"]["id"] == stage["tracks"][0]["item_id"]  # old clients still get an item
    for a, b in zip(tracks, tracks[1:]):
        assert b["at_s"] == pytest.approx(a["at_s"] + a["duration_s"] - b["fade_in_s"], abs=0.01)
    assert all(t["audio_url"] == f"/media/{t['item_id']}" and "media_path" not in t for t in tracks)
    assert timeline["path"][0]["minute"] == 0 and "tempo_bpm" in timeline["path"][-1]
    # the same seed, the same session
    again = client.post("/session", json={"text": TEXT, "goal": "sleep", "minutes": 6, "seed": 7}).json()
    assert [t["item_id"] for s in again["stages"] for t in s["tracks"]] == [t["item_id"] for t in tracks]
    # the whole session as one stream, as long as its timeline (ffprobe)
    mix = client.get(timeline["mix_url"])
    assert mix.status_code == 200 and mix.headers["content-type"] == "audio/ogg"
    (tmp_path / "mix.ogg").write_bytes(mix.content)
    flac = client.get(timeline["mix_url"] + "?format=flac")
    assert flac.status_code == 200 and flac.content[:4] == b"fLaC"
    (tmp_path / "mix.flac").write_bytes(flac.content)
    for name in ("mix.ogg", "mix.flac"):
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                str(tmp_path / name)], capture_output=True, text=True, check=True)
        assert abs(float(probe.stdout) - timeline["filled_s"]) < 1.0
    ranged = client.get(timeline["mix_url"], headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert_error(client.get(f"/session/{'0' * 32}/mix"), 404, "unknown_session", "session_id")
    assert client.get(f"/session/{body['session_id']}/mix?format=mp3").status_code == 422
    assert client.get("/session/not-an-id/mix").status_code == 422
    assert_error(client.post("/session", json={"text": TEXT, "seed": -1}), 422, "validation_error")
    assert_error(client.post("/session", json={"text": TEXT, "seed": "7"}), 422, "validation_error")


def test_a_crisis_gets_resources_not_music(client):
    body = client.post("/session", json={"text": "I want to end my life tonight"}).json()
    assert body["stages"] == [] and body["session_id"] is None
    assert body["safety"]["level"] == "high" and any(r["contact"] == "988" for r in body["safety"]["resources"])


def test_the_check_in_flow(client, backend):
    from tests.integration.test_safety_stage import asked_text

    text = asked_text(backend.runner.screen)
    asked = client.post("/session", json={"text": text, "goal": "calm"}).json()
    assert asked["stages"] == [] and asked["session_id"] is None and asked["safety"]["level"] == "medium"
    check_in = asked["safety"]["check_in"]
    assert check_in["answer"] is None and "harming yourself" in check_in["question"]
    assert [a["value"] for a in check_in["answers"]] == ["yes", "no"] and asked["safety"]["resources"]
    yes = client.post("/session", json={"text": text, "goal": "calm", "check_in": "yes"}).json()
    assert yes["stages"] == [] and yes["safety"]["level"] == "high"
    assert any(r["contact"] == "988" for r in yes["safety"]["resources"])
    no = client.post("/session", json={"text": text, "goal": "calm", "check_in": "no"}).json()
    assert len(no["stages"]) == 3 and no["session_id"] and no["safety"]["level"] == "medium"
    assert no["safety"]["check_in"]["answer"] == "no" and no["safety"]["resources"]
    assert no["versions"]["safety_model"].startswith("safety-")
    assert_error(client.post("/session", json={"text": text, "check_in": "maybe"}), 422, "validation_error",
                 "check_in")


def profile(client) -> dict:
    """A new profile's Authorization header."""
    r = client.post("/users")
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_feedback_per_stage_and_the_study_questions(client):
    me = profile(client)
    session = client.post("/session", json={"text": TEXT}, headers=me).json()
    sid = session["session_id"]
    for stage, rating in (("match", 4), ("guide", None), ("target", 5)):
        r = client.post("/feedback", json={"session_id": sid, "stage": stage, "rating": rating}, headers=me)
        assert r.status_code == 200 and r.json()["recorded"] == "stage", r.text
    r = client.post("/feedback", json={"session_id": sid, "reflected": 4, "calmer": 5}, headers=me)
    assert r.status_code == 200 and r.json()["recorded"] == "study"
    assert_error(client.post("/feedback", json={"session_id": "0" * 32, "stage": "match", "rating": 3}, headers=me),
                 403, "forbidden", "session_id")
    assert_error(client.post("/feedback", json={"session_id": sid, "stage": "match", "rating": 6}, headers=me),
                 422, "validation_error", "rating")
    assert_error(client.post("/feedback", json={"session_id": sid, "reflected": 4}, headers=me), 422,
                 "validation_error")
    assert_error(client.post("/feedback", json={"session_id": sid, "stage": "match", "reflected": 3, "calmer": 2},
                             headers=me), 422, "validation_error")
    assert_error(client.post("/feedback", json={"session_id": sid, "stage": "match", "rating": 3}), 401,
                 "unauthorized")


def test_media_supports_range_requests_and_refuses_unknown_ids(client, serving_items):
    item = serving_items["id"].iloc[3]
    full = client.get(f"/media/{item}")
    part = client.get(f"/media/{item}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == full.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(full.content)}"
    assert full.headers["accept-ranges"] == "bytes"
    assert client.get(f"/media/{item}", headers={"Range": "bytes=999999999-"}).status_code == 416
    assert_error(client.get("/media/no-such-item"), 404, "unknown_media")
    escape = client.get("/media/..%2F..%2Fsettings.json")
    assert escape.status_code == 404 and escape.json()["error"]["code"] in ("not_found", "unknown_media")
    assert_error(client.get(f"/media/{item}?kind=video"), 404, "unknown_media")  # an audio-only item
    video = serving_items["id"].iloc[0]
    assert client.get(f"/media/{video}?kind=video").headers["content-type"] == "video/mp4"
    assert client.get(f"/media/{video}?kind=poster").headers["content-type"] == "image/jpeg"
    assert client.get(f"/media/{item}?kind=lyrics").status_code == 422


@pytest.mark.parametrize(("request_kwargs", "status", "code", "field"), [
    ({"json": {"text": ""}}, 422, "text_empty", "text"),
    ({"json": {"text": "   \n "}}, 422, "text_empty", "text"),
    ({"json": {"text": "x" * 2001}}, 422, "text_too_long", "text"),
    ({"json": {"text": 42}}, 422, "validation_error", "text"),
    ({"json": {"text": ["a", "b"]}}, 422, "validation_error", "text"),
    ({"json": {"words": "hello"}}, 422, "validation_error", "text"),
    ({"json": ["hello"]}, 422, "validation_error", None),
    ({"content": b"", "headers": JSON}, 422, "validation_error", None),
    ({"content": b"null", "headers": JSON}, 422, "validation_error", None),
    ({}, 415, "unsupported_media_type", None),
    ({"content": b'{"text": "unterminated', "headers": JSON}, 400, "invalid_json", None),
    ({"content": b"\xff\xfe not utf-8", "headers": JSON}, 400, "invalid_json", None),
    ({"content": b"text=hello", "headers": {"content-type": "application/x-www-form-urlencoded"}},
     415, "unsupported_media_type", None),
    ({"json": {"text": "hello\x00there"}}, 422, "invalid_text", "text"),
    ({"json": {"text": "fine", "extra": 1}}, 422, "validation_error", "extra"),
])
def test_bad_detect_input_is_a_clear_4xx(client, request_kwargs, status, code, field):
    assert_error(client.post("/detect", **request_kwargs), status, code, field)


@pytest.mark.parametrize(("payload", "code", "field"), [
    ({"text": "I feel tense", "goal": "party"}, "unknown_goal", "goal"),
    ({"text": "I feel tense", "lang": "fr"}, "unknown_language", "lang"),
    ({"text": "I feel tense", "minutes": 1}, "invalid_plan", "minutes"),
    ({"text": "I feel tense", "minutes": "ten"}, "validation_error", "minutes"),
    ({"text": "I feel tense", "user": "../../etc"}, "validation_error", "user"),
    ({"text": "I feel tense", "goal": 3}, "validation_error", "goal"),
])
def test_bad_session_input_is_a_clear_4xx(client, payload, code, field):
    assert_error(client.post("/session", json=payload), 422, code, field)


def test_a_huge_body_is_refused_before_parsing(client):
    assert_error(client.post("/session", content=b'{"text": "' + b"a" * 100_000 + b'"}',
                             headers=JSON), 413, "body_too_large")


def test_health_and_readiness_are_stamped(client):
    health, ready = client.get("/healthz"), client.get("/readyz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert ready.status_code == 200 and ready.json()["ready"] and ready.json()["versions"]["graph"].startswith("kg-")


def test_not_ready_is_a_503_that_says_so(bundle):
    from fastapi.testclient import TestClient

    from serving.app import build_app

    client = TestClient(build_app(lambda: None, bundle["settings"]["max_text_chars"]))
    assert client.get("/readyz").status_code == 503
    r = client.post("/detect", json={"text": "hello"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"


def test_the_web_page_and_its_assets_are_local(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text and "/static/style.css" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN
    for asset in ("/static/app.js", "/static/style.css"):
        r = client.get(asset)
        assert r.status_code == 200 and "https://" not in r.text and "http://" not in r.text


def test_openapi_documents_the_errors_and_the_limit(client):
    schema = client.get("/openapi.json").json()
    assert {"/detect", "/session", "/feedback", "/media/{item_id}", "/session/{session_id}/mix", "/healthz",
            "/readyz", "/users", "/users/me/history", "/users/me/export", "/users/me"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"401", "403"} <= set(schema["paths"]["/feedback"]["post"]["responses"])
    assert "user" not in schema["components"]["schemas"]["SessionRequest"]["properties"]
    assert "422" in schema["paths"]["/detect"]["post"]["responses"]
    text = schema["components"]["schemas"]["DetectRequest"]["properties"]["text"]
    assert text["maxLength"] == 2000 and text["minLength"] == 1


def test_no_raw_text_in_logs(client, caplog):
    secret = "my secret worry about Rosalind's surgery"
    with caplog.at_level(logging.DEBUG):
        client.post("/session", json={"text": secret})
        client.post("/detect", json={"text": secret})
        client.post("/detect", json={"text": secret + "\x00"})
        client.post("/detect", content=b'{"text": "' + secret.encode() + b'"', headers=JSON)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Rosalind" not in logged and "surgery" not in logged
    assert any(r.name == "emoheal.serving.access" and "/session 200" in r.getMessage() for r in caplog.records)


def test_responses_never_carry_nan(client):
    body = client.post("/session", json={"text": TEXT}).content
    json.loads(body, parse_constant=lambda c: pytest.fail(f"{c} in the response"))


def test_adaptive_batching_groups_concurrent_texts_and_keeps_their_order(backend):
    import asyncio

    from serving.batching import AdaptiveBatcher

    texts = [f"{TEXT} ({i})" for i in range(24)] + ["Thank you so much, this made my day!"]
    expected = [p.probabilities for p in backend.predictor.predict(texts)]
    sizes: list[int] = []
    batcher = AdaptiveBatcher(backend.predictor, max_batch_size=8, max_latency_ms=2000)
    original = batcher.predictor.predict
    batcher.predictor = type("Spy", (), {"meta": backend.predictor.meta,
                                         "predict": lambda _, xs: sizes.append(len(xs)) or original(xs)})()

    async def main():
        return await asyncio.gather(*(batcher.apredict([t]) for t in texts))

    got = [r[0].probabilities for r in asyncio.run(main())]
    assert len(got) == len(expected)  # same texts, same order, same numbers
    assert all(g == pytest.approx(e, abs=1e-5) for g, e in zip(got, expected))
    assert sum(sizes) == len(texts) and max(sizes) > 1 and max(sizes) <= 8


def test_requests_leave_derived_records_and_never_the_text(client, backend):
    secret = "Ottoline worries about the harbour tonight"
    before = len(backend.records.frame())
    first = client.post("/session", json={"text": secret}).json()
    client.post("/detect", json={"text": secret})
    me = profile(client)
    session = client.post("/session", json={"text": TEXT}, headers=me).json()
    client.post("/feedback", json={"session_id": session["session_id"], "stage": "match", "rating": 4}, headers=me)
    crisis = client.post("/session", json={"text": "Ottoline here. I want to end my life tonight."}, headers=me).json()
    assert crisis["safety"]["level"] == "high" and not crisis["stages"]
    frame = backend.records.frame()
    new = frame.iloc[before:]
    assert list(new["risk_level"])[-1] == "high"  # a crisis answer is recorded as its level only
    new = new.iloc[:-1]
    assert list(new["endpoint"]) == ["session", "detect", "session"]
    # a session the screen stopped before the emotion model (a check-in) has no emotions to record
    assert list(new["top_probability"].isna()) == [first["emotions"] is None, False, False]
    assert new["top_probability"].dropna().between(0, 1).all() and new["latency_ms"].gt(0).all()
    assert set(new["length_bucket"]) == {"21-50", "51-100"}  # buckets, not lengths
    assert json.loads(new["stages"].iloc[-1])[0]["name"] == "match" and new["goal"].iloc[-1] == "sleep"
    ratings = backend.records.frame(table="ratings")
    assert ((ratings["session_id"] == session["session_id"]) & (ratings["rating"] == 4)).any()
    written = list(Path(backend.settings["store_file"]).parent.glob("store.sqlite*"))  # with its write-ahead log
    assert written and not any(b"Ottoline" in f.read_bytes() or b"harbour" in f.read_bytes() for f in written)


@pytest.mark.parametrize("threads", [1, 3])
def test_sessions_screen_in_at_most_session_threads_and_compose_on_the_loop(backend, threads):
    """conf/serving `session_threads`: concurrent requests queue for the threads that check and screen
    them, first come first served; composing (plan, retrieval, narratives) runs on the event loop's
    own thread, one at a time (in a worker thread it only waited for the GIL); every request is
    still answered."""
    import asyncio
    import threading
    import time

    from serving.backend import Backend

    served = backend if threads == backend.settings["session_threads"] else \
        Backend(backend.emotion_dir, backend.session_dir, predictor=backend.predictor,
                settings={**backend.settings, "session_threads": threads})
    lock, now, most, composed_in = threading.Lock(), [0], [0], set()

    def composed(*args, **kwargs):
        composed_in.add(threading.get_ident())
        return finish(*args, **kwargs)

    def counted(call):
        def run(*args, **kwargs):
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            try:
                time.sleep(0.05)  # long enough for every request to be waiting
                return call(*args, **kwargs)
            finally:
                with lock:
                    now[0] -= 1
        return run

    runner = served.runner
    begin, finish = runner.begin, runner.finish
    runner.begin, runner.finish = counted(begin), composed
    try:
        async def main():
            loop_thread = threading.get_ident()
            answers = await asyncio.gather(*(served.session(f"{TEXT} ({i})", "sleep", 5, None, None)
                                             for i in range(6)))
            return loop_thread, answers

        loop_thread, results = asyncio.run(main())
    finally:
        runner.begin, runner.finish = begin, finish
    assert most[0] == threads
    assert composed_in == {loop_thread}  # every composition, and only on the loop's thread
    assert len({r["session_id"] for r in results}) == 6 and all(r["stages"] for r in results)


def test_an_answer_with_nan_is_sent_with_null_and_recorded_as_sent():
    from serving.replies import FiniteJSONResponse

    clean = {"a": 1.5, "b": [1, {"c": "x"}]}
    response = FiniteJSONResponse(clean)
    assert response.content is clean and json.loads(response.body) == clean  # rendered as it came: no walk
    response = FiniteJSONResponse({"tempo": float("nan"), "stages": [{"score": float("inf"), "id": "q1"}], "n": 2})
    assert json.loads(response.body) == {"tempo": None, "stages": [{"score": None, "id": "q1"}], "n": 2}
    assert response.content == {"tempo": None, "stages": [{"score": None, "id": "q1"}], "n": 2}
