"""The `safety` stage on the ci profile (the real corpus, the real frozen encoder, the ci emotion
model for the distress layer): its metrics, its MLflow run, and the screen it builds — which
loads, scores what people write, refuses a missing or altered model, and logs no text."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from emoheal.safety.encoder import SafetyModelError
from emoheal.safety.screen import CrisisScreen


@pytest.fixture(scope="module")
def metrics(ci_pipeline) -> dict:
    path = Path(ci_pipeline["params"]["paths"]["metrics"]) / "safety.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def model_dir(ci_pipeline) -> Path:
    return Path(ci_pipeline["params"]["safety"]["model"])


@pytest.fixture(scope="module")
def screen(model_dir) -> CrisisScreen:
    return CrisisScreen(model_dir)


def test_metrics_carry_the_agreed_keys_with_wilson_intervals(ci_pipeline, metrics):
    held, cv, everyday = metrics["heldout"], metrics["grouped_cv"], metrics["goemotions_test"]
    for key in ("recall", "false_alarm_high"):
        low, high = held[f"{key}_ci95"]
        assert low <= held[key] <= high
    assert set(cv["recall_by_category"]) == {"wish_dead", "active_thoughts", "method", "intent", "plan", "behaviour",
                                             "nssi", "hopelessness", "burden", "negated"}
    assert {"flagged_high_share", "reviewed", "real_risk_in_flagged"} <= set(everyday)
    assert everyday["n"] == ci_pipeline["params"]["data"]["limit"]["test"]  # the ci profile's test subset
    assert metrics["model"]["thresholds_met_on_cv"] == {"check_in": True, "high": True}


def test_the_screen_generalises_to_the_frozen_held_out_file(metrics):
    """The held-out file was never used for a choice: this is the generalisation the issue asks for."""
    held = metrics["heldout"]
    assert held["recall"] >= 0.95
    assert held["false_alarm_high"] <= 0.05
    assert metrics["grouped_cv"]["recall"] >= 0.97
    assert min(metrics["grouped_cv"]["recall_by_category"].values()) >= 0.95


def test_the_stage_logs_an_mlflow_run(ci_pipeline, metrics):
    import mlflow

    mlflow.set_tracking_uri(ci_pipeline["env"]["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["emoheal-safety"], output_format="list")
    run = next(r for r in runs if r.data.tags.get("model_version") == metrics["model"]["version"])
    assert run.data.metrics["heldout_recall"] == pytest.approx(metrics["heldout"]["recall"])
    assert "cv_recall_behaviour" in run.data.metrics


@pytest.mark.parametrize("text", [
    "bought a rope today. tonight after everyone is asleep",
    "Fed the cat, wrote the letters, everything is sorted for tomorrow when I'm gone",
    "I want to kill myself",
])
def test_severe_statements_stop_the_session(screen, text):
    assert screen.screen(text).level == "high"


@pytest.mark.parametrize("text", [
    # a known gap (README): the overdose pattern matches, but the classifier's risk stays below the
    # threshold that confirms a pattern's `high`, so the person is asked, with the resources shown
    "I took every pill in the cabinet about an hour ago and I'm starting to feel sleepy",
    "I just want to go to sleep and never wake up",
    "everyone would honestly be better off without me",
    "cut again last night, hiding it with long sleeves",
    "what's even the point of any of it anymore, nothing is ever going to change for me",
])
def test_risk_statements_get_at_least_a_check_in(screen, text):
    result = screen.screen(text)
    assert result.level in ("medium", "high")
    assert result.stops_session and result.resources


@pytest.mark.parametrize("text", [
    "Thank you so much, this made my day!",
    "this commute is killing me",
    "Took my sleeping pill like the doctor said, lights off now",
    "I volunteer on a suicide prevention line on Tuesday nights",
    # "Five years ago I tried to end my life. Today I'm grateful to be here." is asked of the
    # quickstart screen only (tests/model/test_safety_hard_negatives.py): the ci screen, trained on
    # 1,000 ordinary comments, confirms the pattern at risk 0.46 and stops it (the full screen: 0.535)
])
def test_ordinary_and_hard_negative_texts_are_not_stopped(screen, text):
    assert screen.screen(text).level != "high"


HEDGED = ["I wouldn't actually do anything, but I think about not being here",
          "not that I'd do anything, but sometimes I wish I wouldn't wake up",
          "I'm not suicidal, I just don't care much whether I live",
          "don't worry I'm not going to hurt myself, I just feel like it sometimes",
          "I feel so empty tonight, I can't see the point of anything"]


def asked_text(screen) -> str:
    """A hedged statement this screen answers with the check-in question (the screen must ask for one)."""
    found = [t for t in HEDGED if screen.screen(t).level == "medium"]
    assert found, "the screen asked about none of the hedged statements"
    return found[0]


def test_the_check_in_answers(screen):
    assessment = screen.assess(asked_text(screen))
    asked = screen.decide(assessment)
    assert asked.stops_session and asked.check_in["answer"] is None and asked.check_in["question"]
    assert [a["value"] for a in asked.check_in["answers"]] == ["yes", "no"]
    yes = screen.decide(assessment, check_in="yes")
    assert yes.level == "high" and yes.stops_session and "check-in: yes" in yes.reasons
    no = screen.decide(assessment, check_in="no")
    assert not no.stops_session and no.level == "medium" and no.resources and no.check_in["answer"] == "no"
    zh = screen.decide(assessment, lang="zh")
    assert "伤害" in zh.check_in["question"]


def test_a_yes_always_leads_to_the_crisis_answer(screen):
    result = screen.screen("What a lovely day at the beach!", check_in="yes")
    assert result.level == "high" and result.stops_session


def test_a_missing_or_altered_model_is_refused(model_dir, tmp_path):
    with pytest.raises(SafetyModelError, match="dvc repro safety"):
        CrisisScreen(tmp_path / "nothing-here")
    copy = tmp_path / "safety"
    shutil.copytree(model_dir, copy)
    weights = copy / "classifier.npz"
    weights.write_bytes(weights.read_bytes()[:-8] + b"tampered")
    with pytest.raises(SafetyModelError, match="hash"):
        CrisisScreen(copy)


def test_only_counts_are_logged(screen, caplog):
    secret = "I want to end it all tonight because of Zanzibar-9431"
    with caplog.at_level(logging.DEBUG):
        result = screen.screen(secret)
    assert result.level in ("medium", "high")
    assert "Zanzibar" not in caplog.text and "end it all" not in caplog.text
    assert all("Zanzibar" not in r for r in result.reasons)
