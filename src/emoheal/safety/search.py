"""The crisis screen's candidate search (the `safety` stage's step 3): each candidate setting's
out-of-fold scores on folds that keep paraphrase families whole, fitted over every core, and the
choice of the candidate with the best recall at the `high` operating point."""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from emoheal.safety.classifier import (
    HEADS,
    FeatureSpec,
    Scaler,
    char_matrix,
    design,
    expand,
    fit,
    max_per_text,
    sigmoid,
)
from emoheal.safety.encoder import SentenceEncoder
from emoheal.safety.evaluation import Corpus, out_of_fold, recall_at_false_alarm

log = logging.getLogger(__name__)
CANDIDATE_KEYS = ("C", "ordinary_weight")


class Embedded:
    """A corpus's units (texts and their sentences) and their vectors, computed once."""

    def __init__(self, texts: list[str], encoder: SentenceEncoder, max_segments: int):
        self.units, self.owner = expand(texts, FeatureSpec(segments=True, max_segments=max_segments))
        self.vectors = encoder.encode(self.units)
        first = np.r_[True, self.owner[1:] != self.owner[:-1]]
        self.whole = np.flatnonzero(first)  # each text's own unit comes first among its units
        self._chars: dict[tuple[int, int, int], Any] = {}  # every unit's n-grams, per n-gram setting

    def rows(self, index: np.ndarray, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
        """(unit rows, owner position within `index`) of the chosen texts under `spec`."""
        if not spec.segments:
            return self.whole[index], np.arange(len(index))
        position = np.full(len(self.whole), -1)
        position[index] = np.arange(len(index))
        chosen = np.flatnonzero(np.isin(self.owner, index))
        return chosen, position[self.owner[chosen]]

    def scaler(self, texts: np.ndarray, spec: FeatureSpec) -> Scaler | None:
        """Fitted on the whole-text units of the training texts only."""
        return Scaler.fit(self.vectors[self.whole[texts]]) if spec.standardize else None

    def features(self, rows: np.ndarray, spec: FeatureSpec, scaler: Scaler | None):
        texts = [self.units[r] for r in rows]
        return design(self.vectors[rows], texts, spec, scaler, self.chars(spec)[rows] if spec.char_ngrams else None)

    def chars(self, spec: FeatureSpec):
        """Every unit's `char_matrix` under the spec's n-gram setting, computed once (a row depends on
        its own text only, so a fold's rows are a slice of it)."""
        key = (spec.ngram_min, spec.ngram_max, spec.n_features)
        if key not in self._chars:
            self._chars[key] = char_matrix(self.units, spec)
        return self._chars[key]


def targets(corpus: Corpus) -> dict[str, np.ndarray]:
    """What each head learns: `risk` (risk and ambiguous texts) and `severe` (intent, plan, acts)."""
    return {"risk": corpus.positive, "severe": corpus.severe}


def training_weights(corpus: Corpus, target: np.ndarray, ordinary_weight: float) -> np.ndarray:
    """Among the curated texts, the head's positives and negatives weigh half the total each, whatever
    their counts; each ordinary comment weighs `ordinary_weight` (a curated negative weighs about 1)."""
    ordinary = corpus.label == "ordinary"
    curated = ~ordinary
    n = curated.sum()
    weights = np.zeros(len(corpus.examples))
    weights[curated & target] = n / (2.0 * (curated & target).sum())
    weights[curated & ~target] = n / (2.0 * (curated & ~target).sum())
    weights[ordinary] = ordinary_weight
    return weights


def _candidate(base: dict[str, Any], override: dict[str, Any]) -> tuple[FeatureSpec, dict[str, float]]:
    merged = {**base, **override}
    return FeatureSpec.from_config(merged), {k: float(merged[k]) for k in CANDIDATE_KEYS}


def fit_heads(features, corpus: Corpus, index: np.ndarray, fit_args: dict[str, float], seed: int,
               heads: tuple[str, ...] = HEADS) -> list:
    models = []
    for head in heads:
        y = targets(corpus)[head]
        w = training_weights(corpus, y, fit_args["ordinary_weight"])
        models.append(fit(features, y[index].astype(int), w[index], fit_args["C"], seed))
    return models


def _fold_scores(embedded: Embedded, corpus: Corpus, train: np.ndarray, test: np.ndarray, spec: FeatureSpec,
                 fit_args: dict[str, float], seed: int, heads: tuple[str, ...]) -> np.ndarray:
    """The `test` texts' scores (texts x heads) from the heads fitted on the `train` texts."""
    scaler = embedded.scaler(train, spec)
    models = fit_heads(embedded.features(embedded.whole[train], spec, scaler), corpus, train, fit_args, seed, heads)
    rows, owner = embedded.rows(test, spec)
    features = embedded.features(rows, spec, scaler)
    return np.stack([sigmoid(max_per_text(m.decision_function(features), owner, len(test))) for m in models], 1)


@dataclass(frozen=True)
class Selection:
    """Every candidate tried, as the metrics report it, and the winner's features, fit settings and
    out-of-fold scores (texts x heads)."""

    tried: list[dict[str, Any]]
    spec: FeatureSpec
    fit_args: dict[str, float]
    oof: np.ndarray


# What the candidate workers share, set just before they fork (read, never pickled: the vectors and
# n-gram matrices stay in the parent's memory pages)
_SHARED: tuple | None = None


def _task_scores(task: tuple[int, int]) -> np.ndarray:
    embedded, corpus, folds, candidates, seed, heads = _SHARED
    (spec, fit_args), (train, test) = candidates[task[0]], folds[task[1]]
    return _fold_scores(embedded, corpus, train, test, spec, fit_args, seed, heads)


def candidate_scores(embedded: Embedded, corpus: Corpus, folds, candidates: list[tuple[FeatureSpec, dict]],
                     seed: int, workers: int | None = None, heads: tuple[str, ...] = HEADS) -> list[np.ndarray]:
    """Each candidate's out-of-fold scores (texts x `heads`). Every (candidate, fold) fit is
    independent, so they are spread over `workers` processes (default: every core); liblinear fits
    on one core. The same fits, the same seeds: the scores do not depend on the number of workers
    (a test checks it)."""
    global _SHARED
    tasks = [(i, f) for i in range(len(candidates)) for f in range(len(folds))]
    workers = min(len(tasks), workers or os.cpu_count() or 1)
    for spec, _ in candidates:  # each n-gram matrix built once, before the workers fork
        if spec.char_ngrams:
            embedded.chars(spec)
    _SHARED = (embedded, corpus, folds, candidates, seed, heads)
    try:
        if workers <= 1:
            scored = [_task_scores(t) for t in tasks]
        else:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                scored = list(pool.map(_task_scores, tasks))
    finally:
        _SHARED = None
    n = len(folds)
    return [_out_of_fold(corpus, folds, scored[i * n:(i + 1) * n]) for i in range(len(candidates))]


def _out_of_fold(corpus: Corpus, folds, fold_scores: list[np.ndarray]) -> np.ndarray:
    """`out_of_fold` over test scores already computed, one per fold in `folds` order."""
    pending = iter(fold_scores)
    return out_of_fold(corpus, folds, lambda train, test: next(pending))


def select_candidate(embedded: Embedded, corpus: Corpus, folds, cfg: dict[str, Any], seed: int,
                     workers: int | None = None) -> Selection:
    """Step 3: the candidate with the best recall at the `high` operating point, out of fold. The
    criterion reads the `risk` head only, so only that head is fitted for every candidate; the
    winner's `severe` head (the thresholds need it) is fitted afterwards on the same folds: the same
    fits as both heads at once, for a little over half the cost."""
    select = cfg["selection"]
    tried = []
    base = {**cfg["classifier"], "ordinary_weight": cfg["ordinary"]["weight"]}
    candidates = [_candidate(base, override) for override in select["candidates"]]
    risk = candidate_scores(embedded, corpus, folds, candidates, seed, workers, heads=("risk",))
    for override, candidate, scores in zip(select["candidates"], candidates, risk, strict=True):
        criterion = recall_at_false_alarm(scores[:, 0], corpus, float(select["false_alarm"]),
                                          float(select["ordinary_false_alarm"]))
        tried.append({"settings": {**candidate[0].to_dict(), **candidate[1]},
                      "recall_at_false_alarm": round(criterion, 4), "_scores": scores, "_candidate": candidate})
        log.info("candidate %s: %.4f", override, criterion)
    best = max(tried, key=lambda t: t["recall_at_false_alarm"])  # the first of equals: the simpler, listed first
    severe = candidate_scores(embedded, corpus, folds, [best["_candidate"]], seed, workers, heads=("severe",))[0]
    reported = [{k: v for k, v in t.items() if not k.startswith("_")} for t in tried]
    spec, fit_args = best["_candidate"]
    return Selection(reported, spec, fit_args, np.hstack([best["_scores"], severe]))  # columns in HEADS order


