"""Multi-label scores: F1 variants, per-label tables, group F1, calibration error."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support


def binarize(probs: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    return (probs >= np.asarray(thresholds)).astype(np.uint8)


def f1_summary(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        f"{avg}_f1": float(f1_score(y_true, y_pred, average=avg, zero_division=0))
        for avg in ("macro", "micro", "weighted")
    }


def per_label_table(y_true: np.ndarray, y_pred: np.ndarray, names: list[str]) -> dict[str, dict]:
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
    return {
        name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
        for i, name in enumerate(names)
    }


def group_matrix(y: np.ndarray, names: list[str], groups: dict[str, list[str]]) -> tuple[np.ndarray, list[str]]:
    """Collapse label columns into groups: a group is on if any member label is."""
    index = {name: i for i, name in enumerate(names)}
    group_names = list(groups)
    out = np.zeros((y.shape[0], len(group_names)), dtype=np.uint8)
    for j, group in enumerate(group_names):
        cols = [index[m] for m in groups[group]]
        out[:, j] = y[:, cols].max(axis=1)
    return out, group_names


def group_f1(y_true: np.ndarray, y_pred: np.ndarray, names: list[str], groups: dict[str, list[str]]) -> dict:
    t, group_names = group_matrix(y_true, names, groups)
    p, _ = group_matrix(y_pred, names, groups)
    result = f1_summary(t, p)
    result["per_group_f1"] = {
        g: float(v) for g, v in zip(group_names, f1_score(t, p, average=None, zero_division=0))
    }
    return result


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """ECE over every (text, label) probability as an independent binary forecast."""
    p = probs.ravel()
    y = y_true.ravel().astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(ece)
