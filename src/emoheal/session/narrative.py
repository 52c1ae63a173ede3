"""Supportive narratives from curated templates (data/narratives/templates.csv, reviewed like
code), filled from the actual plan: what the music will do and why. Warm, plain, no clinical
claims; a breathing prelude and epilogue around the three stages."""

from __future__ import annotations

import csv
from collections import Counter
from functools import lru_cache

from emoheal.corpus.timbres import split_timbres
from emoheal.kg.prompt import loudness_words, mode_words, tempo_words
from emoheal.utils.resources import data_dir

FAMILIES = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
PARTS = ("prelude", "match", "guide", "target", "epilogue", "sequence", "sounds")
# `sound` rows name a timbre tag in words (family = the tag); a tag without a row is never named
SOUND = "sound"
TEMPO_MOVES = ("eases", "lifts", "holds")  # what a stage's sequence does to the felt tempo
# the guide names the plan's tempi ("any") unless its tracks' measured tempi follow it ("measured"):
# one paragraph never gives two tempo ranges
GUIDE_KINDS = ("any", "measured")
LANGUAGES = ("en", "zh")
_ZH = {"very slow": "非常缓慢", "slow": "缓慢", "moderate": "中速", "lively": "轻快", "fast": "快速",
       "very fast": "非常快", "major key": "大调", "minor key": "小调", "between major and minor": "介于大调和小调之间",
       "very soft": "非常轻柔", "soft": "轻柔", "gentle": "柔和", "strong": "有力", "loud": "响亮"}
_GOAL = {"en": {"sleep": "into sleep", "calm": "into the rest of your evening", "uplift": "into the rest of your day"},
         "zh": {"sleep": "安然入睡", "calm": "度过今晚余下的时光", "uplift": "迎接今天余下的时光"}}


class NarrativeError(ValueError):
    """The templates are incomplete, or a language is not available."""


@lru_cache(maxsize=4)
def load_templates(path: str | None = None) -> dict[tuple[str, str, str], str]:
    path = path or str(data_dir("narratives", "templates.csv"))
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    templates = {(r["lang"], r["part"], r["family"]): r["template"] for r in rows}
    for lang in {r["lang"] for r in rows}:
        for part in PARTS:
            families = FAMILIES if part == "match" else TEMPO_MOVES if part == "sequence" else \
                GUIDE_KINDS if part == "guide" else ("any",)
            for family in families:
                if (lang, part, family) not in templates:
                    raise NarrativeError(f"{path}: no {part} template for {family} in {lang}")
    tags = {(r["lang"], r["family"]) for r in rows if r["part"] == SOUND}
    for lang in {r["lang"] for r in rows}:  # each language names the same timbres
        missing = {tag for _, tag in tags} - {tag for lg, tag in tags if lg == lang}
        if missing:
            raise NarrativeError(f"{path}: no {SOUND} words for {', '.join(sorted(missing))} in {lang}")
    return templates


_EN = {"major key": "in a major key", "minor key": "in a minor key"}


def _words(phrase: str, lang: str) -> str:
    return _ZH.get(phrase, phrase) if lang == "zh" else _EN.get(phrase, phrase)


def family_of(plan: dict, family_by_label: dict[str, str]) -> str:
    """The family of the strongest non-neutral emotion in the match blend (neutral if none is clear)."""
    for e in plan["stages"][0]["explanation"]["emotions"]:
        if e["label"] != "neutral" and e["share"] >= 0.2:
            return family_by_label[e["label"]]
    return "neutral"


def narratives(plan: dict, family: str, lang: str = "en", path: str | None = None,
               measured: frozenset[str] = frozenset()) -> dict[str, str]:
    """Each part's words; `measured` names the stages whose tracks' felt tempi a sequence sentence
    reports, so their narrative leaves the tempo to it."""
    if lang not in LANGUAGES:
        raise NarrativeError(f"no narratives in {lang!r}; available: {', '.join(LANGUAGES)}")
    t = load_templates(path)
    match, guide, target = plan["stages"]
    m, g, tg = match["targets"], guide["targets"], target["targets"]
    sep = "，" if lang == "zh" else ", "
    brighter = g["mode_major"] > m["mode_major"] + 0.15
    guide_kind = "measured" if "guide" in measured else "any"
    mode_change = ("更明亮" if brighter else "更柔和") if lang == "zh" else ("brighter" if brighter else "softer")
    target_words = sep.join([_words(tempo_words(tg["tempo_bpm"]), lang),
                             _words(loudness_words(tg["loudness_lufs"]), lang),
                             _words(mode_words(tg["mode_major"]), lang)])
    return {
        "prelude": t[(lang, "prelude", "any")],
        "match": t[(lang, "match", family)].format(
            tempo_words=_words(tempo_words(m["tempo_bpm"]), lang),
            mode_words=_words(mode_words(m["mode_major"]), lang), minutes=round(match["minutes"])),
        "guide": t[(lang, "guide", guide_kind)].format(minutes=round(guide["minutes"]),
                                                        from_tempo=round(m["tempo_bpm"]),
                                                        to_tempo=round(g["tempo_bpm"]), mode_change=mode_change),
        "target": t[(lang, "target", "any")].format(target_words=target_words, minutes=round(target["minutes"])),
        "epilogue": t[(lang, "epilogue", "any")].format(goal_phrase=_GOAL[lang].get(plan["goal"], "")),
    }


def sequence_sentence(summary: dict | None, lang: str = "en", path: str | None = None,
                      steady_share: float = 0.08) -> str | None:
    """What a stage's chosen tracks actually do, from their measured (felt) tempi: "over 10
    minutes the tempo eases from about 92 to 64 beats per minute across 14 pieces"."""
    if not summary or not summary.get("felt_tempo_bpm") or summary.get("tracks", 0) < 1:
        return None
    first, last = summary["felt_tempo_bpm"]
    move = "holds" if abs(last - first) < steady_share * first or summary["tracks"] < 2 else \
        ("eases" if last < first else "lifts")
    return load_templates(path)[(lang, "sequence", move)].format(
        minutes=max(round(summary["minutes"]), 1), from_tempo=round(first), to_tempo=round(last),
        tracks=summary["tracks"], pieces="one piece" if summary["tracks"] == 1 else f"{summary['tracks']} pieces")


def sounds_sentence(tracks: list[dict], lang: str = "en", path: str | None = None, most: int = 3) -> str | None:
    """What a stage's tracks are played on, the longest-heard first: "You will hear strings, a warm
    synth pad and harp." None when no track names a timbre the templates have words for (the
    person's own media, an index built before timbres)."""
    templates = load_templates(path)
    heard: Counter[str] = Counter()
    for track in tracks:
        for tag in split_timbres(track.get("timbre")):
            if (lang, SOUND, tag) in templates:
                heard[tag] += float(track.get("duration_s") or 0.0)
    words = [templates[(lang, SOUND, tag)] for tag, _ in sorted(heard.items(), key=lambda kv: (-kv[1], kv[0]))[:most]]
    if not words:
        return None
    listed = words[0] if len(words) == 1 else \
        ("、".join(words[:-1]) + "和" + words[-1] if lang == "zh" else ", ".join(words[:-1]) + " and " + words[-1])
    return templates[(lang, "sounds", "any")].format(sounds=listed)
