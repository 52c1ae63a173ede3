"""The lexical part of the emotion model: TF-IDF word uni- and bigrams with one logistic regression
per label, whose logits are mixed with the encoder's (weight chosen on dev, thresholds stage).

Words an encoder with a 30k-piece vocabulary blurs or drops (names of feelings, "RIP", emoji-free
slang, rare labels' few cue words) a bag of n-grams keeps, and its errors are not the encoder's:
on dev the mix gains more than a second fine-tuned encoder would (docs/emotion_candidates.md).

Stored as plain arrays (`lexical.npz`: vocabulary, idf, weights; no pickle) and applied by its own
transform, equal to scikit-learn's TfidfVectorizer (a test holds the two to 1e-6 on dev) at a
fraction of its per-call cost, so a served single text pays ~0.1 ms for it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

FILE_NAME = "lexical.npz"
# scikit-learn's default token pattern: words of two or more word characters
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class LexicalModel:
    """`decision_function(texts)` -> (n, labels) logits, as the fitted scikit-learn pipeline's."""

    def __init__(self, terms: list[str], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 ngram_max: int, sublinear_tf: bool = True):
        if coef.shape != (len(intercept), len(terms)) or idf.shape != (len(terms),):
            raise ValueError(f"lexical model arrays disagree: {len(terms)} terms, idf {idf.shape}, "
                             f"coef {coef.shape}, intercept {intercept.shape}")
        self.terms = terms
        self.index = {term: i for i, term in enumerate(terms)}
        self.idf = idf.astype(np.float64)
        # (terms, labels): a text's logits gather only its own terms' rows. Rounded to float32 as they
        # are stored, so a model just fitted answers exactly as the one loaded from its file.
        self.weights = np.ascontiguousarray(coef.T.astype(np.float32), dtype=np.float64)
        self.intercept = intercept.astype(np.float64)
        self.ngram_max = ngram_max
        self.sublinear_tf = sublinear_tf

    def _ngrams(self, text: str) -> list[str]:
        tokens = _TOKEN.findall(text.lower())
        grams = list(tokens)
        for n in range(2, self.ngram_max + 1):
            grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return grams

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(term indices, l2-normalised tf-idf values) of one text, as TfidfVectorizer's row."""
        counts = Counter(self.index[g] for g in self._ngrams(text) if g in self.index)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        values = (1.0 + np.log(tf) if self.sublinear_tf else tf) * self.idf[idx]
        return idx, values / np.linalg.norm(values)

    def decision_function(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), len(self.intercept)), dtype=np.float64)
        for r, text in enumerate(texts):
            idx, values = self.features(text)
            out[r] = self.intercept + values @ self.weights[idx]
        return out.astype(np.float32)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / FILE_NAME
        np.savez_compressed(
            path, terms=np.asarray(self.terms, dtype=str), idf=self.idf, coef=self.weights.T.astype(np.float32),
            intercept=self.intercept, config=np.asarray(json.dumps({"ngram_max": self.ngram_max,
                                                                    "sublinear_tf": self.sublinear_tf})),
        )
        return path


def load_lexical(folder: str | Path) -> LexicalModel | None:
    """The model folder's lexical part, or None when it has none (an encoder-only model)."""
    path = Path(folder) / FILE_NAME
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        config = json.loads(str(data["config"]))
        return LexicalModel([str(t) for t in data["terms"]], data["idf"], data["coef"].astype(np.float64),
                            data["intercept"], config["ngram_max"], config["sublinear_tf"])
