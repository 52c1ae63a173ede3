"""The baseline every fine-tuned model must beat: TF-IDF + one-vs-rest logistic regression."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from emoheal.emotion.lexical import LexicalModel


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


def fit_lexical(texts: list[str], y: np.ndarray, cfg: dict[str, Any], seed: int) -> LexicalModel:
    """Fit the TF-IDF + per-label logistic regression (the evaluate stage's baseline recipe) and keep
    its arrays. One BLAS thread: threaded sums round differently from run to run."""
    with threadpool_limits(1):
        pipeline = fit_tfidf_logreg(texts, y, cfg, seed)
    vectorizer, ovr = pipeline[0], pipeline[1]
    terms = [t for t, _ in sorted(vectorizer.vocabulary_.items(), key=lambda item: item[1])]
    coef = np.vstack([est.coef_ for est in ovr.estimators_])
    intercept = np.concatenate([est.intercept_ for est in ovr.estimators_])
    return LexicalModel(terms, vectorizer.idf_, coef, intercept, cfg["ngram_max"], sublinear_tf=True)
