"""Where the emotion model still fails, measured on dev only: which labels it reads as which,
how well each label's probabilities are calibrated, and examples of each kind of failure.

Dev is where thresholds and temperature were tuned, so these are in-sample figures: they show
the shape of the errors, not an unbiased score (that is test's job, in the evaluate stage)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NEUTRAL = "neutral"


@dataclass(frozen=True)
class Confusion:
    true: str
    read_as: str
    rows: int  # texts with `true` missed and `read_as` predicted without being true
    share_of_true: float  # of the texts that carry `true`
    examples: list[int]  # row indices, most confident first


@dataclass(frozen=True)
class LabelCalibration:
    label: str
    support: int
    threshold: float
    precision: float
    recall: float
    f1: float
    ece: float
    bins: list[tuple[float, float, int]]  # (mean predicted, observed rate, texts) per non-empty bin


@dataclass(frozen=True)
class FailureType:
    name: str
    what: str
    rows: int
    examples: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ErrorAnalysis:
    labels: list[str]
    rows: int
    confusions: list[Confusion]
    calibration: list[LabelCalibration]
    failures: list[FailureType]


def confusions(y: np.ndarray, pred: np.ndarray, probs: np.ndarray, labels: list[str], top: int = 15,
               examples: int = 3) -> list[Confusion]:
    """Ordered pairs (A, B): texts whose true label A was missed while B, not true, was predicted."""
    missed = (y == 1) & (pred == 0)
    spurious = (y == 0) & (pred == 1)
    counts = missed.T.astype(np.int64) @ spurious.astype(np.int64)  # [A, B]
    np.fill_diagonal(counts, 0)
    support = y.sum(0)
    order = np.argsort(-counts, axis=None, kind="stable")[:top]
    out = []
    for flat in order:
        a, b = divmod(int(flat), len(labels))
        if counts[a, b] == 0:
            break
        rows = np.flatnonzero(missed[:, a] & spurious[:, b])
        rows = rows[np.argsort(-probs[rows, b], kind="stable")][:examples]
        out.append(Confusion(labels[a], labels[b], int(counts[a, b]), float(counts[a, b] / max(support[a], 1)),
                             [int(r) for r in rows]))
    return out


def label_calibration(y: np.ndarray, pred: np.ndarray, probs: np.ndarray, labels: list[str],
                      thresholds: np.ndarray, bins: int = 10) -> list[LabelCalibration]:
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for j, name in enumerate(labels):
        p, t = probs[:, j], y[:, j].astype(bool)
        which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
        table, ece = [], 0.0
        for b in range(bins):
            inside = which == b
            if inside.any():
                mean_p, rate = float(p[inside].mean()), float(t[inside].mean())
                table.append((mean_p, rate, int(inside.sum())))
                ece += inside.mean() * abs(mean_p - rate)
        tp = int((pred[:, j].astype(bool) & t).sum())
        precision = tp / max(int(pred[:, j].sum()), 1)
        recall = tp / max(int(t.sum()), 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.append(LabelCalibration(name, int(t.sum()), float(thresholds[j]), precision, recall, f1, float(ece),
                                    table))
    return out


def failure_types(y: np.ndarray, pred: np.ndarray, probs: np.ndarray, labels: list[str],
                  examples: int = 4) -> list[FailureType]:
    """Each kind of failure, its count on dev and its clearest examples (row indices)."""
    n = NEUTRAL in labels and labels.index(NEUTRAL)
    emotion_cols = [j for j in range(len(labels)) if j != n]
    truth_emotion = y[:, emotion_cols].any(1)
    pred_emotion = pred[:, emotion_cols].any(1)
    wrong_prob = np.where(pred != y, np.where(pred == 1, probs, 1 - probs), 0.0)
    kinds = [
        ("emotion read as neutral", "an emotion was annotated, the model predicted only neutral (or nothing)",
         truth_emotion & ~pred_emotion, wrong_prob.max(1)),
        ("emotion on a neutral text", "annotated neutral only, the model predicted an emotion",
         ~truth_emotion & pred_emotion, probs[:, emotion_cols].max(1)),
        ("wrong emotion", "the model predicted emotions, none of them the annotated ones",
         truth_emotion & pred_emotion & ~((y == 1) & (pred == 1))[:, emotion_cols].any(1), wrong_prob.max(1)),
        ("confident false alarm", "a label predicted with probability >= 0.9 that no annotator gave "
         "(often annotation noise rather than a model error)", ((probs >= 0.9) & (y == 0)).any(1),
         np.where(y == 0, probs, 0).max(1)),
        ("no label at all", "no label reached its threshold (a served session then plans from neutral)",
         pred.sum(1) == 0, 1 - probs.max(1)),
    ]
    out = []
    for name, what, mask, score in kinds:
        rows = np.flatnonzero(mask)
        rows = rows[np.argsort(-score[rows], kind="stable")][:examples]
        out.append(FailureType(name, what, int(mask.sum()), [int(r) for r in rows]))
    return out


def analyse(y: np.ndarray, probs: np.ndarray, thresholds: np.ndarray, labels: list[str]) -> ErrorAnalysis:
    pred = (probs >= thresholds).astype(np.uint8)
    return ErrorAnalysis(labels, len(y), confusions(y, pred, probs, labels),
                         label_calibration(y, pred, probs, labels, thresholds), failure_types(y, pred, probs, labels))
