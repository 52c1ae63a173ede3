"""The end-to-end runner with a real (tiny, ci-trained) emotion model, the compiled graph and
an index over a synthetic labelled corpus: safety first, language notice, sessions for every
emotion family, clear errors, and no raw text anywhere in the logs."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from emoheal.session.runner import RunnerPaths, SessionInputError, SessionRunner
from tests.helpers import settings

FAMILY_EMOTIONS = {"anger": "anger", "disgust": "disgust", "fear": "fear", "joy": "joy", "sadness": "sadness",
                   "surprise": "surprise", "neutral": "neutral"}


def runner_for(paths: RunnerPaths, **options) -> SessionRunner:
    """A runner on these paths with the composed config's retrieval and serving settings."""
    return SessionRunner.from_params(settings(), paths, **options)


@pytest.fixture(scope="module")
def paths(ci_pipeline, kg_graph, tmp_path_factory):
    from emoheal.kg.graph import write_graph
    from emoheal.retrieval.index import write_items
    from tests.code.test_retrieval import synthetic_items

    tmp = tmp_path_factory.mktemp("runner")
    params = ci_pipeline["params"]
    write_graph(kg_graph, tmp / "graph.json")
    write_items(synthetic_items(per_quadrant=25, spread=0.35), tmp / "index")  # varied within quadrants
    return RunnerPaths(params["paths"]["model"], str(tmp / "graph.json"), str(tmp / "index"),
                       params["safety"]["model"])


@pytest.fixture(scope="module")
def runner(paths):
    return runner_for(paths, locale="UK")


@pytest.mark.parametrize("family", sorted(FAMILY_EMOTIONS))
def test_a_session_for_each_emotion_family(runner, family):
    for seed in (1, 2, 3):
        session = runner.from_emotions({FAMILY_EMOTIONS[family]: 0.9}, "sleep", 20, seed=seed)
        assert session["family"] == family and session["timeline"]["seed"] == seed
        assert [s["name"] for s in session["stages"]] == ["match", "guide", "target"]
        for stage in session["stages"]:
            # every stage has music; this 100-item catalogue of 20-400 s pieces may run out of calm
            # music before a stage's end: then it says so (partial, with the reason)
            assert stage["item"]["media_path"] and stage["tracks"] and stage["narrative"]
            assert stage["status"] == "ok" or (stage["status"] == "partial" and stage["reason"]), stage["status"]
            assert {"tempo_bpm", "mode_major"} <= set(stage["targets"]) and stage["score"]["total"] > 0
        timeline = session["timeline"]
        assert timeline["filled_s"] >= 0.98 * timeline["requested_s"] or timeline["reason"]
    assert session["prelude"] and session["epilogue"] and session["retrieval"]["backend"] == "descriptors"
    v = session["versions"]
    assert v["emotion_model"].startswith("emotion-minilm-") and v["graph"].startswith("kg-")


def test_text_to_session_with_the_real_model(runner):
    a = runner.run("I'm a bit nervous about tomorrow's meeting and want to relax before sleep.")
    b = runner.run("I'm a bit nervous about tomorrow's meeting and want to relax before sleep.")
    assert a["session_id"] != b["session_id"] and len(a["session_id"]) == 32
    assert len(a["stages"]) == 3 and a["safety"]["level"] in ("none", "low", "medium")
    assert set(a["emotions"]["probabilities"]) >= {"fear", "neutral"} and a["language"]["detected"] == "en"


def test_high_risk_gets_resources_not_music(runner):
    session = runner.run("I want to end my life tonight")
    assert session["stages"] == [] and session["safety"]["level"] == "high"
    assert any(r["contact"] == "116 123" for r in session["safety"]["resources"])  # the UK locale


