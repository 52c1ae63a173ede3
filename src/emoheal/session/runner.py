"""One call from words to a session: safety screen → emotion detection → plan → retrieval →
narrative. Models load once per runner; raw text is used in memory only and never logged.

`SessionRunner.from_params(load_settings()).run(text, goal="sleep", minutes=None, lang=None, user=None)`
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from emoheal import __version__
from emoheal.safety.screen import ANSWERS, CrisisScreen
from emoheal.settings import SequenceSettings, as_settings

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LANGUAGES = ("en", "zh")


class SessionInputError(ValueError):
    """The text, goal, minutes or language cannot make a session. `code` and `field` let a
    server answer with a precise error (e.g. `text_too_long` on `text`)."""

    def __init__(self, message: str, code: str = "invalid_input", field: str | None = None):
        super().__init__(message)
        self.code, self.field = code, field


def check_text(text: Any, max_chars: int) -> str:
    """`max_chars`: conf/serving `max_text_chars` (a person's words about their evening, not a
    document), the one limit the API, the CLI and the runner apply."""
    if not isinstance(text, str):
        raise SessionInputError(f"text must be a string, not {type(text).__name__}", "validation_error", "text")
    if not text.strip():
        raise SessionInputError("text is empty: write a few words about how you feel", "text_empty", "text")
    if len(text) > max_chars:
        raise SessionInputError(f"text is {len(text):,} characters; at most {max_chars:,} are accepted",
                                "text_too_long", "text")
    if _CONTROL.search(text):
        raise SessionInputError("text contains control characters; send plain text", "invalid_text", "text")
    return text


def check_seed(seed: Any) -> int | None:
    """A seed is a whole number in [0, 2**32) or None (then one is drawn)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise SessionInputError(f"seed must be a whole number from 0 to 4294967295, not {seed!r}",
                                "invalid_seed", "seed")
    return seed


def detect_language(text: str) -> tuple[str, float]:
    """(ISO code, confidence) of the text's language, offline (py3langid's bundled model).
    Very short texts are too short to tell: they count as English with confidence 0."""
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh", 1.0
    if len(re.findall(r"\w+", text)) < 3:
        return "en", 0.0
    code, prob = _identifier().classify(text)
    return code, float(prob)


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@dataclass(frozen=True)
class RunnerPaths:
    """Where the runner's models are: the pipeline's outputs (`from_params`), or a service bundle's
    folders (serving/backend.py)."""

    model: str
    graph: str
    index: str
    safety: str

    @classmethod
    def from_params(cls, params: Any) -> RunnerPaths:
        """The composed config's outputs: paths.model, the graph in paths.kg, the index in
        paths.corpus, safety.model."""
        settings = as_settings(params)
        return cls(settings.paths.model, str(settings.paths.graph), str(settings.paths.index), settings.safety.model)


