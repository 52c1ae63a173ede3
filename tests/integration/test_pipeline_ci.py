"""prepare → train → thresholds → evaluate on the `ci` profile, through the real
entry points, with a real MLflow store; then the trained model in use."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def pipeline(ci_pipeline):
    return ci_pipeline


def test_data_report_is_written(prepared_ci):
    from pathlib import Path

    report = json.loads((Path(prepared_ci["paths"]["metrics"]) / "data.json").read_text())
    train = report["splits"]["train"]
    assert train["rows"] == prepared_ci["data"]["limit"]["train"] and train["rows_in_official_split"] == 43410
    assert all(count > 0 for count in train["label_counts"].values())
    assert {"chars_mean", "words_p95"} <= set(train["text_length"])


def test_metrics_file_has_the_agreed_keys(pipeline):
    from pathlib import Path

    metrics = json.loads((Path(pipeline["params"]["paths"]["metrics"]) / "emotion.json").read_text())
    for key in ("macro_f1", "micro_f1", "weighted_f1", "ece_calibrated", "ece_uncalibrated"):
        assert 0.0 <= metrics["test"][key] <= 1.0
    intervals = metrics["test"]["intervals"]
    for which in ("model", "baseline"):
        for key in ("macro_f1", "micro_f1"):
            ci = intervals[which][key]
            assert ci["low"] <= ci["estimate"] <= ci["high"]
    assert intervals["model"]["macro_f1"]["estimate"] == metrics["test"]["macro_f1"]
    assert all(v["f1_low"] <= v["f1"] <= v["f1_high"] for v in metrics["per_label"].values())
    tuned = metrics["test"]["test_tuned_thresholds"]
    assert "test split itself" in tuned["note"] and tuned["macro_f1"] >= metrics["test"]["macro_f1"] - 1e-9
    assert 0.0 < metrics["baselines"]["tfidf_logreg"]["test"]["macro_f1"] <= 1.0
    assert set(metrics["per_label"]) >= {"admiration", "neutral"} and len(metrics["per_label"]) == 28
    assert {"macro_f1", "per_group_f1"} <= set(metrics["test"]["ekman"])
    assert metrics["mlflow"]["registered_model"] == "emoheal-emotion"
    plots = Path(pipeline["params"]["paths"]["plots"])
    assert (plots / "per_label_f1.csv").read_text().startswith("label,f1")
    assert (plots / "pr_per_label.png").stat().st_size > 10_000


def test_thresholds_and_calibration_sit_next_to_the_model(pipeline):
    from pathlib import Path

    root = Path(pipeline["params"]["paths"]["model"])
    thresholds = json.loads((root / "thresholds.json").read_text())
    calibration = json.loads((root / "calibration.json").read_text())
    assert thresholds["tuned_on"] == "dev" and len(thresholds["thresholds"]) == 28
    assert calibration["temperature"] > 0 and calibration["fitted_on"] == "dev"
    # the lexical part's share: one of the weights tried, the best of their cross-fitted dev scores
    scores = calibration["lexical_weight_dev_macro_f1"]
    assert calibration["lexical_weight"] in pipeline["params"]["calibration"]["lexical_weights"]
    assert scores[f"{calibration['lexical_weight']:g}"] == max(scores.values())


def test_the_model_answers_with_its_encoder_and_lexical_parts_mixed(pipeline):
    import numpy as np

    from emoheal.emotion.predictor import EmotionPredictor

    predictor = EmotionPredictor(pipeline["params"]["paths"]["model"])
    assert predictor.lexical is not None and predictor.meta["lexical"]["terms"] > 1000
    texts = ["thank you so much, this made my day", "I miss her every single day", "ok"]
    encoder, _ = predictor.encoder_logits(texts)
    w = predictor.lexical_weight
    expected = (1 - w) * encoder + w * predictor.lexical.decision_function(texts)
    assert np.allclose(predictor.logits(texts)[0], expected, atol=1e-5)


def test_mlflow_run_and_registered_model_exist(pipeline):
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=pipeline["env"]["MLFLOW_TRACKING_URI"])
    versions = client.search_model_versions("name='emoheal-emotion'")
    assert len(versions) == 1
    version = versions[0]
    assert version.tags["data_hash"] and version.tags["git_commit"]
    # the first registered model is served until a promotion (search results do not carry aliases)
    assert client.get_model_version_by_alias("emoheal-emotion", "champion").version == version.version
    run = client.get_run(version.run_id)
    assert run.data.params["backbone.name"] == "minilm" and run.data.params["profile"] == "ci"
    assert "test.macro_f1" in run.data.metrics and "per_label.grief.f1" in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "val/macro_f1_tuned")
    assert len(history) == pipeline["params"]["train"]["max_epochs"]  # one point per epoch
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert "evaluation/emotion.json" in artifacts and "evaluation/pr_per_label.png" in artifacts
    assert "evaluation/test_predictions.npz" in artifacts  # what `emoheal promote` compares
    mlflow.set_tracking_uri(pipeline["env"]["MLFLOW_TRACKING_URI"])
    model = mlflow.pyfunc.load_model(f"models:/emoheal-emotion/{version.version}")
    import pandas as pd

    out = model.predict(pd.DataFrame({"text": ["what a lovely surprise", "ugh"]}))
    assert len(out) == 2 and "neutral" in out.columns


def test_detect_json_one_object_per_text_in_order(cli, pipeline):
    model = pipeline["params"]["paths"]["model"]
    long_text = "so tired " * 200
    result = cli("detect", "--json", "--model", model, "first text", long_text, "third")
    assert result.returncode == 0, result.stderr
    objects = json.loads(result.stdout)
    assert len(objects) == 3
    for obj in objects:
        assert len(obj["probabilities"]) == 28
        assert set(obj["labels"]) <= set(obj["probabilities"])
        assert obj["model_version"].startswith("emotion-minilm-")
    assert [o["truncated"] for o in objects] == [False, True, False]


def test_detect_reads_a_file_and_rejects_whitespace(cli, pipeline, tmp_path):
    model = pipeline["params"]["paths"]["model"]
    texts = tmp_path / "texts.txt"
    texts.write_text("one\n\ntwo\n")
    ok = cli("detect", "--json", "--model", model, "--file", str(texts))
    assert ok.returncode == 0 and len(json.loads(ok.stdout)) == 2
    bad = cli("detect", "--model", model, "   ")
    assert bad.returncode == 2 and "empty or only whitespace" in bad.stderr


def test_predictor_labels_follow_thresholds(pipeline):
    from emoheal.emotion.predictor import EmotionPredictor

    predictor = EmotionPredictor(pipeline["params"]["paths"]["model"])
    assert predictor.calibrated
    (pred,) = predictor.predict(["I am so grateful for your help"])
    for label in predictor.labels:
        threshold = predictor.thresholds[predictor.labels.index(label)]
        assert (label in pred.labels) == (pred.probabilities[label] >= threshold - 1e-6)


def test_metrics_command_prints_the_headline(cli, pipeline):
    from pathlib import Path

    path = Path(pipeline["params"]["paths"]["metrics"]) / "emotion.json"
    result = cli("metrics", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert "macro-F1" in result.stdout and "baseline tfidf_logreg" in result.stdout


def test_thresholds_tuned_for_another_model_are_refused(pipeline, tmp_path):
    import shutil
    from pathlib import Path

    from emoheal.emotion.artifacts import ModelFolderError
    from emoheal.emotion.predictor import EmotionPredictor

    copy = tmp_path / "emotion"
    shutil.copytree(Path(pipeline["params"]["paths"]["model"]), copy)
    assert EmotionPredictor(copy / "model").calibrated  # the model/ folder itself works too
    stale = json.loads((copy / "thresholds.json").read_text())
    stale["model_version"] = "emotion-tiny-000000000000"
    (copy / "thresholds.json").write_text(json.dumps(stale))
    with pytest.raises(ModelFolderError, match="rerun the thresholds stage"):
        EmotionPredictor(copy)


def test_error_analysis_report_is_written_from_dev(pipeline):
    from pathlib import Path

    page = (Path(pipeline["params"]["paths"]["plots"]) / "error_analysis.html").read_text(encoding="utf-8")
    assert "Where the emotion model still fails" in page and "dev" in page
    assert "Labels most read as another" in page and page.count("<svg") == 28
    assert "test split" not in page.lower() or "unbiased scores are test" in page
