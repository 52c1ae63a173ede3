"""Paired bootstrap intervals for multi-label F1.

Every resample draws test rows with replacement once, and every model is scored on that same
draw, so a gain's interval reflects how the two models differ on the rows, not the rows' own
difficulty (which would move both). Counts are computed for all resamples at once: a resample is
a vector of row multiplicities, and a label's true/false positives are weighted sums over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK = 250  # resamples per matrix product: bounds memory at ~_CHUNK x rows float32


@dataclass(frozen=True)
class Scores:
    """Per resample: macro-F1, micro-F1 and each label's F1 (shape resamples x labels)."""

    macro: np.ndarray
    micro: np.ndarray
    per_label: np.ndarray


def row_weights(n_rows: int, resamples: int, seed: int):
    """Yield (resamples' multiplicities as a chunk x rows float32 matrix), reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        k = min(_CHUNK, resamples - done)
        yield rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=k).astype(np.float32)
        done += k


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1e-12), 0.0)


def _scores(weights: np.ndarray, y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, ...]:
    y, pred = y.astype(np.float32), pred.astype(np.float32)
    tp = weights @ (y * pred)
    fp = weights @ ((1 - y) * pred)
    fn = weights @ (y * (1 - pred))
    per_label = _f1(tp, fp, fn)
    micro = _f1(tp.sum(1), fp.sum(1), fn.sum(1))
    return per_label.mean(1), micro, per_label


def bootstrap(y: np.ndarray, predictions: dict[str, np.ndarray], resamples: int = 1000,
              seed: int = 0) -> dict[str, Scores]:
    """Each named 0/1 prediction matrix scored on the same `resamples` draws of the rows of `y`."""
    for name, pred in predictions.items():
        if pred.shape != y.shape:
            raise ValueError(f"{name}: predictions {pred.shape} do not match the labels {y.shape}")
    parts: dict[str, list[tuple[np.ndarray, ...]]] = {name: [] for name in predictions}
    for weights in row_weights(len(y), resamples, seed):
        for name, pred in predictions.items():
            parts[name].append(_scores(weights, y, pred))
    return {name: Scores(*(np.concatenate([p[i] for p in chunks]) for i in range(3)))
            for name, chunks in parts.items()}


def interval(samples: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The percentile interval holding `confidence` of the resampled values."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def summary(estimate: float, samples: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    low, high = interval(samples, confidence)
    return {"estimate": float(estimate), "low": low, "high": high}
