"""What the evaluate stage says about how sure its figures are: paired bootstrap intervals for the
model, the baseline and the model's gain over it, per-label F1 intervals, and the score the model
would get with thresholds tuned on test itself (labelled: only for setting beside published
test-tuned figures, never for choosing anything)."""

from __future__ import annotations

from typing import Any

import numpy as np

from emoheal.emotion.bootstrap import bootstrap, interval, summary
from emoheal.emotion.metrics import f1_summary
from emoheal.emotion.thresholds import tune_thresholds

TEST_TUNED_NOTE = ("thresholds tuned on the test split itself: optimistic, reported only beside the published "
                   "figures that were tuned the same way; every choice for the model is made on dev")


def bootstrap_intervals(y: np.ndarray, pred: np.ndarray, baseline_pred: np.ndarray | None,
                        names: list[str], cfg: dict[str, Any], seed: int) -> dict[str, Any]:
    """Intervals for the model (and baseline, and the paired gain) from one set of resamples."""
    predictions = {"model": pred} if baseline_pred is None else {"model": pred, "baseline": baseline_pred}
    draws = bootstrap(y, predictions, cfg["resamples"], seed)
    confidence = cfg["confidence"]
    point = {name: f1_summary(y, p) for name, p in predictions.items()}
    model = draws["model"]
    out: dict[str, Any] = {
        "method": "paired percentile bootstrap over test rows (the same resamples for every model)",
        "resamples": cfg["resamples"], "confidence": confidence, "seed": seed,
        "model": {
            "macro_f1": summary(point["model"]["macro_f1"], model.macro, confidence),
            "micro_f1": summary(point["model"]["micro_f1"], model.micro, confidence),
        },
        # each label's F1 interval (its estimate is per_label[name].f1 in the metrics file)
        "per_label_f1": {name: dict(zip(("low", "high"), interval(model.per_label[:, j], confidence)))
                         for j, name in enumerate(names)},
    }
    if baseline_pred is not None:
        base = draws["baseline"]
        out["baseline"] = {
            "macro_f1": summary(point["baseline"]["macro_f1"], base.macro, confidence),
            "micro_f1": summary(point["baseline"]["micro_f1"], base.micro, confidence),
        }
        out["gain_over_baseline"] = {
            "macro_f1": summary(point["model"]["macro_f1"] - point["baseline"]["macro_f1"],
                                model.macro - base.macro, confidence),
            "micro_f1": summary(point["model"]["micro_f1"] - point["baseline"]["micro_f1"],
                                model.micro - base.micro, confidence),
        }
    return out


def with_test_tuned_thresholds(probs: np.ndarray, y: np.ndarray, grid: np.ndarray) -> dict[str, Any]:
    thresholds, _ = tune_thresholds(probs, y, grid)
    scores = f1_summary(y, (probs >= thresholds).astype(np.uint8))
    return {"macro_f1": scores["macro_f1"], "micro_f1": scores["micro_f1"], "note": TEST_TUNED_NOTE}
