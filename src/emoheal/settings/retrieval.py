"""Retrieval settings (conf/retrieval): the index, the one-item-per-stage session, the sequenced
session and the two evaluations. These models are also what the retrieval code takes at run
time, so the evaluation stages, the CLI, the session runner and the served Bento all pass the
same validated objects into `retrieve()` / `retrieve_sequence()`; no value lives in Python."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from emoheal.settings.base import Settings

SCORE_PARTS = ("text", "descriptors", "valence_arousal")  # what `weights` balances (retrieval/scoring.py)


class TimbreScoring(Settings):
    """How an item's timbre counts (retrieval/scoring.py): a stage's `timbres` are rewarded, its
    `avoid_timbres` refused outright."""

    weight: Annotated[float, Field(ge=0)]  # of the timbre fit in the total, beside the weights below
    rank_decay: Annotated[float, Field(ge=0, le=0.5)]  # the stage's 2nd timbre fits 1 - decay, its 3rd 1 - 2 decay
    unknown_fit: Annotated[float, Field(ge=0, le=1)]  # an item whose timbre is not known (the user's own media)


class ScoringSettings(Settings):
    """How an item's fit to a stage is scored (retrieval/scoring.py)."""

    weights: dict[str, float]
    parameter_weights: dict[str, float]
    scales: dict[str, float]  # one scale outside a target range costs exp(-1/2) of the fit (octaves for log measures)
    tempo_octave_penalty: float
    va_sharpness: float
    personal_weight: float  # how much a person's learned preferences may move a score
    timbre: TimbreScoring

    @field_validator("weights")
    @classmethod
    def _three_parts(cls, weights: dict[str, float]) -> dict[str, float]:
        if set(weights) != set(SCORE_PARTS):
            raise ValueError(f"expected exactly the keys {', '.join(SCORE_PARTS)}")
        return weights


class SessionSettings(Settings):
    """One item per stage (`retrieval.session`): the baseline, and each stage's alternatives."""

    alternatives: int
    mmr_lambda: float  # 1 = pure score, 0 = pure diversity
    mmr_pool: int
    max_tempo_jump_bpm: float
    max_key_distance: int
    arousal_tolerance: float
    target_max_arousal: float
    target_density_factor: float
    scoring: ScoringSettings


class SequenceSection(Settings):
    """`retrieval.sequence`: a stage as a sequence of tracks (retrieval/sequence.py)."""

    fill_tolerance: float
    min_track_s: float
    crossfade_s: float
    crossfade_max_share: float
    first_fade_in_s: float
    last_fade_out_s: float
    trim_fade_s: float
    cut_window_s: float
    max_tempo_step_bpm: float
    max_key_distance: int
    max_loudness_step_lu: float
    arousal_tolerance: float
    supply_factor: float
    near_equal: float
    near_equal_pool: int
    temperature: float
    pool_per_waypoint: int
    alternatives: int
    path_tempo_weight: float
    path_tempo_scale_octaves: float
    target_min_valence: float | None  # null: no lower limit on the target stage's valence


class SequenceSettings(SequenceSection):
    """What `sequence_session` takes: the sequence section with the one-item session's scoring
    and target-stage limits, which both ways of choosing music share."""

    scoring: ScoringSettings
    target_max_arousal: float
    target_density_factor: float

    @classmethod
    def of(cls, session: SessionSettings, sequence: SequenceSection) -> SequenceSettings:
        return cls(**sequence.model_dump(), scoring=session.scoring, target_max_arousal=session.target_max_arousal,
                   target_density_factor=session.target_density_factor)


class IndexSettings(Settings):
    kind: Literal["flat", "ivf", "hnsw"]
    exact_below: int
    nlist: int


class EvaluateRetrieval(Settings):
    goal: str
    texts: int | None  # null: every test text
    seed: int


class EvaluateSessions(Settings):
    goal: str
    minutes: float
    texts: int | None
    seed: int


class SessionRetrieval(Settings):
    """The part of `retrieval` that chooses a person's music: what a Bento carries."""

    session: SessionSettings
    sequence: SequenceSection

    def settings(self) -> tuple[SessionSettings, SequenceSettings]:
        """(one-item session settings, sequence settings)."""
        return self.session, SequenceSettings.of(self.session, self.sequence)


class Retrieval(SessionRetrieval):
    index: IndexSettings
    evaluate: EvaluateRetrieval
    evaluate_sessions: EvaluateSessions