class SessionRunner:
    def __init__(self, paths: RunnerPaths, *, sequence: SequenceSettings, max_text_chars: int, locale: str,
                 text_encoder: Any = None, store: Any = None, predictor: Any = None):
        """`sequence`: how each stage's tracks are laid out (conf/retrieval, `SequenceSettings`);
        `max_text_chars` and `locale`: conf/serving's (the text limit, the crisis resources shown).
        `from_params` takes all three from a composed config. `predictor`: anything with
        `.predict(texts) -> [Prediction]` and `.meta` (a server passes its batching detector); by
        default the model at `paths.model` is loaded here."""
        from emoheal.kg.planner import load_planner
        from emoheal.retrieval.index import load_index

        if predictor is None:
            from emoheal.emotion.predictor import EmotionPredictor

            predictor = EmotionPredictor(paths.model)
        self.predictor = predictor
        self.screen = CrisisScreen(paths.safety)  # a clear error when the safety model is missing
        self.max_text_chars = max_text_chars
        self.planner = load_planner(paths.graph)
        self.index = load_index(Path(paths.index))
        self.locale = locale
        self.text_encoder = text_encoder
        self.sequence = sequence
        self.family = {label: node["family"] for label, node in self.planner.emotion_nodes.items()}
        self.multilingual = bool(self.predictor.meta.get("multilingual", False))
        self.store = None
        if store is not None:  # a database URL, an SQLite file or an engine: sessions and ratings go there
            from emoheal.session.feedback import FeedbackStore

            self.store = FeedbackStore(store)

    @classmethod
    def from_params(cls, params: Any, paths: RunnerPaths | None = None, **options: Any) -> SessionRunner:
        """The runner a composed config describes (the typed `Params` or a params mapping): its
        outputs as paths unless `paths` is given, `retrieval` for the music, `serving` for the
        text limit and the locale. `options` go to the constructor and win (e.g. a --locale)."""
        from emoheal.retrieval.config import settings_from_config

        settings = as_settings(params)
        defaults = {"sequence": settings_from_config(settings.retrieval)[1],
                    "max_text_chars": settings.serving.max_text_chars, "locale": settings.serving.locale}
        return cls(paths or RunnerPaths.from_params(settings), **{**defaults, **options})

    def versions(self) -> dict:
        return {"emoheal": __version__, "emotion_model": self.predictor.meta.get("version"),
                "safety_model": self.screen.version, "graph": self.planner.version,
                "graph_hash": self.planner.graph["hash"],
                "retrieval_backend": self.index.backend, "index_vector_tags": self.index.meta.get("vector_tags")}

    def run(self, text: str, goal: str = "sleep", minutes: float | None = None, lang: str | None = None,
            user: str | None = None, exclude: set[str] | frozenset = frozenset(), check_in: str | None = None,
            seed: int | None = None) -> dict:
        """`check_in`: the person's answer ("yes" or "no") to the check-in question an earlier call
        asked for this text; "yes" always leads to the crisis answer. `seed`: the same seed (with the
        same text, settings and catalogue) gives the same sequence of tracks; without one a seed is
        drawn and returned in `timeline.seed`."""
        early, state = self.begin(text, goal, lang, check_in, minutes, seed)
        if early is not None:
            return early
        prediction = self.predictor.predict([text])[0]
        return self.finish(state, text, prediction, minutes, user, exclude, seed)

    def begin(self, text: str, goal: str = "sleep", lang: str | None = None,
              check_in: str | None = None, minutes: float | None = None,
              seed: int | None = None) -> tuple[dict | None, dict]:
        """Checks and the crisis screen on the text alone, before the emotion model: (a finished
        result when the session stops here — a crisis, an unanswered check-in, a language the model
        cannot read — else None, the state for `finish`). Split from `run` so a server can detect
        emotions asynchronously in between. The state holds no text. Every input is checked here,
        minutes included, so a bad request is refused the same way whatever the screen decides."""
        check_text(text, self.max_text_chars)
        check_seed(seed)
        if check_in is not None and check_in not in ANSWERS:
            raise SessionInputError(f"check_in must be 'yes' or 'no', not {check_in!r}", "invalid_check_in",
                                    "check_in")
        if goal not in self.planner.goals:
            raise SessionInputError(f"unknown goal {goal!r}; goals: {', '.join(self.planner.goals)}",
                                    "unknown_goal", "goal")
        from emoheal.kg.planner import PlanInputError

        try:
            self.planner.check_minutes(minutes)
        except PlanInputError as exc:
            raise SessionInputError(str(exc), "invalid_plan", "minutes") from None
        if lang is not None and lang not in LANGUAGES:
            raise SessionInputError(f"unknown language {lang!r}; narratives exist in: {', '.join(LANGUAGES)}",
                                    "unknown_language", "lang")
        detected, confidence = detect_language(text)
        base = {"session_id": uuid.uuid4().hex, "goal": goal,
                "language": {"detected": detected, "confidence": confidence},
                "versions": self.versions(), "stages": [], "emotions": None, "notice": None}
        lang = lang or ("zh" if detected == "zh" else "en")
        notice = None
        if detected != "en" and confidence >= 0.5 and not self.multilingual:
            notice = (f"This text looks like {detected}, but the emotion model here reads English only, so it "
                      "would guess. Please write in English, or use the multilingual (paper) model.")
        # safety first: patterns and the risk classifier run before the emotion model; a crisis or a
        # check-in is answered even for a language the emotion model cannot read (with the notice)
        assessment = self.screen.assess(text)
        safety = self.screen.decide(assessment, None, self.locale, check_in, lang)
        if safety.stops_session or notice is not None:
            return {**base, "safety": safety.to_dict(), "notice": notice}, base
        return None, {**base, "lang": lang, "assessment": assessment, "check_in": check_in}

    def finish(self, state: dict, text: str, prediction: Any, minutes: float | None = None, user: str | None = None,
               exclude: set[str] | frozenset = frozenset(), seed: int | None = None) -> dict:
        """The screen again with the detected emotions, then plan, retrieval and narratives."""
        base = {k: v for k, v in state.items() if k not in ("lang", "assessment", "check_in")}
        safety = self.screen.decide(state["assessment"], prediction.probabilities, self.locale, state["check_in"],
                                    state["lang"])
        emotions = {"probabilities": prediction.probabilities, "labels": prediction.labels,
                    "truncated": prediction.truncated}
        if safety.stops_session:
            return {**base, "emotions": emotions, "safety": safety.to_dict()}
        return self._compose(base, emotions, safety.to_dict(), base["goal"], minutes, state["lang"], exclude, user,
                             seed)

    def from_emotions(self, probabilities: dict[str, float], goal: str = "sleep", minutes: float | None = None,
                      lang: str = "en", exclude: set[str] | frozenset = frozenset(), user: str | None = None,
                      seed: int | None = None) -> dict:
        """The session for known emotion probabilities (no text: no detection, no screen)."""
        check_seed(seed)
        if goal not in self.planner.goals:
            raise SessionInputError(f"unknown goal {goal!r}; goals: {', '.join(self.planner.goals)}",
                                    "unknown_goal", "goal")
        base = {"session_id": uuid.uuid4().hex, "goal": goal, "language": None, "versions": self.versions(),
                "stages": [], "emotions": None, "notice": None}
        emotions = {"probabilities": probabilities, "labels": [], "truncated": False}
        return self._compose(base, emotions, {"level": "none", "reasons": [], "resources": [], "message": ""},
                             goal, minutes, lang, exclude, user, seed)

    def _compose(self, base: dict, emotions: dict, safety: dict, goal: str, minutes: float | None, lang: str,
                 exclude, user: str | None = None, seed: int | None = None) -> dict:
        from emoheal.kg.planner import PlanInputError
        from emoheal.retrieval.retrieve import retrieve_sequence
        from emoheal.session.narrative import family_of, narratives, sequence_sentence, sounds_sentence

        try:
            plan = self.planner.plan(emotions["probabilities"], goal, minutes)
        except PlanInputError as exc:
            field = "minutes" if str(exc).startswith("minutes") else None
            raise SessionInputError(str(exc), "invalid_plan", field) from None
        plan_dict = plan.to_dict()
        personal = self._personalisation(user, set(exclude))
        retrieved = retrieve_sequence(plan_dict, self.index, self.sequence, goal=self.planner.goals[goal],
                                      exclude=personal["exclude"], seed=seed, text_encoder=self.text_encoder,
                                      preferences=personal["preferences"])
        family = family_of(plan_dict, self.family)
        told_by_stage = {planned["name"]: sequence_sentence(found.get("sequence"), lang)
                         for planned, found in zip(plan_dict["stages"], retrieved["stages"])}
        story = narratives(plan_dict, family, lang, measured=frozenset(k for k, v in told_by_stage.items() if v))
        stages = []
        for planned, found in zip(plan_dict["stages"], retrieved["stages"]):
            told = told_by_stage[planned["name"]]
            sounds = sounds_sentence(found.get("tracks") or ([found["item"]] if found.get("item") else []), lang)
            said = " ".join(x for x in (told, sounds) if x) if lang == "en" else "".join(x for x in (told, sounds) if x)
            stages.append({
                "name": planned["name"], "minutes": planned["minutes"], "start_minute": planned["start_minute"],
                "valence": planned["valence"], "arousal": planned["arousal"], "targets": planned["targets"],
                "prompt": planned["prompt"],
                "narrative": story[planned["name"]] + ("" if not said else (" " if lang == "en" else "") + said),
                "status": found["status"], "reason": found.get("reason"),
                "item": found["item"], "tracks": found.get("tracks", []), "sequence": found.get("sequence"),
                "score": found.get("score"), "alternatives": found.get("alternatives", []),
                "explanation": {"plan": planned["explanation"], "constraints": found.get("constraints", []),
                                "continuity": found.get("continuity"), "sequence": told, "sounds": sounds},
            })
        log.info("session %s: goal %s, %d stages, backend %s", base["session_id"], goal, len(stages),
                 retrieved["backend"])
        result = {**base, "emotions": emotions, "safety": safety, "family": family,
                  "prelude": story["prelude"], "epilogue": story["epilogue"], "stages": stages,
                  "retrieval": {"backend": retrieved["backend"], "status": retrieved["status"]},
                  "timeline": {**retrieved["timeline"], "path": plan_dict["path"]},
                  "explanation": plan_dict["stages"][0]["explanation"]["summary"],
                  "personalisation": personal["summary"], "user": user}
        if self.store is not None:
            self.store.record_session(result, user)
        return result

    def preferences_of(self, profile: str) -> dict:
        """What a profile's ratings taught (the leanings a session is nudged by); {} without a store."""
        if self.store is None:
            return {}
        from emoheal.retrieval.retrieve import preference_scales

        return self.store.preferences(profile, preference_scales(self.index.items))

    def _personalisation(self, user: str | None, exclude: set[str]) -> dict:
        """Recently heard items to leave out and learned preferences, with a sentence saying so."""
        if self.store is None or user is None:
            return {"exclude": exclude, "preferences": None, "summary": None}
        from emoheal.retrieval.retrieve import preference_scales

        recent = self.store.recent_items(user)
        prefs = self.store.preferences(user, preference_scales(self.index.items))
        words = {"tempo_bpm": ("faster", "slower"), "mode_major": ("more major", "more minor"),
                 "density_onsets_per_s": ("busier", "sparser")}
        leanings = [f"{words[p][0] if v > 0 else words[p][1]} ({v:+.2f})" for p, v in prefs.items()
                    if p in words and abs(v) >= 0.1]
        parts = []
        if leanings:
            parts.append(f"your {prefs['ratings']} earlier ratings lean toward " + ", ".join(leanings))
        if recent:
            parts.append(f"{len(recent)} recently heard item(s) are left out")
        summary = ("Personalised: " + "; ".join(parts) + ".") if parts else None
        return {"exclude": exclude | recent, "preferences": prefs if prefs.get("ratings") else None,
                "summary": summary}
