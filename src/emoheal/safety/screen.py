"""The layered crisis screen: curated patterns, a learned risk classifier and the emotion
detector's distress signals give one level.

- `high`: no music. An acknowledgement, encouragement to reach a person, crisis resources.
- `medium`: the session does not start straight away: the answer carries a check-in question
  ("are you thinking about harming yourself right now?"). "yes" leads to the crisis answer;
  "no" lets the session run, with the resources kept in view.
- `low`: the session runs, with a gentle pointer to support.
- `none`: nothing seen.

How the layers combine (the classifier has two heads: `risk`, any risk of suicide or self-harm, and
`severe`, intent, a plan, preparatory acts or an attempt — C-SSRS items 4-6):
1. risk score p: p >= `check_in` -> medium, p >= `low` -> low;
2. severity s: s >= `severe` while p >= `check_in` -> high;
3. patterns: a `high` pattern -> high when p >= `confirm`, else medium (the classifier reads the
   whole text as fiction, recovery or someone else's: asking is better than ignoring a matched
   phrase); a `medium` pattern -> medium when p >= `low`, else low;
4. the detector: distress (sadness, grief, remorse, fear, nervousness, disappointment summed)
   >= `distress`, or intense grief or sadness (>= `intense`), lifts none -> low: a gentle pointer to
   support beside the music. Why not a check-in: in a development run on grouped cross-validation,
   lifting low -> medium with distress asked 10 % more of the ordinary sad texts for 0.1 % more recall.
The level is the highest of these. The thresholds were chosen on grouped cross-validation for
recall first (src/emoheal/safety/build.py) and travel with the model (classifier.json).

Only counters are logged, never text; a result's reasons are pattern ids and scores.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from emoheal.safety.patterns import Rules, load_rules
from emoheal.utils.resources import data_dir

log = logging.getLogger(__name__)
LEVELS = ("none", "low", "medium", "high")
ANSWERS = ("yes", "no")
COUNTS: Counter = Counter()  # how many texts reached each level, per process: the only thing logged
DISTRESS = ("sadness", "grief", "remorse", "fear", "nervousness", "disappointment")


class CheckInError(ValueError):
    """A check-in answer that is neither `yes` nor `no`."""


@dataclass(frozen=True)
class Thresholds:
    severe: float     # severity score for high (1.0: never from the classifier alone)
    confirm: float    # risk score at which a high pattern keeps its level
    check_in: float
    low: float
    distress: float = 0.6
    intense: float = 0.9

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> Thresholds:
        t = cls(**{k: float(values[k]) for k in cls.__dataclass_fields__ if k in values})
        if not (0.0 <= t.low <= t.check_in <= 1.0 and 0.0 <= t.severe <= 1.0 and 0.0 <= t.confirm <= 1.0):
            raise ValueError(f"safety thresholds must satisfy 0 <= low <= check_in <= 1, severe and confirm in "
                             f"[0, 1]: {t}")
        return t


@dataclass(frozen=True)
class Assessment:
    """What the text itself says, before the detector: matched pattern (id, level) pairs and the
    classifier's score. Holds no text, so a server can keep it between two steps."""

    patterns: tuple[tuple[str, str], ...]
    risk: float
    severe: float


def step(level: str, by: int) -> str:
    return LEVELS[max(0, min(len(LEVELS) - 1, LEVELS.index(level) + by))]


def combine(assessment: Assessment, thresholds: Thresholds,
            emotions: dict[str, float] | None = None) -> tuple[str, list[str]]:
    """(level, reasons) by the rules in this module's docstring."""
    t, p, s = thresholds, assessment.risk, assessment.severe
    reasons = [f"classifier: risk {p:.2f}, severity {s:.2f}"]
    level = "medium" if p >= t.check_in else "low" if p >= t.low else "none"
    if s >= t.severe and p >= t.check_in:
        level = "high"
    for pattern_id, floor in assessment.patterns:
        confirmed = p >= (t.confirm if floor == "high" else t.low)
        if not confirmed:
            floor = step(floor, -1)
        reasons.append(f"pattern {pattern_id}" + ("" if confirmed else f" (read as not risk in context: {floor})"))
        level = max(level, floor, key=LEVELS.index)
    if emotions and level == "none":
        distress = sum(emotions.get(k, 0.0) for k in DISTRESS)
        if distress >= t.distress:
            level = "low"
            reasons.append(f"detector: distress {distress:.2f} >= {t.distress:g}")
        elif max(emotions.get("grief", 0.0), emotions.get("sadness", 0.0)) >= t.intense:
            level = "low"
            reasons.append("detector: intense grief or sadness")
    return level, reasons