def test_the_uncertain_middle_asks_before_any_music(runner):
    from tests.integration.test_safety_stage import asked_text

    text = asked_text(runner.screen)
    asked = runner.run(text)
    assert asked["stages"] == [] and asked["session_id"]
    assert asked["safety"]["level"] == "medium" and asked["safety"]["check_in"]["answer"] is None
    assert asked["safety"]["resources"] and asked["emotions"] is None  # stopped before the emotion model
    yes = runner.run(text, check_in="yes")
    assert yes["stages"] == [] and yes["safety"]["level"] == "high" and yes["safety"]["resources"]
    no = runner.run(text, check_in="no")
    assert len(no["stages"]) == 3 and no["safety"]["level"] == "medium" and no["safety"]["resources"]
    with pytest.raises(SessionInputError, match="check_in"):
        runner.run(text, check_in="maybe")


def test_versions_name_the_safety_model(runner):
    assert runner.versions()["safety_model"].startswith("safety-")


def test_a_missing_safety_model_stops_the_runner_with_a_clear_message(paths, tmp_path):
    from dataclasses import replace

    from emoheal.safety.encoder import SafetyModelError

    with pytest.raises(SafetyModelError, match="dvc repro safety"):
        runner_for(replace(paths, safety=str(tmp_path / "missing")))


def test_another_language_gets_a_notice_from_the_english_only_model(runner):
    session = runner.run("Je suis très fatigué ce soir et je ne peux pas dormir du tout")
    assert session["stages"] == [] and "English only" in session["notice"]
    assert session["language"]["detected"] == "fr"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": ""}, "empty"),
        ({"text": "x" * 100_000}, "at most"),
        ({"text": "hello\x00there"}, "control characters"),
        ({"text": 42}, "must be a string"),
        ({"text": "a calm evening", "goal": "party"}, "unknown goal"),
        ({"text": "a calm evening", "lang": "fr"}, "unknown language"),
    ],
)
def test_bad_input_is_a_clear_error(runner, kwargs, message):
    with pytest.raises(SessionInputError, match=message):
        runner.run(**kwargs)


def test_no_raw_text_in_the_logs(runner, caplog, capfd):
    marker = "Quixotic-Zebra-7731"
    with caplog.at_level(logging.DEBUG):
        runner.run(f"My cat {marker} ran away and I feel so sad tonight")
        runner.run(f"I want to kill myself, {marker}")
    out, err = capfd.readouterr()
    assert marker not in caplog.text and marker not in out and marker not in err
    assert "session " in caplog.text  # the runner does log — ids and counts only


def test_session_command_prints_one_session_per_text(cli, paths):
    result = cli("session", "--json", "--model", paths.model, "--graph", paths.graph, "--index", paths.index,
                 "--safety-model", paths.safety, "I feel calm and grateful today", "I want to die")
    assert result.returncode == 0, result.stderr
    sessions = json.loads(result.stdout)
    assert len(sessions) == 2 and len(sessions[0]["stages"]) == 3 and sessions[1]["stages"] == []
    assert sessions[1]["safety"]["level"] == "high" and sessions[1]["safety"]["resources"]
    bad = cli("session", "   ")
    assert bad.returncode == 2 and "empty" in bad.stderr
    missing = cli("session", "--model", paths.model, "--graph", paths.graph, "--index", paths.index,
                  "--safety-model", "/nonexistent", "hello there")
    assert missing.returncode == 1 and "dvc repro safety" in missing.stderr


