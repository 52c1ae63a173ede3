"""The learned layer of the crisis screen: a logistic regression over the frozen sentence
encoder's vectors (meaning and stance, whatever the wording: `encoder.py`) and, optionally, hashed
character n-grams (spelling: typos, slang, Chinese, which the English encoder reads as unknown
tokens).

Two heads share the features: `risk` (any risk of suicide or self-harm, ambiguous texts included:
the screen asks) and `severe` (intent, a plan, preparatory acts or an attempt: C-SSRS items 4-6,
which clinical use treats as high risk: the screen stops the session outright).
A text's scores are the highest over its units — the whole text and, when it has several, each of
its sentences — so a risk stated after an unrelated first sentence is not averaged away.

Files in the model folder: `classifier.npz` (weights, one row per head), `classifier.json` (the
feature settings, the thresholds chosen on grouped cross-validation, the version). See `screen.py`
for how the scores, the patterns and the emotion detector's signals become a level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from emoheal.safety.encoder import SafetyModelError, SentenceEncoder, units
from emoheal.safety.patterns import normalise
from emoheal.utils.hashing import sha256_file
from emoheal.utils.io import read_json

WEIGHTS_FILE = "classifier.npz"
META_FILE = "classifier.json"
HEADS = ("risk", "severe")


@dataclass(frozen=True)
class FeatureSpec:
    """How a unit of text becomes a feature vector."""

    char_ngrams: bool = True
    ngram_min: int = 2
    ngram_max: int = 4
    n_features: int = 1 << 16
    char_weight: float = 1.0       # scale of the n-gram block beside the unit-length embedding
    standardize: bool = True       # z-score each embedding dimension (on the training texts) before the fit
    segments: bool = True          # score each sentence too, keep the highest
    max_segments: int = 12

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> FeatureSpec:
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@lru_cache(maxsize=8)
def _analyzer(ngram_min: int, ngram_max: int):
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=(ngram_min, ngram_max),
                             preprocessor=normalise).build_analyzer()


def hashed_grams(text: str, spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray]:
    """One text's row of `char_matrix`: (columns, unit-length float32 values), in first-seen order."""
    from sklearn.utils import murmurhash3_32

    analyze = _analyzer(spec.ngram_min, spec.ngram_max)
    counts: dict[int, float] = {}
    for gram in analyze(text):
        col = abs(murmurhash3_32(gram, seed=0)) % spec.n_features
        counts[col] = counts.get(col, 0.0) + 1.0
    values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    if counts:
        values = values / np.sqrt((values * values).sum())
    return np.fromiter(counts, dtype=np.int64, count=len(counts)), values.astype(np.float32)


def char_matrix(texts: list[str], spec: FeatureSpec):
    """Hashed character n-grams within word boundaries, unit length per row (sparse): the features
    of scikit-learn's HashingVectorizer(analyzer="char_wb", alternate_sign=False, norm="l2") — a test
    checks they are equal — computed without its per-call validation (1 ms a text, here 0.1 ms)."""
    from scipy import sparse

    grams = [hashed_grams(text, spec) for text in texts]
    rows = np.repeat(np.arange(len(texts)), [len(cols) for cols, _ in grams])
    cols = np.concatenate([cols for cols, _ in grams]) if grams else np.zeros(0, dtype=np.int64)
    data = np.concatenate([values for _, values in grams]) if grams else np.zeros(0, dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), spec.n_features), dtype=np.float32)


def char_logits(texts: list[str], spec: FeatureSpec, weights: np.ndarray) -> np.ndarray:
    """`char_matrix(texts, spec) @ weights` for the few units a request scores, without building the
    sparse matrix: scipy's construction and checks were a fifth of the screen's time per text."""
    out = np.zeros((len(texts), weights.shape[1]), dtype=np.result_type(np.float32, weights.dtype))
    for i, text in enumerate(texts):
        cols, values = hashed_grams(text, spec)
        if len(cols):
            out[i] = values.astype(out.dtype) @ weights[cols]
    return out


