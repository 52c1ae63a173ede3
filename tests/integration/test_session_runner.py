"""The end-to-end runner with a real (tiny, ci-trained) emotion model, the compiled graph and
an index over a synthetic labelled corpus: safety first, language notice, sessions for every
emotion family, clear errors, and no raw text anywhere in the logs."""

from __future__ import annotations

import json
import logging
import subprocess

import pytest

from emoheal.session.runner import RunnerPaths, SessionInputError, SessionRunner
from tests.helpers import PYTHON, ROOT, run_stage, write_params

FAMILY_EMOTIONS = {"anger": "anger", "disgust": "disgust", "fear": "fear", "joy": "joy", "sadness": "sadness",
                   "surprise": "surprise", "neutral": "neutral"}


@pytest.fixture(scope="module")
def paths(prepared_ci, kg_graph, tmp_path_factory):
    from emoheal.kg.graph import write_graph
    from emoheal.retrieval.index import write_items
    from tests.code.test_retrieval import synthetic_items

    tmp = tmp_path_factory.mktemp("runner")
    params = {**prepared_ci, "tracking": {**prepared_ci["tracking"], "enabled": False}}
    params_file = write_params(params, tmp / "params.yaml")
    for stage in ("train", "thresholds"):
        run_stage(stage, params_file)
    write_graph(kg_graph, tmp / "graph.json")
    write_items(synthetic_items(), tmp / "index")
    return RunnerPaths(params["paths"]["model"], str(tmp / "graph.json"), str(tmp / "index"))


@pytest.fixture(scope="module")
def runner(paths):
    return SessionRunner(paths, locale="UK")


@pytest.mark.parametrize("family", sorted(FAMILY_EMOTIONS))
def test_a_session_for_each_emotion_family(runner, family):
    session = runner.from_emotions({FAMILY_EMOTIONS[family]: 0.9}, "sleep", 20)
    assert session["family"] == family
    assert [s["name"] for s in session["stages"]] == ["match", "guide", "target"]
    for stage in session["stages"]:
        assert stage["status"] == "ok" and stage["item"]["media_path"] and stage["narrative"]
        assert {"tempo_bpm", "mode_major"} <= set(stage["targets"]) and stage["score"]["total"] > 0
    assert session["prelude"] and session["epilogue"] and session["retrieval"]["backend"] == "descriptors"
    v = session["versions"]
    assert v["emotion_model"].startswith("emotion-tiny-") and v["graph"].startswith("kg-")


def test_text_to_session_with_the_real_model(runner):
    a = runner.run("I can't sleep, my mind keeps going over tomorrow's meeting.")
    b = runner.run("I can't sleep, my mind keeps going over tomorrow's meeting.")
    assert a["session_id"] != b["session_id"] and len(a["session_id"]) == 32
    assert len(a["stages"]) == 3 and a["safety"]["level"] in ("none", "low", "medium")
    assert set(a["emotions"]["probabilities"]) >= {"fear", "neutral"} and a["language"]["detected"] == "en"


def test_high_risk_gets_resources_not_music(runner):
    session = runner.run("I want to end my life tonight")
    assert session["stages"] == [] and session["safety"]["level"] == "high"
    assert any(r["contact"] == "116 123" for r in session["safety"]["resources"])  # the UK locale


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


def test_session_command_prints_one_session_per_text(paths):
    result = subprocess.run(
        [PYTHON, "-m", "emoheal.cli", "session", "--json", "--model", paths.model, "--graph", paths.graph,
         "--index", paths.index, "I feel calm and grateful today", "I want to die"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    sessions = json.loads(result.stdout)
    assert len(sessions) == 2 and len(sessions[0]["stages"]) == 3 and sessions[1]["stages"] == []
    assert sessions[1]["safety"]["level"] == "high" and sessions[1]["safety"]["resources"]
    bad = subprocess.run([PYTHON, "-m", "emoheal.cli", "session", "   "], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "empty" in bad.stderr
