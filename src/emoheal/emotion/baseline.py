"""The baseline every fine-tuned model must beat: TF-IDF + one-vs-rest logistic regression."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline


def fit_tfidf_logreg(texts: list[str], y: np.ndarray, cfg: dict[str, Any], seed: int):
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, cfg["ngram_max"]), min_df=cfg["min_df"],
                        max_features=cfg["max_features"], sublinear_tf=True),
        OneVsRestClassifier(
            LogisticRegression(C=cfg["C"], class_weight=cfg["class_weight"], max_iter=2000, random_state=seed),
            n_jobs=None,
        ),
    )
    model.fit(texts, y)
    return model
