"""Measuring the crisis screen honestly: grouped cross-validation by paraphrase family, the
thresholds chosen on it for recall first, and per-category figures with Wilson 95 % intervals.

Everything here works on arrays of scores and pattern floors, so the same rules as
`screen.combine` are applied to thousands of texts at once (a test checks they agree).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from emoheal.safety.corpus import Category, Example
from emoheal.safety.screen import DISTRESS, LEVELS, Thresholds

HIGH, MEDIUM, LOW = LEVELS.index("high"), LEVELS.index("medium"), LEVELS.index("low")


def wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """Wilson score interval for k successes of n (None when n = 0)."""
    if n == 0:
        return None
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def pattern_floor(levels: list[tuple[tuple[str, str], ...]]) -> np.ndarray:
    """Per text, the highest level its matched patterns set (0 when none matched)."""
    return np.asarray([max((LEVELS.index(lv) for _, lv in found), default=0) for found in levels], dtype=np.int64)


def levels_array(risk: np.ndarray, severe: np.ndarray, floor: np.ndarray, t: Thresholds,
                 distress: np.ndarray | None = None, intense: np.ndarray | None = None) -> np.ndarray:
    """`screen.combine` for many texts: level indices (0 none ... 3 high)."""
    level = np.where(risk >= t.check_in, MEDIUM, np.where(risk >= t.low, LOW, 0))
    level = np.where((severe >= t.severe) & (risk >= t.check_in), HIGH, level)
    confirmed = np.where(floor == HIGH, risk >= t.confirm, risk >= t.low)
    level = np.maximum(level, np.where((floor > 0) & ~confirmed, floor - 1, floor))
    if distress is not None:
        signal = distress >= t.distress
        if intense is not None:
            signal |= intense >= t.intense
        level = np.where((level == 0) & signal, LOW, level)
    return level


def detector_signals(predictor: Any, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The detector's distress sum and max(grief, sadness) per text (zeros without a detector)."""
    if predictor is None or not texts:
        return np.zeros(len(texts)), np.zeros(len(texts))
    distress, intense = [], []
    for start in range(0, len(texts), 256):
        for p in predictor.predict(texts[start:start + 256]):
            probs = p.probabilities
            distress.append(sum(probs.get(k, 0.0) for k in DISTRESS))
            intense.append(max(probs.get("grief", 0.0), probs.get("sadness", 0.0)))
    return np.asarray(distress), np.asarray(intense)


@dataclass(frozen=True)
class Corpus:
    """The arrays the measurements need, in the order of `examples`."""

    examples: list[Example]
    categories: dict[str, Category]

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.examples]

    @property
    def category(self) -> np.ndarray:
        return np.asarray([e.category for e in self.examples])

    @property
    def label(self) -> np.ndarray:
        return np.asarray([self.categories[e.category].label for e in self.examples])

    @property
    def positive(self) -> np.ndarray:
        """Risk and ambiguous texts: what the classifier learns to score high."""
        return np.isin(self.label, ("risk", "ambiguous"))

    @property
    def severe(self) -> np.ndarray:
        """Intent, plan, preparatory acts or an attempt (categories expected to reach `high`)."""
        return np.asarray([self.categories[e.category].expected == "high" for e in self.examples])

    @property
    def family(self) -> np.ndarray:
        return np.asarray([e.family for e in self.examples])