def test_session_command_seeds_and_renders_the_session(cli, paths, tmp_path):
    import soundfile as sf

    base = ["session", "--model", paths.model, "--graph", paths.graph, "--index", paths.index, "--safety-model",
            paths.safety, "--minutes", "4", "--seed", "11"]
    text = "I feel calm and grateful today"
    runs = [cli(*base, "--json", text) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    first, second = (json.loads(r.stdout)[0] for r in runs)
    assert first["timeline"]["seed"] == 11 and first["session_id"] != second["session_id"]
    tracks = [[t["item_id"] for s in x["stages"] for t in s["tracks"]] for x in (first, second)]
    assert tracks[0] == tracks[1] and len(tracks[0]) >= 3, "the same seed gives the same session"
    out = tmp_path / "session.flac"
    shown = cli(*base, "--render", str(out), text)
    assert shown.returncode == 0, shown.stderr
    assert "tracks," in shown.stdout and f"mix: {out}" in shown.stdout
    info = sf.info(str(out))  # this index's items have no audio files: silent spans, the timing holds
    assert abs(info.duration - first["timeline"]["filled_s"]) < 1.0
    assert "file missing or unreadable" in shown.stdout
    wrong = cli(*base, "--render", str(tmp_path / "x.mp3"), text)
    assert wrong.returncode == 2 and ".flac, .ogg or .opus" in wrong.stderr
    bad_seed = cli(*base[:-1], "-3", text)
    assert bad_seed.returncode == 2 and "seed" in bad_seed.stderr


def test_session_command_prints_the_check_in_and_takes_the_answer(cli, paths, runner):
    from tests.integration.test_safety_stage import asked_text

    text = asked_text(runner.screen)
    base = ["session", "--model", paths.model, "--graph", paths.graph, "--index", paths.index, "--safety-model",
            paths.safety]
    asked = cli(*base, text)  # nobody at a terminal here: the question is printed, not asked
    assert asked.returncode == 0 and "harming yourself" in asked.stdout and "--check-in" in asked.stdout
    assert "no session" in asked.stdout and "match " not in asked.stdout
    answered = cli(*base, "--check-in", "no", text)
    assert answered.returncode == 0 and "match " in answered.stdout and "988" in answered.stdout


def test_repeated_low_ratings_of_fast_music_change_what_is_offered(paths, tmp_path):
    runner = runner_for(paths, store=tmp_path / "store.sqlite")
    store = runner.store
    from emoheal.store.migrate import current, head

    assert current(store.engine) == head()
    alex = store.people.local("alex")  # the CLI's --user on one machine
    median_tempo = float(runner.index.items["tempo_bpm"].median())

    def mean_tempo(stage):
        return float(np.mean([t["measured"]["tempo_bpm"] for t in stage["tracks"]]))

    for k in range(4):  # on happy evenings the person rates fast music low and slow music high
        session = runner.from_emotions({"joy": 0.9}, user=alex, seed=k)
        for stage in session["stages"]:
            store.add_feedback(session["session_id"], stage["name"], 1 if mean_tempo(stage) >= median_tempo else 5)
    heard = store.recent_items(alex)
    assert len(heard) > 12, "every track heard counts, not only each stage's first"
    after = runner.from_emotions({"anger": 0.9}, user=alex, seed=9)
    other = runner.from_emotions({"anger": 0.9}, exclude=heard, seed=9)  # same items left out, no ratings
    assert "slower" in after["personalisation"] and "left out" in after["personalisation"]
    assert not heard & {t["item_id"] for s in after["stages"] for t in s["tracks"]}
    mine = [t["measured"]["tempo_bpm"] for s in after["stages"] for t in s["tracks"]]
    theirs = [t["measured"]["tempo_bpm"] for s in other["stages"] for t in s["tracks"]]
    assert np.mean(mine) < np.mean(theirs)
    assert any(s["score"]["personal"] != 0 for s in after["stages"])
    assert other["personalisation"] is None


def test_feedback_is_validated_and_stores_no_text(paths, tmp_path):
    from emoheal.session.feedback import FeedbackError

    runner = runner_for(paths, store=tmp_path / "fb.sqlite")
    store = runner.store
    session = runner.run("Quietly-Unique-Phrase-5521 made me anxious all day", user=store.people.local("sam"))
    store.add_feedback(session["session_id"], "match", None)  # skipped
    store.add_study_answers(session["session_id"], 4, 5)
    for stage, rating, message in (("match", 6, "1 to 5"), ("match", 2.5, "1 to 5"), ("coda", 3, "unknown stage")):
        with pytest.raises(FeedbackError, match=message):
            store.add_feedback(session["session_id"], stage, rating)
    with pytest.raises(FeedbackError, match="unknown session"):
        store.add_feedback("nope", "match", 3)
    written = list(tmp_path.glob("fb.sqlite*"))  # the database and its write-ahead log
    assert written and not any(b"Quietly-Unique-Phrase" in f.read_bytes() for f in written)
