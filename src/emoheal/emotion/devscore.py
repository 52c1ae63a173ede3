"""Score a model on dev without grading it on the rows its thresholds were tuned on: temperature
and per-label thresholds are fitted on k-1 folds of dev and applied to the k-th (cross-fitting),
so recipes whose dev figures differ only by how well thresholds overfit are not told apart."""

from __future__ import annotations

import numpy as np

from emoheal.emotion.calibration import apply_temperature, fit_temperature
from emoheal.emotion.metrics import f1_summary
from emoheal.emotion.thresholds import tune_thresholds


def crossfit_predictions(logits: np.ndarray, y: np.ndarray, grid: np.ndarray, folds: int = 5,
                         seed: int = 0) -> np.ndarray:
    """0/1 predictions for every dev row, each from thresholds fitted on the other folds."""
    which = np.random.default_rng(seed).permutation(len(y)) % folds
    pred = np.zeros_like(y, dtype=np.uint8)
    for k in range(folds):
        fit, held = which != k, which == k
        probs = apply_temperature(logits, fit_temperature(logits[fit], y[fit]))
        thresholds, _ = tune_thresholds(probs[fit], y[fit], grid)
        pred[held] = (probs[held] >= thresholds).astype(np.uint8)
    return pred


def dev_scores(logits: np.ndarray, y: np.ndarray, grid: np.ndarray, folds: int = 5, seed: int = 0) -> dict:
    """Cross-fitted macro/micro-F1, and the in-sample figure (thresholds tuned on all of dev and
    scored there, as training's checkpoint choice sees it) beside it."""
    crossfit = f1_summary(y, crossfit_predictions(logits, y, grid, folds, seed))
    probs = apply_temperature(logits, fit_temperature(logits, y))
    thresholds, _ = tune_thresholds(probs, y, grid)
    in_sample = f1_summary(y, (probs >= thresholds).astype(np.uint8))
    return {
        "macro_f1": crossfit["macro_f1"],
        "micro_f1": crossfit["micro_f1"],
        "macro_f1_in_sample": in_sample["macro_f1"],
        "micro_f1_in_sample": in_sample["micro_f1"],
        "folds": folds,
    }


def choose_lexical_weight(encoder: np.ndarray, lexical: np.ndarray | None, y: np.ndarray, grid: np.ndarray,
                          weights: list[float], folds: int = 5, seed: int = 0) -> tuple[float, dict[str, float]]:
    """The mixing weight of the lexical logits with the best cross-fitted dev macro-F1 (ties: the
    smaller weight), and each weight's score. No lexical part: 0."""
    if lexical is None:
        return 0.0, {}
    scores: dict[str, float] = {}
    for w in sorted(weights):
        mixed = (1.0 - w) * encoder + w * lexical
        scores[f"{w:g}"] = f1_summary(y, crossfit_predictions(mixed, y, grid, folds, seed))["macro_f1"]
    best = max(scores.values())
    return next(float(k) for k, v in scores.items() if v == best), scores
