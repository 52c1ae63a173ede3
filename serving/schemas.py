"""Request and response models of the HTTP API (documented in serving/API.md and /docs.json).

Requests are strict (unknown fields refused, no silent type coercion); the text limit is set
when the app is built, so the OpenAPI schema states the limit the server enforces."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

STAGE_NAMES = ("match", "guide", "target")
SessionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Rating = Annotated[int, Field(ge=1, le=5, strict=True)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def text_field(max_chars: int):
    return Annotated[str, Field(min_length=1, max_length=max_chars, strict=True,
                                description=f"What the person wrote: 1 to {max_chars:,} characters. Never logged.")]


def request_models(max_chars: int) -> tuple[type[Strict], type[Strict]]:
    """(DetectRequest, SessionRequest) for the configured text limit."""
    text = text_field(max_chars)
    detect = create_model("DetectRequest", __base__=Strict, text=(text, ...))
    session = create_model(
        "SessionRequest", __base__=Strict, text=(text, ...),
        goal=(Annotated[str, Field(strict=True, max_length=32, description="sleep, calm or uplift")], "sleep"),
        minutes=(Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False,
                                        description="session length; the planner's limits apply")] | None, None),
        lang=(Annotated[str, Field(strict=True, max_length=8, description="en or zh; null: from the text")] | None,
              None),
        seed=(Annotated[int, Field(strict=True, ge=0, lt=2**32, description="the same seed gives the same "
                                   "sequence of tracks; null: a fresh one (returned in timeline.seed)")] | None, None),
        check_in=(Literal["yes", "no"] | None,
                  Field(None, description="the person's answer to the check-in question a previous answer for "
                                          "this text asked (safety.check_in): 'yes' leads to crisis resources, "
                                          "'no' lets the session start")),
    )
    return detect, session


class FeedbackRequest(Strict):
    """A stage rating (`stage` + `rating`, null rating = skipped) or the study answers (`reflected` + `calmer`)."""

    session_id: SessionId
    stage: Literal["match", "guide", "target"] | None = None
    rating: Rating | None = None
    reflected: Rating | None = Field(None, description="The music reflected how I feel (1-5)")
    calmer: Rating | None = Field(None, description="I feel calmer / readier for sleep (1-5)")


class Versions(BaseModel):
    emoheal: str
    emotion_model: str | None = None
    registry_version: str | None = None
    runtime: str | None = None
    safety_model: str | None = None
    graph: str | None = None
    retrieval_backend: str | None = None
    warnings: list[str] = []  # what is served but not as it should be (an uncalibrated model ...)


class Stamped(BaseModel):
    request_id: str
    versions: Versions


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(Stamped):
    error: ErrorBody


class Language(BaseModel):
    detected: str
    confidence: float


class Emotions(BaseModel):
    probabilities: dict[str, float]
    labels: list[str]
    truncated: bool


class Score(BaseModel):
    label: str
    probability: float


class DetectResponse(Stamped):
    language: Language
    emotions: Emotions
    top: list[Score]


class Resource(BaseModel):
    name: str
    contact: str
    how: str
    hours: str
    source: str


class CheckInAnswer(BaseModel):
    value: Literal["yes", "no"]
    label: str


class CheckIn(BaseModel):
    """Asked when the screen is unsure (level medium): no music until the person answers."""

    question: str
    answers: list[CheckInAnswer]
    answer: Literal["yes", "no"] | None = Field(description="the answer this request carried; null: not yet")


class Safety(BaseModel):
    level: Literal["none", "low", "medium", "high"]
    message: str
    resources: list[Resource]
    check_in: CheckIn | None = None


class Item(BaseModel):
    id: str
    title: str
    media_type: str
    duration_s: float | None
    start_s: float | None
    audio_url: str
    video_url: str | None
    poster_url: str | None
    timbre: str | None = Field(None, description="the timbre tags it sounds in, '+'-joined (null: not known)")
    sound: str | None = Field(None, description="what it sounds like, in words")
    measured: dict[str, float | str | None]


class Track(BaseModel):
    item_id: str
    title: str
    at_s: float = Field(description="session time at which the track starts (it fades in over fade_in_s)")
    start_s: float = Field(description="offset inside the item where playing starts")
    duration_s: float = Field(description="how long it plays, fades included")
    fade_in_s: float
    fade_out_s: float
    measured: dict[str, float | str | None]
    felt_tempo_bpm: float | None = Field(None, description="the measured tempo at the metrical level (x1/2, x1, x2) "
                                                           "nearest the plan's tempo at its minute")
    score: float
    trim: dict[str, Any] | None = Field(None, description="where a trimmed track ends: a cut point of the item "
                                                          "(quiet frame or beat) or a fade")
    timbre: str | None = Field(None, description="the timbre tags it sounds in, '+'-joined (null: not known)")
    timbre_match: str | None = Field(None, description="the stage's timbre it sounds in (null: none of them)")
    audio_url: str


class Crossfade(BaseModel):
    at_s: float
    duration_s: float
    from_: str = Field(alias="from")
    to: str


class Timeline(BaseModel):
    requested_s: float
    filled_s: float
    tracks: int = Field(description="how many tracks the session plays, all stages together")
    crossfades: list[Crossfade]
    seed: int = Field(description="the seed that reproduces this sequence")
    path: list[dict[str, Any]] = Field(description="the plan's per-minute waypoints (tempo, arousal, ...)")
    mix_url: str = Field(description="the whole session as one audio stream (GET; ?format=ogg or flac)")
    short_by_s: float | None = None
    reason: str | None = Field(None, description="why the session is shorter than requested, when it is")


class Stage(BaseModel):
    name: Literal["match", "guide", "target"]
    minutes: float
    start_minute: float
    valence: float
    arousal: float
    narrative: str
    what: str = Field(description="what the music does (the stage's musical prompt)")
    why: str = Field(description="why: the plan's explanation for this stage")
    targets: dict[str, Any]
    status: str
    reason: str | None = None
    item: Item | None = Field(description="the stage's first track, as one item (for clients before sequences)")
    tracks: list[Track] = Field(description="the stage's sequence, in order, on the session's timeline")
    sequence: dict[str, Any] | None = Field(None, description="what the tracks do: count, minutes, felt tempo "
                                                              "from-to, arousal from-to, keys")
    score: float | None
    alternatives: list[str]


class SessionResponse(Stamped):
    session_id: str | None
    goal: str
    language: Language | None
    notice: str | None
    safety: Safety
    emotions: Emotions | None
    prelude: str | None = None
    epilogue: str | None = None
    explanation: str | None = None
    personalisation: str | None = None
    stages: list[Stage]
    timeline: Timeline | None = None


class FeedbackResponse(Stamped):
    session_id: str
    recorded: Literal["stage", "study"]


class Health(Stamped):
    status: Literal["ok"]


class Readiness(Stamped):
    ready: bool
    parts: dict[str, bool]
    detail: str | None = None
    warnings: list[str] = []


class ProfileCreated(Stamped):
    token: str = Field(description="the profile's bearer token: send it as `Authorization: Bearer <token>`. Shown "
                                   "once; the service keeps only its hash, so a lost token cannot be recovered")
    created: float


class HistoryStage(BaseModel):
    stage: Literal["match", "guide", "target"]
    item: str
    tracks: list[str]
    rating: int | None = Field(description="the rating given (1-5); null: skipped or not rated")


class StudyAnswers(BaseModel):
    reflected: int | None
    calmer: int | None


class HistorySession(BaseModel):
    session_id: str
    time: float = Field(description="Unix time the session was made")
    goal: str
    stages: list[HistoryStage]
    study: StudyAnswers | None


class History(Stamped):
    sessions: list[HistorySession] = Field(description="newest first; never text (none is stored)")
    retention_days: int = Field(description="anything older is deleted")


class Export(Stamped):
    profile: dict[str, Any]
    sessions: list[dict[str, Any]]
    stage_ratings: list[dict[str, Any]]
    study_answers: list[dict[str, Any]]
    preferences: dict[str, Any] = Field(description="what the ratings taught: the leanings a session is nudged by")
    retention_days: int = Field(description="anything older is deleted")


class Erased(Stamped):
    erased: dict[str, int] = Field(description="what was removed, by kind; the token no longer works")