@dataclass(frozen=True)
class Scaler:
    """Per-dimension centre and scale of the embeddings, fitted on the training texts; scaled by
    1/sqrt(dim) so the block keeps about unit length beside the n-grams."""

    center: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, embeddings: np.ndarray) -> Scaler:
        std = embeddings.std(axis=0)
        return cls(embeddings.mean(axis=0).astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32))

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        return (embeddings - self.center) / (self.scale * np.sqrt(embeddings.shape[1]))


def design(embeddings: np.ndarray, texts: list[str], spec: FeatureSpec, scaler: Scaler | None = None,
           chars=None):
    """The classifier's input for units whose embeddings are given: [embedding | weighted n-grams].
    `chars`: the units' `char_matrix`, when already computed (training reuses one for every fold)."""
    from scipy import sparse

    if spec.standardize:
        if scaler is None:
            raise ValueError("standardized features need the scaler fitted on the training texts")
        embeddings = scaler(embeddings)
    if not spec.char_ngrams:
        return sparse.csr_matrix(embeddings)
    if chars is None:
        chars = char_matrix(texts, spec)
    return _stack_dense_sparse(np.asarray(embeddings), chars * spec.char_weight)


def _stack_dense_sparse(dense: np.ndarray, chars):
    """`sparse.hstack([csr_matrix(dense), chars], format="csr")`, the same matrix entry for entry, built
    from index arithmetic: scipy's general stacking scans the dense block for non-zeros and converts
    through COO, which was a third of the safety stage's candidate search."""
    from scipy import sparse

    n, dim = dense.shape
    chars = sparse.csr_matrix(chars)
    dtype = np.result_type(dense.dtype, chars.dtype)  # standardized embeddings are float64: keep them so
    per_row = dim + np.diff(chars.indptr)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_row, out=indptr[1:])
    row_of_char = np.repeat(np.arange(n), np.diff(chars.indptr))
    # the dense block's entries of row i sit at indptr[i] .. indptr[i] + dim, its n-grams after them
    char_slots = indptr[row_of_char] + dim + (np.arange(chars.nnz) - chars.indptr[row_of_char])
    data = np.empty(int(indptr[-1]), dtype=dtype)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    dense_slots = (indptr[:-1, None] + np.arange(dim)).ravel()
    data[dense_slots], indices[dense_slots] = dense.ravel(), np.tile(np.arange(dim, dtype=np.int32), n)
    data[char_slots], indices[char_slots] = chars.data, chars.indices + dim
    out = sparse.csr_matrix((data, indices, indptr), shape=(n, dim + chars.shape[1]))
    out.eliminate_zeros()  # as csr_matrix(dense) keeps only the non-zeros
    return out


@dataclass(frozen=True)
class Folded:
    """The weights ready for scoring: the scaler folded into the dense block, both blocks transposed
    and contiguous, so a text costs two small matrix products (0.1 ms, not the 1 ms of building the
    stacked sparse matrix `design` makes for training)."""

    dense: np.ndarray          # dim x heads
    char: np.ndarray | None    # n_features x heads
    bias: np.ndarray           # heads

    @classmethod
    def of(cls, coef: np.ndarray, intercept: np.ndarray, spec: FeatureSpec, scaler: Scaler | None,
           dim: int) -> Folded:
        dense, bias = coef[:, :dim].astype(np.float64), np.asarray(intercept, dtype=np.float64)
        if spec.standardize:
            factor = 1.0 / (scaler.scale.astype(np.float64) * np.sqrt(dim))
            bias = bias - (scaler.center * factor) @ dense.T
            dense = dense * factor
        char = np.ascontiguousarray(coef[:, dim:].T * spec.char_weight) if spec.char_ngrams else None
        return cls(np.ascontiguousarray(dense.T.astype(np.float32)), char, bias)


def unit_logits(embeddings: np.ndarray, texts: list[str], spec: FeatureSpec, folded: Folded) -> np.ndarray:
    """Units x heads logits: equal (to float precision) to `design(...) @ coef.T + intercept`."""
    logits = embeddings @ folded.dense + folded.bias
    if folded.char is not None:
        logits = logits + char_logits(texts, spec, folded.char)
    return logits


