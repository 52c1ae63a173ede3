"""The emotion part of the evaluate stage: the model and the TF-IDF baseline on test."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from emoheal.data.prepared import read_manifest, read_prepared
from emoheal.emotion.baseline import fit_tfidf_logreg
from emoheal.emotion.calibration import apply_temperature
from emoheal.emotion.comparison import bootstrap_intervals, with_test_tuned_thresholds
from emoheal.emotion.metrics import (
    binarize,
    expected_calibration_error,
    f1_summary,
    group_f1,
    per_label_table,
)
from emoheal.emotion.plots import write_plots
from emoheal.emotion.predictor import EmotionPredictor
from emoheal.emotion.thresholds import threshold_grid, tune_thresholds


def evaluate_emotion(params: dict[str, Any]) -> tuple[dict[str, Any], list[Path], tuple[np.ndarray, np.ndarray]]:
    """(metrics, plot files, (test labels, the model's 0/1 test predictions) in row order)."""
    paths = params["paths"]
    manifest = read_manifest(paths["prepared"])
    predictor = EmotionPredictor(paths["model"])
    if not predictor.calibrated:
        raise FileNotFoundError(
            f"{paths['model']} has no thresholds.json/calibration.json: run the thresholds stage first"
        )
    names, groups = predictor.labels, manifest["groups"]
    train, dev, test = (read_prepared(paths["prepared"], s) for s in ("train", "dev", "test"))
    y_test = test[names].to_numpy(dtype=np.uint8)

    started = time.time()
    logits, _ = predictor.logits(test["text"].tolist())
    inference_seconds = time.time() - started
    probs = predictor.probabilities(logits)
    pred = binarize(probs, predictor.thresholds)
    bins = params["calibration"]["ece_bins"]
    test_metrics = {
        **f1_summary(y_test, pred),
        "macro_f1_at_0.5": f1_summary(y_test, binarize(probs, 0.5))["macro_f1"],
        "macro_f1_at_0.3": f1_summary(y_test, binarize(probs, 0.3))["macro_f1"],
        "ece_uncalibrated": expected_calibration_error(apply_temperature(logits, 1.0), y_test, bins),
        "ece_calibrated": expected_calibration_error(probs, y_test, bins),
        "ekman": group_f1(y_test, pred, names, groups["ekman"]),
        "sentiment": group_f1(y_test, pred, names, groups["sentiment"]),
        "rows": int(len(test)),
        "inference_seconds": round(inference_seconds, 2),
    }
    per_label = per_label_table(y_test, pred, names)
    grid = threshold_grid(params["thresholds"])

    base_cfg = params["evaluate"]["baseline"]
    baselines: dict[str, Any] = {}
    base_probs = np.zeros_like(probs)
    base_pred = None
    base_per_label = {name: {"f1": 0.0} for name in names}
    if base_cfg["enabled"]:
        started = time.time()
        # one BLAS thread: threaded sums round differently run to run (the 4th digit moved)
        with threadpool_limits(1):
            model = fit_tfidf_logreg(train["text"].tolist(), train[names].to_numpy(), base_cfg, params["seed"])
            dev_probs = model.predict_proba(dev["text"].tolist())
            base_probs = model.predict_proba(test["text"].tolist())
        y_dev = dev[names].to_numpy(dtype=np.uint8)
        base_thr, _ = tune_thresholds(dev_probs, y_dev, grid)
        base_pred = binarize(base_probs, base_thr)
        base_per_label = per_label_table(y_test, base_pred, names)
        baselines["tfidf_logreg"] = {
            "test": {**f1_summary(y_test, base_pred), "ekman": group_f1(y_test, base_pred, names, groups["ekman"])},
            "thresholds": "per label, tuned on dev",
            "fit_seconds": round(time.time() - started, 1),
        }

    intervals = bootstrap_intervals(y_test, pred, base_pred, names, params["evaluate"]["bootstrap"], params["seed"])
    for name, bounds in intervals.pop("per_label_f1").items():
        per_label[name].update(f1_low=bounds["low"], f1_high=bounds["high"])
    test_metrics["intervals"] = intervals
    test_metrics["test_tuned_thresholds"] = with_test_tuned_thresholds(probs, y_test, grid)
    metrics = {
        "model_version": predictor.version,
        "backbone": predictor.meta["backbone"],
        "profile": params["profile"],
        "data_hash": manifest["data_hash"],
        "thresholds": "per label, tuned on dev",
        "test": test_metrics,
        "baselines": baselines,
        "per_label": per_label,
    }
    plots = write_plots(paths["plots"], per_label, base_per_label, probs, base_probs, y_test, names,
                        params["evaluate"]["pr_curve_points"])
    return metrics, plots, (y_test, pred)
