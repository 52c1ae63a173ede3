"""Knowledge distillation from trained models: the student learns from the annotators' labels
and, beside them, the teachers' mean probabilities, so one model learns what a seed ensemble
knows (how likely each label is, not just whether a rater ticked it) at one model's inference
cost. The two are kept apart, not mixed into one soft target: the training loss applies to the
labels (BCE or ASL) and cross-entropy to the teachers' probabilities (`losses.DistillationLoss`).
Mixing would be the same for BCE, which is linear in its target, but not for ASL, whose
asymmetric focusing has no sensible optimum on a soft negative: a student trained that way on
soft targets scored dev macro-F1 0.08."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoheal.utils.hashing import sha256_json

log = logging.getLogger(__name__)


def teacher_probabilities(teachers: list[str], texts: list[str], labels: list[str]) -> np.ndarray:
    """The teachers' mean sigmoid probability per (text, label); each teacher must predict `labels`."""
    from emoheal.emotion.predictor import EmotionPredictor

    total = np.zeros((len(texts), len(labels)), dtype=np.float64)
    for path in teachers:
        if not Path(path).exists():
            raise FileNotFoundError(f"distillation teacher {path!r} not found: train it first "
                                    "(`emoheal candidates <name>`) or fix train.distill.teachers")
        teacher = EmotionPredictor(path)
        if teacher.labels != labels:
            raise ValueError(f"teacher {path} predicts other labels than the training data")
        logits, _ = teacher.logits(texts)
        total += 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        log.info("distillation teacher %s (%s) scored %d training texts", path, teacher.version, len(texts))
    return (total / len(teachers)).astype(np.float32)


def teacher_versions(teachers: list[str]) -> list[str]:
    """What identifies the teachers in a run's key: their model versions (a retrained teacher at the
    same path is another run)."""
    from emoheal.emotion.artifacts import read_meta

    folders = [Path(p) / "model" if (Path(p) / "model").is_dir() else Path(p) for p in teachers]
    return [read_meta(folder)["version"] for folder in folders]


def teacher_targets(train: pd.DataFrame, labels: list[str], cfg: dict[str, Any]) -> tuple[np.ndarray | None, str]:
    """(the teachers' mean probability per training text and label, a hash of what went in);
    (None, '') when no teacher is configured."""
    teachers = list(cfg["teachers"])
    if not teachers:
        return None, ""
    soft = teacher_probabilities(teachers, train["text"].tolist(), labels)
    weight = float(cfg["weight"])
    # "targets" marks the loss that keeps labels and teachers apart: a student trained on mixed
    # soft targets (before it) is another run
    return soft, sha256_json({"teachers": teacher_versions(teachers), "weight": weight,
                              "targets": "beside the labels"})[:16]
