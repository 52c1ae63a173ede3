"""The pattern layer of the crisis screen: curated, explainable regular expressions
(`data/safety/patterns.csv`, reviewed like code) and the idioms blanked before them
(`idioms.csv`), plus the crisis resources per locale (`resources.csv`).

A pattern says which phrase matched (its id is the reason shown to analysts, never the text).
Patterns are precise, not complete: the learned classifier covers what they cannot list.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from emoheal.utils.resources import data_dir

PATTERN_LEVELS = ("medium", "high")


@dataclass(frozen=True)
class Pattern:
    id: str
    level: str
    regex: re.Pattern


@dataclass(frozen=True)
class Rules:
    risks: tuple[Pattern, ...]
    idioms: tuple[Pattern, ...]
    resources: dict[str, tuple[dict, ...]]

    def match(self, text: str) -> list[Pattern]:
        """The risk patterns found in `text` once its idioms are blanked."""
        clean = normalise(text)
        for idiom in self.idioms:  # "this commute is killing me" cannot match a risk pattern
            clean = idiom.regex.sub(" ", clean)
        return [p for p in self.risks if p.regex.search(clean)]

    def resources_for(self, locale: str) -> list[dict]:
        """The locale's crisis resources, then the international directory."""
        return [dict(r) for r in self.resources.get(locale.upper(), ()) + self.resources.get("INT", ())]


def normalise(text: str) -> str:
    """NFKC, lower case, typographic apostrophes made plain, so one pattern covers them all."""
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the safety screen cannot run without its reviewed data")
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _compile(path: Path, row: dict, level: str) -> Pattern:
    try:
        return Pattern(row["id"], level, re.compile(row["pattern"]))
    except re.error as exc:
        raise ValueError(f"{path}: pattern {row['id']!r} is not a valid regular expression: {exc}") from None


@lru_cache(maxsize=4)
def load_rules(folder: str | None = None) -> Rules:
    root = Path(folder) if folder else data_dir("safety")
    risks = []
    for row in _read(root / "patterns.csv"):
        if row["level"] not in PATTERN_LEVELS:
            raise ValueError(f"{root / 'patterns.csv'}: pattern {row['id']} has level {row['level']!r} "
                             "(medium or high)")
        risks.append(_compile(root / "patterns.csv", row, row["level"]))
    idioms = [_compile(root / "idioms.csv", row, "idiom") for row in _read(root / "idioms.csv")]
    resources: dict[str, list[dict]] = {}
    for r in _read(root / "resources.csv"):
        resources.setdefault(r["locale"].upper(), []).append({k: r[k] for k in ("name", "contact", "how", "hours",
                                                                                   "source")})
    return Rules(tuple(risks), tuple(idioms), {k: tuple(v) for k, v in resources.items()})
