"""The emotion model's settings: the data, backbone, trainer and train groups (conf/data,
conf/backbone, conf/trainer, conf/train) and the root sections the thresholds and evaluate
stages read (conf/config.yaml: thresholds, calibration, evaluate)."""

from __future__ import annotations

from typing import Literal

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


class ThresholdGrid(Settings):
    grid_min: float
    grid_max: float
    grid_step: float
    default: float


class Calibration(Settings):
    method: Literal["temperature"]
    ece_bins: int


class Baseline(Settings):
    enabled: bool
    ngram_max: int
    min_df: int
    max_features: int
    C: float
    class_weight: str | None


class Evaluate(Settings):
    baseline: Baseline
    pr_curve_points: int
