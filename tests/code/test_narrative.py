"""Narratives: the curated templates are complete, and the sentences built from a stage's tracks
say what the music does and what it is played on."""

from __future__ import annotations

import csv

import pytest

from emoheal.corpus.timbres import read_programs
from emoheal.session.narrative import (
    LANGUAGES,
    NarrativeError,
    load_templates,
    narratives,
    sequence_sentence,
    sounds_sentence,
)
from tests.helpers import ROOT

TEMPLATES = ROOT / "data" / "narratives" / "templates.csv"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_renderable_timbre_has_words_in_every_language(lang):
    templates = load_templates(str(TEMPLATES))
    for tag in read_programs(ROOT / "data" / "corpus" / "gm_programs.csv"):
        assert (lang, "sound", tag) in templates, f"no words for {tag} in {lang}"


def test_sounds_are_named_longest_heard_first():
    tracks = [{"timbre": "harp", "duration_s": 60}, {"timbre": "ambient_pad+strings", "duration_s": 200},
              {"timbre": "strings", "duration_s": 100}, {"timbre": "piano", "duration_s": 30}]
    assert sounds_sentence(tracks) == "You will hear strings, a warm synth pad and harp."  # 3 at most
    assert sounds_sentence(tracks, most=1) == "You will hear strings."
    assert sounds_sentence(tracks, "zh") == "你会听到弦乐、温暖的合成音垫和竖琴。"


def test_no_sound_sentence_without_a_named_timbre():
    assert sounds_sentence([]) is None
    assert sounds_sentence([{"timbre": None, "duration_s": 30}]) is None  # the person's own media
    assert sounds_sentence([{"timbre": "theremin", "duration_s": 30}]) is None  # no words: never invented


def test_sequence_sentence_follows_the_felt_tempo():
    summary = {"tracks": 9, "minutes": 10.2, "felt_tempo_bpm": [92, 64]}
    assert sequence_sentence(summary) == "Over these 10 minutes the tempo eases from about 92 to 64 beats per " \
                                         "minute across 9 pieces."
    assert "lifts" in sequence_sentence({**summary, "felt_tempo_bpm": [64, 92]})
    assert "stays near 90" in sequence_sentence({**summary, "felt_tempo_bpm": [92, 90]})
    assert sequence_sentence(None) is None and sequence_sentence({"tracks": 0, "felt_tempo_bpm": None}) is None


def test_a_language_missing_a_timbre_is_refused(tmp_path):
    rows = list(csv.reader(TEMPLATES.open(encoding="utf-8")))
    kept = [r for r in rows if r[:3] != ["zh", "sound", "harp"]]
    path = tmp_path / "templates.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(kept)
    with pytest.raises(NarrativeError, match="harp in zh"):
        load_templates(str(path))


def _plan() -> dict:
    def stage(name, tempo, mode, minutes):
        return {"name": name, "minutes": minutes,
                "targets": {"tempo_bpm": tempo, "mode_major": mode, "loudness_lufs": -24.0}}
    return {"goal": "sleep", "stages": [stage("match", 109.4, 0.3, 5), stage("guide", 79.2, 0.6, 10),
                                        stage("target", 58.0, 0.7, 5)]}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_guide_gives_one_tempo_range(lang):
    """The planned tempi are told only when no measured sequence sentence follows: a paragraph
    naming 109 -> 79 from the plan and 94 -> 62 from the tracks would contradict itself."""
    planned = narratives(_plan(), "fear", lang)["guide"]
    assert "109" in planned and "79" in planned
    measured = narratives(_plan(), "fear", lang, measured=frozenset({"guide"}))["guide"]
    assert not any(ch.isdigit() for ch in measured)
    assert ("brighter" in measured) if lang == "en" else ("更明亮" in measured)
    # the other stages read the same either way
    both = narratives(_plan(), "fear", lang), narratives(_plan(), "fear", lang, measured=frozenset({"guide"}))
    assert {k: v for k, v in both[0].items() if k != "guide"} == {k: v for k, v in both[1].items() if k != "guide"}


def test_templates_without_a_measured_guide_are_refused(tmp_path):
    rows = list(csv.reader(TEMPLATES.open(encoding="utf-8")))
    path = tmp_path / "templates.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(r for r in rows if r[:3] != ["en", "guide", "measured"])
    with pytest.raises(NarrativeError, match="no guide template for measured in en"):
        load_templates(str(path))
