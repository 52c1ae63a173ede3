"""Knowledge distillation from trained models: the training targets become a mix of the
annotators' labels and the teachers' mean probabilities, so one model learns what a seed
ensemble knows (how likely each label is, not just whether a rater ticked it) at one model's
inference cost."""

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


def distilled_frame(train: pd.DataFrame, labels: list[str], cfg: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """(train with soft targets (1 - w) * label + w * teachers' probability, a hash of what went in);
    the frame unchanged and '' when no teacher is configured."""
    teachers = list(cfg["teachers"])
    if not teachers:
        return train, ""
    soft = teacher_probabilities(teachers, train["text"].tolist(), labels)
    weight = float(cfg["weight"])
    out = train.copy()
    out[labels] = (1 - weight) * train[labels].to_numpy(dtype=np.float32) + weight * soft
    return out, sha256_json({"teachers": teacher_versions(teachers), "weight": weight})[:16]
