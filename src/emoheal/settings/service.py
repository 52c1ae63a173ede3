"""Settings of what runs around the models: the service (conf/serving), monitoring
(conf/monitoring), the crisis screen's learned layer (conf/safety), and the settings a service
bundle carries (`settings.json` in the `emoheal-session` model: conf/serving, the retrieval
sections that choose the music, and provenance)."""

from __future__ import annotations

from typing import Literal

from pydantic import PositiveInt

from emoheal.settings.base import Settings
from emoheal.settings.retrieval import SessionRetrieval


class Detector(Settings):
    runtime: Literal["auto", "onnx-int8", "onnx", "torch"]  # auto: what the import's parity check chose
    max_f1_drop: float
    threads: PositiveInt
    max_batch_size: PositiveInt
    max_latency_ms: PositiveInt


class Serving(Settings):
    """Limits, the crisis resources' locale and the stores. `max_text_chars` is the one text limit
    for a session, wherever it is asked for: the API, `emoheal session`, the runner."""

    max_text_chars: PositiveInt
    max_body_bytes: PositiveInt
    locale: str
    store_url: str | None  # null: the SQLite file store_file (EMOHEAL_STORE_URL overrides both)
    store_file: str
    retention_days: PositiveInt
    detector: Detector
    workers: PositiveInt
    session_threads: PositiveInt  # threads per API process for a session's checks and screen (conf/serving)


class Bundle(Serving):
    """A service bundle's settings.json (written by `emoheal bento import`)."""

    retrieval: SessionRetrieval
    emoheal: str
    graph_version: str
    index_backend: str | None
    safety_model: str


class Reference(Settings):
    split: Literal["train", "dev", "test"]
    limit: int | None  # null: the whole split
    locale: str


class Drift(Settings):
    num_method: str  # Evidently's stattest names
    cat_method: str
    emotion_threshold: float
    emotion_share: float
    threshold: float


class MonitoringTests(Settings):
    readable_drop: float
    confidence_drop: float
    neutral_share_tolerance: float
    crisis_rate_jump: float
    min_language_share: float
    other_language_jump: float


class FeedbackChecks(Settings):
    min_ratings: int
    min_mean_rating: float


class Monitoring(Settings):
    reference: Reference
    store: str  # a database URL or an SQLite file (EMOHEAL_STORE_URL overrides)
    window: str
    out_dir: str
    experiment: str
    min_records: int
    drift: Drift
    tests: MonitoringTests
    feedback: FeedbackChecks


class SafetyEncoder(Settings):
    package: str
    max_length: int
    layers: list[int]
    pooling: list[Literal["mean", "max"]]
    quantize: Literal["int8", "none"]
    threads: PositiveInt


class Classifier(Settings):
    char_ngrams: bool
    ngram_min: int
    ngram_max: int
    n_features: int
    char_weight: float
    standardize: bool
    segments: bool
    max_segments: int
    C: float


class Candidate(Settings):
    """A candidate overrides some of `classifier` (and the ordinary comments' weight); a key it
    leaves out keeps the section's value, so every key here is optional."""

    char_ngrams: bool | None = None
    ngram_min: int | None = None
    ngram_max: int | None = None
    n_features: int | None = None
    char_weight: float | None = None
    standardize: bool | None = None
    segments: bool | None = None
    max_segments: int | None = None
    C: float | None = None
    ordinary_weight: float | None = None


class Ordinary(Settings):
    n: int
    weight: float


class CrossValidation(Settings):
    folds: int


class Selection(Settings):
    false_alarm: float
    ordinary_false_alarm: float
    candidates: list[Candidate]


class SafetyThresholds(Settings):
    low_recall: float
    target_recall: float
    category_recall: float
    max_high_false_alarm: float
    max_high_false_alarm_ordinary: float
    distress: float
    intense: float


class SafetyEvaluate(Settings):
    goemotions_split: Literal["train", "dev", "test"]
    review: str


class SafetyTracking(Settings):
    experiment: str


class Safety(Settings):
    data: str
    families_per_category: PositiveInt | None
    model: str
    encoder: SafetyEncoder
    classifier: Classifier
    ordinary: Ordinary
    cv: CrossValidation
    selection: Selection
    thresholds: SafetyThresholds
    evaluate: SafetyEvaluate
    tracking: SafetyTracking
