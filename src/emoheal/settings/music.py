"""The music side's settings: the planner (conf/kg), the corpus (conf/corpus) and the CLaMP 3
encoder (conf/encoder). Retrieval has its own module (settings/retrieval.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from emoheal.settings.base import Settings, tagged


class Planner(Settings):
    """How the planner blends emotions (kg/planner.py); compiled into the graph with it."""

    floor: Annotated[float, Field(ge=0, lt=1)]  # probabilities at or below count for nothing
    neutral_weight: Annotated[float, Field(ge=0)]  # neutral dilutes the other emotions rather than dominating
    neutral_prior: Annotated[float, Field(gt=0)]  # a neutral anchor; bounds the plan's slope (1 / prior)
    sigmoid_steepness: float
    default_goal: str
    default_minutes: float
    min_minutes: float
    max_minutes: float
    explain_min_share: float


class Kg(Settings):
    planner: Planner


class Render(Settings):
    soundfont: str
    sample_rate: int
    gain: float
    target_lufs: float
    peak_dbfs: float
    reverb: bool
    chorus: bool
    polyphony: Annotated[int, Field(ge=16, le=4096)]


class Ingest(Settings):
    sample_rate: int
    target_lufs: float
    peak_dbfs: float
    min_duration_s: float
    silence_dbfs: float
    poster_width: int


class Describe(Settings):
    sample_rate: int
    n_fft: int
    hop: int
    n_mels: int
    window_s: float
    min_duration_s: float
    silence_db: float
    onset_delta: float
    onset_floor: float


class ClipEmotion(Settings):
    hidden: int
    dropout: float
    lr: float
    l2: float
    max_epochs: int
    patience: int
    refit_on_val: bool


class Cuts(Settings):
    drop_db: float
    min_gap_s: float
    edge_s: float


class Compose(Settings):
    """The composed part of the corpus (corpus/composed.py)."""

    pieces: Annotated[int, Field(ge=0)]
    seconds: Annotated[list[float], Field(min_length=2, max_length=2)]  # [shortest, longest] piece, seconds
    goals: list[str]
    stages: list[Literal["match", "guide", "target"]]
    range_share: Annotated[float, Field(gt=0, le=1)]


class Corpus(Settings):
    name: str
    limit: int | None  # null: every clip
    full_splits: list[Literal["train", "val", "test"]]  # EMOPIA splits rendered whole whatever the limit
    timbres: Annotated[list[str], Field(min_length=1)]  # tags of data/corpus/gm_programs.csv each clip renders in
    train_timbres: Annotated[int, Field(ge=0)] | None  # a train clip's other timbres (in turn); null: all
    licence: Literal["any", "commercial"]  # commercial: the index holds licence-clean items only
    workers: int | None  # null: every core
    render: Render
    compose: Compose
    media_dir: str
    ingest: Ingest
    describe: Describe
    emotion: ClipEmotion
    cuts: Cuts


class NoEncoder(Settings):
    """The offline default: no CLaMP 3 vectors."""

    name: Literal["none"]


class Predict(Settings):
    accelerator: str
    devices: int
    strategy: str
    num_threads: int | None


class Clamp3Encoder(Settings):
    name: Literal["clamp3"]
    checkpoint: str
    tokenizer: str
    mert: str
    config_json: str | None  # an oracle-style config.json; null: the official sizes
    sizes: dict[str, int]
    batch_size: int
    predict: Predict


Encoder = tagged("name", NoEncoder, Clamp3Encoder)
