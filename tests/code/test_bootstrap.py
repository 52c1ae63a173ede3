"""Paired bootstrap intervals (metrics/emotion.json, `emoheal promote`) and the test-predictions
artifact they compare."""

from __future__ import annotations

import numpy as np
import pytest

from emoheal.emotion.bootstrap import bootstrap, interval, summary
from emoheal.emotion.comparison import bootstrap_intervals, with_test_tuned_thresholds
from emoheal.emotion.metrics import f1_summary
from emoheal.tracking.predictions import PredictionsError, TestPredictions, read_predictions, write_predictions


def labels_and_predictions(rows: int = 1500, error: float = 0.03, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((rows, 8)) < np.geomspace(0.3, 0.02, 8)).astype(np.uint8)
    flip = rng.random(y.shape) < error
    return y, np.where(flip, 1 - y, y).astype(np.uint8)


def test_each_resample_scores_like_sklearn_on_the_drawn_rows():
    from emoheal.emotion.bootstrap import row_weights

    y, pred = labels_and_predictions(rows=300)
    weights = next(row_weights(len(y), 3, seed=5))
    scores = bootstrap(y, {"m": pred}, resamples=3, seed=5)["m"]
    for k in range(3):
        rows = np.repeat(np.arange(len(y)), weights[k].astype(int))
        expected = f1_summary(y[rows], pred[rows])
        assert scores.macro[k] == pytest.approx(expected["macro_f1"], abs=1e-5)
        assert scores.micro[k] == pytest.approx(expected["micro_f1"], abs=1e-5)


def test_the_same_model_twice_gains_exactly_nothing_and_resamples_are_paired():
    y, pred = labels_and_predictions()
    draws = bootstrap(y, {"a": pred, "b": pred.copy()}, resamples=300, seed=1)
    assert np.array_equal(draws["a"].macro, draws["b"].macro)
    other = bootstrap(y, {"a": pred}, resamples=300, seed=1)["a"]
    assert np.array_equal(other.macro, draws["a"].macro)  # a seed is a set of resamples


def test_interval_holds_the_estimate_and_narrows_with_more_rows():
    small, big = labels_and_predictions(rows=400), labels_and_predictions(rows=6000)
    widths = []
    for y, pred in (small, big):
        scores = bootstrap(y, {"m": pred}, resamples=500, seed=0)["m"]
        s = summary(f1_summary(y, pred)["macro_f1"], scores.macro)
        assert s["low"] < s["estimate"] < s["high"]
        widths.append(s["high"] - s["low"])
    assert widths[1] < widths[0] / 2


def test_interval_refuses_a_confidence_outside_0_1():
    with pytest.raises(ValueError, match="confidence"):
        interval(np.arange(10.0), 1.5)


def test_mismatched_shapes_are_refused():
    y, pred = labels_and_predictions()
    with pytest.raises(ValueError, match="do not match"):
        bootstrap(y, {"m": pred[:, :3]})


def test_the_metrics_block_pairs_model_and_baseline():
    y, good = labels_and_predictions(error=0.02)
    _, poor = labels_and_predictions(error=0.06, seed=9)
    names = [f"l{i}" for i in range(8)]
    block = bootstrap_intervals(y, good, poor, names, {"resamples": 400, "confidence": 0.9}, seed=0)
    gain = block["gain_over_baseline"]["macro_f1"]
    assert gain["low"] > 0 and gain["estimate"] == pytest.approx(
        f1_summary(y, good)["macro_f1"] - f1_summary(y, poor)["macro_f1"])
    assert set(block["per_label_f1"]) == set(names)
    assert all(v["low"] <= v["high"] for v in block["per_label_f1"].values())
    assert "baseline" not in bootstrap_intervals(y, good, None, names, {"resamples": 100, "confidence": 0.9}, 0)


def test_test_tuned_figure_is_labelled_and_at_least_the_fixed_threshold_score():
    rng = np.random.default_rng(0)
    y, _ = labels_and_predictions()
    probs = np.clip(y * 0.6 + rng.random(y.shape) * 0.5, 0, 1)
    tuned = with_test_tuned_thresholds(probs, y, np.round(np.arange(0.05, 0.951, 0.05), 3))
    assert "tuned on the test split itself" in tuned["note"]
    assert tuned["macro_f1"] >= f1_summary(y, (probs >= 0.5).astype(np.uint8))["macro_f1"]


def test_predictions_file_round_trips_and_refuses_other_files(tmp_path):
    y, pred = labels_and_predictions(rows=77)
    names = [f"l{i}" for i in range(8)]
    path = write_predictions(tmp_path / "p.npz", TestPredictions(y, pred, names, "abc"))
    back = read_predictions(path)
    assert np.array_equal(back.y, y) and np.array_equal(back.pred, pred) and back.labels == names
    assert back.same_rows_as(TestPredictions(y, 1 - pred, names, "abc"))
    assert not back.same_rows_as(TestPredictions(y, pred, names, "other"))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(PredictionsError):
        read_predictions(tmp_path / "bad.npz")
    with pytest.raises(PredictionsError, match="do not agree"):
        write_predictions(tmp_path / "q.npz", TestPredictions(y, pred[:, :2], names, "abc"))
