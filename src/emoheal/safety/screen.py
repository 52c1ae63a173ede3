"""The crisis screen: curated phrase patterns (data/safety/, reviewed like code) plus the
emotion model's signals, giving a risk level.

Levels: `high` — an explicit mention of suicide, self-harm, wanting to die or an overdose
(or a hopeless statement while the detector sees strong distress): no session, resources.
`medium` — hopelessness or exhaustion ("I can't go on"): the session may run, with the
resources shown. `low` — no pattern, but the detector sees intense grief or sadness: a gentle
pointer to support. `none` — nothing seen.

What it cannot catch (documented in the README): indirect or coded language, sarcasm,
languages without patterns (English and Chinese only), misspellings beyond simple
normalisation, and risk that a single message does not state. It errs toward flagging:
a negated mention ("I would never kill myself") is still flagged.
"""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from emoheal.utils.resources import data_dir

log = logging.getLogger(__name__)
LEVELS = ("none", "low", "medium", "high")
COUNTS: Counter = Counter()  # how many texts reached each level, per process: the only thing logged
DISTRESS = ("sadness", "grief", "remorse", "fear", "nervousness", "disappointment")


@dataclass(frozen=True)
class Pattern:
    id: str
    level: str
    regex: re.Pattern


@dataclass
class SafetyResult:
    level: str
    reasons: list[str] = field(default_factory=list)  # pattern ids and signals, never the text
    resources: list[dict] = field(default_factory=list)
    message: str = ""

    @property
    def stops_session(self) -> bool:
        return self.level == "high"

    def to_dict(self) -> dict:
        return {"level": self.level, "reasons": self.reasons, "resources": self.resources, "message": self.message}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the safety screen cannot run without its reviewed data")
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=4)
def load_rules(folder: str | None = None) -> tuple[list[Pattern], list[Pattern], dict[str, list[dict]]]:
    root = Path(folder) if folder else data_dir("safety")
    risks = [Pattern(r["id"], r["level"], re.compile(r["pattern"])) for r in _read(root / "patterns.csv")]
    for p in risks:
        if p.level not in ("medium", "high"):
            raise ValueError(f"{root / 'patterns.csv'}: pattern {p.id} has level {p.level!r} (medium or high)")
    idioms = [Pattern(r["id"], "idiom", re.compile(r["pattern"])) for r in _read(root / "idioms.csv")]
    resources: dict[str, list[dict]] = {}
    for r in _read(root / "resources.csv"):
        resources.setdefault(r["locale"], []).append({k: r[k] for k in ("name", "contact", "how", "hours", "source")})
    return risks, idioms, resources


def resources_for(locale: str, folder: str | None = None) -> list[dict]:
    """The locale's crisis resources, then the international directory."""
    _, _, resources = load_rules(folder)
    return resources.get(locale.upper(), []) + resources.get("INT", [])


MESSAGE = ("It sounds like you are going through something really painful right now, and I'm glad you said it. "
           "You deserve support from a person, not just music: please reach out to someone you trust, or to one "
           "of the services below. They are free, confidential and there to listen. If you might act on these "
           "thoughts or are in danger, call your local emergency number now.")
MEDIUM_NOTE = ("It sounds heavy right now. The music is here if it helps, and if things feel too much, "
               "talking to someone can help — these services are there to listen.")


def screen(text: str, emotions: dict[str, float] | None = None, locale: str = "US",
           distress_threshold: float = 0.6, folder: str | None = None) -> SafetyResult:
    """Screen one text. `emotions`: the detector's probabilities, when already known."""
    risks, idioms, _ = load_rules(folder)
    clean = normalise(text)
    for idiom in idioms:  # idioms are blanked first, so "this commute is killing me" cannot match
        clean = idiom.regex.sub(" ", clean)
    matched = [p for p in risks if p.regex.search(clean)]
    level = max((p.level for p in matched), key=LEVELS.index, default="none")
    reasons = [p.id for p in matched]
    distress = sum((emotions or {}).get(k, 0.0) for k in DISTRESS)
    if level == "medium" and distress >= distress_threshold:
        level = "high"
        reasons.append(f"detector: distress {distress:.2f} >= {distress_threshold:g}")
    elif level == "none" and emotions and max(emotions.get("grief", 0.0), emotions.get("sadness", 0.0)) >= 0.9:
        level = "low"
        reasons.append("detector: intense grief or sadness")
    COUNTS[level] += 1
    log.info("safety screen: %s", dict(COUNTS))  # counts only, never text
    if level == "high":
        return SafetyResult(level, reasons, resources_for(locale, folder), MESSAGE)
    if level in ("medium", "low"):
        return SafetyResult(level, reasons, resources_for(locale, folder), MEDIUM_NOTE)
    return SafetyResult(level, reasons)
