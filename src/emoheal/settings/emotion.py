"""The emotion model's settings: the data, backbone, trainer and train groups (conf/data,
conf/backbone, conf/trainer, conf/train) and the root sections the thresholds and evaluate
stages read (conf/config.yaml: thresholds, calibration, evaluate)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from emoheal.settings.base import Settings, tagged


class SplitLimits(Settings):
    """Texts kept per split (null: the whole split)."""

    train: int | None
    dev: int | None
    test: int | None


class Data(Settings):
    name: str
    num_labels: int
    splits: list[str]
    limit: SplitLimits


class _Backbone(Settings):
    name: str
    path: str | None
    pooling: Literal["mean", "cls"]
    max_length: int
    encoder_lr: float
    head_lr: float
    multilingual: bool


class PackageBackbone(_Backbone):
    """Weights shipped inside a Python package (all-MiniLM-L6-v2)."""

    source: Literal["package"]
    package: str


class LocalBackbone(_Backbone):
    """Weights in a local folder (`path`), or a hub id already in the local Hugging Face cache."""

    source: Literal["local"]
    hub_id: str | None


class TinyArchitecture(Settings):
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int


class TinyBackbone(_Backbone):
    """A small randomly initialised model for tests and CI."""

    source: Literal["tiny"]
    tiny: TinyArchitecture


Backbone = tagged("source", PackageBackbone, LocalBackbone, TinyBackbone)


class Trainer(Settings):
    """Lightning Trainer arguments (accelerator, strategy and precision are Lightning's names)."""

    accelerator: str
    devices: int
    strategy: str
    precision: str
    deterministic: bool
    num_threads: int | None  # null: torch's default


class Loss(Settings):
    """The multi-label loss: plain binary cross-entropy, or the asymmetric loss (Ridnik et al.
    2021), which down-weights easy negatives (gamma_neg, and a probability margin `clip`) so the
    rare labels' few positives weigh more."""

    name: Literal["bce", "asl"]
    gamma_neg: float = Field(ge=0)
    gamma_pos: float = Field(ge=0)
    clip: float = Field(ge=0, lt=1)


class Ema(Settings):
    """Exponential moving average of the weights; dev scores and the saved model use the average."""

    decay: float | None = Field(gt=0, lt=1)  # null: no averaging
    start_step: int = Field(ge=0)


class Distill(Settings):
    """Soft targets from trained teachers (model folders): (1 - weight) * label + weight * their mean
    probability. No teachers: the annotators' labels alone."""

    teachers: list[str]
    weight: float = Field(ge=0, le=1)


class Lexical(Settings):
    """The model's TF-IDF part (model/lexical.npz), fitted on the training split after fine-tuning;
    its logits are mixed with the encoder's at the weight the thresholds stage picks on dev."""

    enabled: bool
    ngram_max: int = Field(ge=1, le=3)
    min_df: int = Field(ge=1)
    max_features: int | None = Field(ge=1)
    C: float = Field(gt=0)
    class_weight: Literal["balanced"] | None


class Train(Settings):
    batch_size: int
    eval_batch_size: int
    max_epochs: int
    max_steps: int
    warmup_ratio: float
    weight_decay: float
    gradient_clip_val: float
    dropout: float
    length_group_pool: int
    early_stopping_patience: int  # 0: no early stopping
    checkpoint_every_n_steps: int
    val_check_interval: float
    log_every_n_steps: int
    num_workers: int
    progress_bar: bool
    # the fine-tuning recipe (docs/emotion_candidates.md: what each option gave on dev)
    freeze_word_embeddings: bool
    layer_lr_decay: float = Field(gt=0, le=1)  # 1: one learning rate for the whole encoder
    rdrop_alpha: float = Field(ge=0)  # 0: no R-Drop
    loss: Loss
    ema: Ema
    distill: Distill
    lexical: Lexical


class ThresholdGrid(Settings):
    grid_min: float
    grid_max: float
    grid_step: float
    default: float


class Calibration(Settings):
    # temperature: one T for all labels; per_label: a scale and bias per label (emotion/calibration.py)
    method: Literal["temperature", "per_label"]
    ece_bins: int
    # the lexical part's mixing weights the thresholds stage tries (cross-fitted on dev)
    lexical_weights: list[Annotated[float, Field(ge=0, lt=1)]] = Field(min_length=1)


class Baseline(Settings):
    enabled: bool
    ngram_max: int
    min_df: int
    max_features: int
    C: float
    class_weight: str | None


class Bootstrap(Settings):
    """Paired bootstrap over test rows: the intervals in metrics/emotion.json."""

    resamples: int = Field(ge=100)
    confidence: float = Field(gt=0, lt=1)


class Evaluate(Settings):
    baseline: Baseline
    bootstrap: Bootstrap
    pr_curve_points: int