def fit(features, labels: np.ndarray, weights: np.ndarray, C: float, seed: int):
    """Logistic regression with per-text weights (see `build.training_weights`)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, solver="liblinear", max_iter=2000, random_state=seed)
    return model.fit(features, labels, sample_weight=weights)


def expand(texts: list[str], spec: FeatureSpec) -> tuple[list[str], np.ndarray]:
    """All units of all texts, and for each unit the index of its text."""
    flat, owner = [], []
    for i, text in enumerate(texts):
        parts = units(text, spec.segments, spec.max_segments)
        flat += parts
        owner += [i] * len(parts)
    return flat, np.asarray(owner, dtype=np.int64)


def max_per_text(unit_scores: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, owner, unit_scores)
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def text_scores(encode, texts: list[str], spec: FeatureSpec, folded: Folded) -> np.ndarray:
    """Texts x heads scores in [0, 1]: per head, the highest over each text's units. `encode` turns
    units into embeddings (the stage and the service pass the same int8 encoder)."""
    flat, owner = expand(texts, spec)
    logits = unit_logits(encode(flat), flat, spec, folded)
    return sigmoid(np.stack([max_per_text(logits[:, h], owner, len(texts)) for h in range(logits.shape[1])], 1))


@dataclass
class RiskClassifier:
    """Weights (one row per head) + feature settings + thresholds, scoring through a `SentenceEncoder`."""

    coef: np.ndarray        # heads x features
    intercept: np.ndarray   # heads
    spec: FeatureSpec
    thresholds: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)
    encoder: SentenceEncoder | None = None
    scaler: Scaler | None = None

    def __post_init__(self):
        dim = self.coef.shape[1] - (self.spec.n_features if self.spec.char_ngrams else 0)
        self.folded = Folded.of(self.coef, self.intercept, self.spec, self.scaler, dim)

    @property
    def version(self) -> str:
        return self.meta.get("version", "unversioned")

    def score(self, texts: list[str]) -> np.ndarray:
        """Scores in [0, 1], texts x heads (risk, severe): per head, the highest over a text's units."""
        if self.encoder is None:
            raise RuntimeError("this classifier has no sentence encoder loaded")
        return text_scores(self.encoder.encode, texts, self.spec, self.folded)

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None) -> RiskClassifier:
        folder = Path(folder)
        weights, meta_path = folder / WEIGHTS_FILE, folder / META_FILE
        if not weights.is_file() or not meta_path.is_file():
            raise SafetyModelError(f"no risk classifier in {folder} ({WEIGHTS_FILE} + {META_FILE}): build the "
                                   "safety model with `dvc repro safety` (part of `make run`)")
        meta = read_json(meta_path)
        if sha256_file(weights) != meta.get("weights_sha256"):
            raise SafetyModelError(f"{weights} does not match the hash recorded in {META_FILE}: rebuild with "
                                   "`dvc repro safety`")
        spec = FeatureSpec.from_config(meta["features"])
        encoder = SentenceEncoder(folder, threads)
        expected = (len(HEADS), encoder.dim + (spec.n_features if spec.char_ngrams else 0))
        with np.load(weights) as stored:
            coef, intercept = stored["coef"].astype(np.float32), stored["intercept"].astype(np.float64)
            scaler = Scaler(stored["center"], stored["scale"]) if spec.standardize else None
        if coef.shape != expected or intercept.shape != (len(HEADS),):
            raise SafetyModelError(f"{weights}: weights of shape {coef.shape}; the encoder, feature settings and "
                                   f"heads need {expected}")
        if scaler is not None and scaler.center.shape != (encoder.dim,):
            raise SafetyModelError(f"{weights}: a scaler for {scaler.center.shape[0]} dimensions, the encoder has "
                                   f"{encoder.dim}")
        return cls(coef, intercept, spec, dict(meta["thresholds"]), meta, encoder, scaler)
