"""Per-label decision thresholds, tuned on dev (never on test)."""

from __future__ import annotations

import numpy as np


def tune_thresholds(
    probs: np.ndarray, y_true: np.ndarray, grid: np.ndarray, default: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """For each label, the grid threshold with the best F1 on these rows.

    Returns (thresholds, best_f1). A label with no positive rows keeps `default`.
    Ties go to the higher threshold (fewer false alarms for the same F1).
    """
    n_labels = probs.shape[1]
    thresholds = np.full(n_labels, default, dtype=np.float64)
    best = np.zeros(n_labels, dtype=np.float64)
    for j in range(n_labels):
        truth = y_true[:, j].astype(bool)
        if not truth.any():
            continue
        pred = probs[:, j][None, :] >= grid[:, None]  # (grid, rows)
        tp = (pred & truth).sum(1)
        fp = (pred & ~truth).sum(1)
        fn = truth.sum() - tp
        f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        k = len(grid) - 1 - int(np.argmax(f1[::-1]))
        thresholds[j], best[j] = float(grid[k]), float(f1[k])
    return thresholds, best


def threshold_grid(cfg: dict) -> np.ndarray:
    return np.round(np.arange(cfg["grid_min"], cfg["grid_max"] + 1e-9, cfg["grid_step"]), 6)