@dataclass
class SafetyResult:
    level: str
    reasons: list[str] = field(default_factory=list)  # pattern ids and scores, never the text
    resources: list[dict] = field(default_factory=list)
    message: str = ""
    check_in: dict[str, Any] | None = None  # question, answers, the answer given (None: not yet)
    risk_score: float | None = None
    severity_score: float | None = None

    @property
    def stops_session(self) -> bool:
        """No music: high risk, or a check-in that has not been answered yet."""
        return self.level == "high" or (self.check_in is not None and self.check_in["answer"] is None)

    def to_dict(self) -> dict:
        return {"level": self.level, "reasons": self.reasons, "resources": self.resources, "message": self.message,
                "check_in": self.check_in, "risk_score": self.risk_score, "severity_score": self.severity_score}

    def summary_line(self) -> str:
        """`emoheal safety screen` in a terminal: level, scores and the reasons after the first
        (the first is the classifier's two scores, already shown as risk and severity)."""
        return (f"{self.level:<6}  risk {self.risk_score:.2f}  severity {self.severity_score:.2f}  "
                f"{'; '.join(self.reasons[1:]) or '-'}")


@lru_cache(maxsize=4)
def load_messages(folder: str | None = None) -> dict[tuple[str, str], str]:
    path = Path(folder or data_dir("safety")) / "messages.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the safety screen cannot run without its reviewed messages")
    with open(path, encoding="utf-8", newline="") as handle:
        return {(r["key"], r["lang"]): r["text"] for r in csv.DictReader(handle)}


class CrisisScreen:
    """Patterns + the risk classifier at `model_dir` + the rules above. Loading fails with a clear
    message when the model is missing: the screen never runs on patterns alone by accident."""

    def __init__(self, model_dir: str | Path, rules_folder: str | None = None, threads: int = 1):
        """`threads`: ONNX Runtime threads for the encoder; one is fastest for the one or two short texts
        a request brings (measured: 1.8 ms vs 2.6 ms with two) and leaves the other core to the detector."""
        from emoheal.safety.classifier import RiskClassifier

        self.rules: Rules = load_rules(rules_folder)
        self.messages = load_messages(rules_folder)
        self.classifier = RiskClassifier.load(model_dir, threads)
        self.thresholds = Thresholds.from_dict(self.classifier.thresholds)

    @property
    def version(self) -> str:
        return self.classifier.version

    def assess_many(self, texts: list[str]) -> list[Assessment]:
        scores = self.classifier.score(texts)
        return [Assessment(tuple((p.id, p.level) for p in self.rules.match(text)), float(s[0]), float(s[1]))
                for text, s in zip(texts, scores)]

    def assess(self, text: str) -> Assessment:
        return self.assess_many([text])[0]

    def decide(self, assessment: Assessment, emotions: dict[str, float] | None = None, locale: str = "US",
               check_in: str | None = None, lang: str = "en") -> SafetyResult:
        """The level for an assessed text, the detector's probabilities when known, and the person's
        answer to the check-in question when they have given one."""
        if check_in is not None and check_in not in ANSWERS:
            raise CheckInError(f"check_in must be 'yes' or 'no', not {check_in!r}")
        level, reasons = combine(assessment, self.thresholds, emotions)
        if check_in == "yes":  # the person said they are thinking about harming themselves: always the crisis answer
            level, reasons = "high", reasons + ["check-in: yes"]
        COUNTS[level] += 1
        log.debug("safety screen: %s", dict(COUNTS))  # counts only, never text
        result = SafetyResult(level, reasons, risk_score=round(assessment.risk, 4),
                              severity_score=round(assessment.severe, 4))
        if level == "none":
            return result
        result.resources = self.rules.resources_for(locale)
        if level == "high":
            result.message = self._text("crisis", lang)
        elif level == "medium":
            result.check_in = self.question(lang, check_in)
            result.message = self._text("check_in_note", lang) if check_in == "no" else result.check_in["question"]
        else:
            result.message = self._text("low_note", lang)
        return result

    def screen(self, text: str, emotions: dict[str, float] | None = None, locale: str = "US",
               check_in: str | None = None, lang: str = "en") -> SafetyResult:
        return self.decide(self.assess(text), emotions, locale, check_in, lang)

    def question(self, lang: str = "en", answer: str | None = None) -> dict[str, Any]:
        return {"question": self._text("check_in_question", lang),
                "answers": [{"value": v, "label": self._text(f"answer_{v}", lang)} for v in ANSWERS],
                "answer": answer}

    def _text(self, key: str, lang: str) -> str:
        return self.messages.get((key, lang)) or self.messages[(key, "en")]