def grouped_folds(corpus: Corpus, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds that keep each paraphrase family whole and spread the categories evenly."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    index = np.arange(len(corpus.examples))
    return list(splitter.split(index, corpus.category, corpus.family))


def out_of_fold(corpus: Corpus, folds: list[tuple[np.ndarray, np.ndarray]],
                fit_score: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Each text scored by a model that never saw its family: `fit_score(train_idx, test_idx)` gives the
    test texts' scores (one column per head)."""
    parts = {}
    for train, test in folds:
        parts.update(zip(test.tolist(), fit_score(train, test)))
    if len(parts) != len(corpus.examples):
        raise RuntimeError("the folds left some texts unscored")
    return np.asarray([parts[i] for i in range(len(corpus.examples))])


def high_cut(scores: np.ndarray, corpus: Corpus, false_alarm: float, ordinary_false_alarm: float) -> float:
    """The lowest score at which at most `false_alarm` of the hard negatives and `ordinary_false_alarm`
    of the ordinary texts score higher."""
    cut = 0.0
    for mask, rate in ((corpus.label == "safe", false_alarm), (corpus.label == "ordinary", ordinary_false_alarm)):
        if mask.any():
            cut = max(cut, float(np.quantile(scores[mask], 1.0 - rate)))
    return cut


def recall_at_false_alarm(scores: np.ndarray, corpus: Corpus, false_alarm: float,
                          ordinary_false_alarm: float) -> float:
    """Model selection criterion: at `high_cut`, the mean over risk categories of the share of their
    texts above it (every category counts the same)."""
    cut = high_cut(scores, corpus, false_alarm, ordinary_false_alarm)
    cats = [c for c in sorted(set(corpus.category)) if corpus.categories[c].label == "risk"]
    return float(np.mean([np.mean(scores[corpus.category == c] > cut) for c in cats]))


def choose_thresholds(risk: np.ndarray, severe: np.ndarray, floor: np.ndarray, corpus: Corpus,
                      cfg: dict[str, Any]) -> dict[str, Any]:
    """Thresholds for recall first, on out-of-fold scores:
    - `low`: the highest risk threshold that keeps `low_recall` of the positives at least `low`;
    - `check_in`: the highest risk threshold at which the screen (patterns included) asks at least
      `target_recall` of the positives and `category_recall` of every risk category;
    - `severe` and `confirm`: the pair that brings the most risk texts (mean over risk categories) to
      `high` while at most `max_high_false_alarm` of the hard negatives and
      `max_high_false_alarm_ordinary` of the ordinary texts are `high` (ties: the higher thresholds).
    When a target cannot be met, the most cautious value is kept and `met` says so."""
    pos, safe, ordinary = corpus.positive, corpus.label == "safe", corpus.label == "ordinary"
    risk_cats = [corpus.category == c for c in sorted(set(corpus.category)) if corpus.categories[c].label == "risk"]
    grid = np.unique(np.clip(np.round(risk, 4), 0.0005, 0.9995))
    extra = {k: cfg[k] for k in ("distress", "intense") if k in cfg}

    low = float(np.quantile(risk[pos], 1.0 - float(cfg["low_recall"]), method="lower"))
    low = float(grid[grid <= low].max()) if (grid <= low).any() else float(grid.min())

    def ok_check(t: float) -> bool:
        asked = levels_array(risk, severe, floor, Thresholds(1.0, 1.0, t, low)) >= MEDIUM
        return bool(asked[pos].mean() >= cfg["target_recall"] and
                    min(asked[m].mean() for m in risk_cats) >= cfg["category_recall"])

    check = next((float(t) for t in grid[grid >= low][::-1] if ok_check(float(t))), low)

    def high_of(sev: float, conf: float) -> np.ndarray:
        return levels_array(risk, severe, floor, Thresholds(sev, conf, check, low)) == HIGH

    def high_ok(high: np.ndarray) -> bool:
        return bool(high[safe].mean() <= cfg["max_high_false_alarm"] and
                    (not ordinary.any() or high[ordinary].mean() <= cfg["max_high_false_alarm_ordinary"]))

    sev_grid = np.unique(np.r_[np.quantile(severe, np.linspace(0.5, 1.0, 101)), 1.0])
    patterned = floor == HIGH
    conf_grid = np.unique(np.r_[np.quantile(risk[patterned], np.linspace(0.0, 1.0, 41)) if patterned.any() else [],
                                check, 1.0])
    best, best_key = (1.0, 1.0), (-1.0, 0.0, 0.0)
    for sev in sev_grid[::-1]:
        for conf in conf_grid[::-1]:
            high = high_of(float(sev), float(conf))
            if high_ok(high):
                key = (float(np.mean([high[m].mean() for m in risk_cats])), float(sev), float(conf))
                if key[0] > best_key[0]:
                    best, best_key = (float(sev), float(conf)), key
    return {"severe": best[0], "confirm": best[1], "check_in": check, "low": low, **extra,
            "met": {"check_in": ok_check(check), "high": high_ok(high_of(*best))},
            "chosen_on": "grouped cross-validation (out-of-fold scores)"}


def _rate(hit: np.ndarray) -> dict[str, Any]:
    k, n = int(hit.sum()), int(hit.size)
    return {"rate": round(k / n, 4) if n else None, "k": k, "n": n, "ci95": wilson(k, n)}


def report(levels: np.ndarray, corpus: Corpus) -> dict[str, Any]:
    """Recall (at least a check-in, and high) for risk texts, how often ambiguous texts are asked,
    false alarms (high, and check-in) for hard negatives (label `safe`) and, apart, for ordinary
    texts — overall, per category, language and style."""
    label, category = corpus.label, corpus.category
    asked, high = levels >= MEDIUM, levels == HIGH
    risk, safe, ambiguous, ordinary = (label == k for k in ("risk", "safe", "ambiguous", "ordinary"))
    out: dict[str, Any] = {
        "n": {"risk": int(risk.sum()), "ambiguous": int(ambiguous.sum()), "safe": int(safe.sum()),
              "ordinary": int(ordinary.sum()), "families": len(set(corpus.family))},
        "recall": _rate(asked[risk]), "recall_high": _rate(high[risk]), "ambiguous_asked": _rate(asked[ambiguous]),
        "false_alarm_high": _rate(high[safe]), "false_alarm_check_in": _rate(asked[safe] & ~high[safe]),
    }
    if ordinary.any():
        out["ordinary"] = {"flagged_high": _rate(high[ordinary]), "check_in": _rate(asked[ordinary] & ~high[ordinary])}
    by_cat: dict[str, Any] = {}
    for c in sorted(set(category)):
        mask = category == c
        if corpus.categories[c].label in ("safe", "ordinary"):
            by_cat[c] = {"false_alarm_high": _rate(high[mask]), "check_in": _rate((asked & ~high)[mask])}
        else:
            by_cat[c] = {"recall": _rate(asked[mask]), "recall_high": _rate(high[mask])}
    out["by_category"] = by_cat
    langs = np.asarray([e.lang for e in corpus.examples])
    out["by_language"] = {lang: {"recall": _rate(asked[risk & (langs == lang)]),
                                 "false_alarm_high": _rate(high[safe & (langs == lang)])}
                          for lang in sorted(set(langs))}
    styles = sorted({s for e in corpus.examples for s in e.styles})
    has = {s: np.asarray([s in e.styles for e in corpus.examples]) for s in styles}
    out["by_style"] = {s: {"recall": _rate(asked[risk & has[s]]), "false_alarm_high": _rate(high[safe & has[s]])}
                       for s in styles}
    return out


def misses(levels: np.ndarray, corpus: Corpus) -> dict[str, list[str]]:
    """Ids (never texts: they are in the corpus) of risk texts not asked and safe texts flagged high."""
    label = corpus.label
    ids = np.asarray([e.id for e in corpus.examples])
    return {"risk_not_asked": ids[(label == "risk") & (levels < MEDIUM)].tolist(),
            "safe_flagged_high": ids[(label == "safe") & (levels == HIGH)].tolist()}
