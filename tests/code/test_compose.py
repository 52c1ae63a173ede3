"""The rule-based composer: the MIDI it writes has the requested tempo, key, mode and length, its
density and register follow the spec, it ends on the tonic, and the same spec writes the same
bytes. Planning pieces from the real compiled graph never uses a timbre a stage avoids."""

from __future__ import annotations

import pretty_midi
import pytest

from emoheal.corpus.compose import MAJOR, MINOR, ComposeError, ComposeSpec, chord_pitch_classes, compose
from emoheal.corpus.composed import ComposeSettings, intended_quadrant, pick_timbres, plan_specs
from emoheal.corpus.timbres import kg_timbre_tags, read_programs
from tests.helpers import ROOT


def spec(**overrides) -> ComposeSpec:
    base = dict(tempo_bpm=56.0, mode="major", tonic=2, register_midi=55.0, density_per_s=1.0, loudness_lufs=-30.0,
                harmony_program=89, line_program=0, timbres=("ambient_pad", "piano"), seconds=60.0, seed=7)
    return ComposeSpec(**{**base, **overrides})


def written(tmp_path, s: ComposeSpec) -> tuple[pretty_midi.PrettyMIDI, object]:
    piece = compose(s)
    path = piece.write_midi(tmp_path / "piece.mid")
    return pretty_midi.PrettyMIDI(str(path)), piece


@pytest.mark.parametrize("mode,tonic,scale", [("major", 2, MAJOR), ("minor", 9, MINOR)])
def test_the_midi_has_the_requested_tempo_key_and_length(tmp_path, mode, tonic, scale):
    midi, piece = written(tmp_path, spec(mode=mode, tonic=tonic, seconds=90.0))
    times, tempi = midi.get_tempo_changes()
    assert list(tempi) == [pytest.approx(56.0)]
    assert midi.get_end_time() == pytest.approx(piece.seconds, abs=0.01)
    assert abs(piece.seconds - 90.0) <= 4 * piece.bar_s  # whole 4-bar phrases nearest the request
    pitch_classes = {n.pitch % 12 for inst in midi.instruments for n in inst.notes}
    allowed = {(tonic + d) % 12 for d in scale} | ({(tonic + 11) % 12} if mode == "minor" else set())
    assert pitch_classes <= allowed  # in the key (the minor's dominant raises the 7th)
    final_bass = min((n for n in midi.instruments[0].notes if n.end >= piece.seconds - 0.01), key=lambda n: n.pitch)
    assert final_bass.pitch % 12 == tonic  # it closes on the tonic
    assert piece.progression[-1] == 0
    assert [i.program for i in midi.instruments] == [89, 0]


def test_density_register_and_loudness_follow_the_spec(tmp_path):
    sparse, dense = compose(spec(density_per_s=0.9)), compose(spec(density_per_s=3.0))
    assert len(sparse.onsets()) / sparse.seconds == pytest.approx(0.9, rel=0.3)
    assert len(dense.onsets()) / dense.seconds == pytest.approx(3.0, rel=0.3)
    low, high = compose(spec(register_midi=48.0)), compose(spec(register_midi=66.0))
    mean = lambda p: sum(n[0] for n in (*p.harmony, *p.line)) / len((*p.harmony, *p.line))  # noqa: E731
    assert mean(high) - mean(low) == pytest.approx(18, abs=4)
    soft, loud = compose(spec(loudness_lufs=-34.0)), compose(spec(loudness_lufs=-22.0))
    assert max(n[3] for n in soft.line) < min(n[3] for n in loud.line[:8])
    end = soft.line[-1]
    assert end[3] < soft.line[len(soft.line) // 2][3]  # the decrescendo of the ending


def test_the_same_spec_writes_the_same_bytes(tmp_path):
    a = compose(spec()).write_midi(tmp_path / "a.mid").read_bytes()
    b = compose(spec()).write_midi(tmp_path / "b.mid").read_bytes()
    c = compose(spec(seed=8)).write_midi(tmp_path / "c.mid").read_bytes()
    assert a == b and a != c


def test_arpeggio_lines_use_chord_tones():
    piece = compose(spec(line="arpeggio", density_per_s=2.0))
    by_bar = {}
    for pitch, start, _, _ in piece.line:
        by_bar.setdefault(int(start / piece.bar_s + 1e-6), set()).add(pitch % 12)
    for bar, pcs in by_bar.items():
        assert pcs <= set(chord_pitch_classes(piece.spec, piece.progression[bar]))


@pytest.mark.parametrize("bad,message", [
    ({"mode": "lydian"}, "major or minor"), ({"tempo_bpm": 10.0}, "outside"), ({"seconds": 5.0}, "shorter"),
    ({"line": "drone"}, "melody or arpeggio")])
def test_impossible_specs_are_clear_errors(bad, message):
    with pytest.raises(ComposeError, match=message):
        spec(**bad)


def test_planned_pieces_follow_the_graph_and_never_use_an_avoided_timbre(planner):
    table = read_programs(ROOT / "data/corpus/gm_programs.csv", kg_timbre_tags(ROOT / "data/kg"))
    settings = ComposeSettings(pieces=12)
    specs = plan_specs(planner, planner.graph, table, settings, seed=3)
    assert specs == plan_specs(planner, planner.graph, table, settings, seed=3)  # seeded
    assert {(s.intent["goal"], s.intent["stage"]) for s in specs} == {
        (g, st) for g in settings.goals for st in settings.stages}
    for s in specs:
        targets = s.intent["targets"]
        assert not set(s.timbres) & set(targets["avoid_timbres"])
        assert set(s.timbres) & set(targets["timbres"])  # the harmony is one of the stage's own timbres
        lo, hi = targets["tempo_range_bpm"]
        assert lo <= s.tempo_bpm <= hi
        assert s.mode == ("major" if targets["mode_major"] >= 0.5 else "minor")
        assert s.intent["quadrant"] == intended_quadrant(s.intent["valence"], s.intent["arousal"], 0.3)
    calm = [s for s in specs if s.intent["goal"] == "sleep" and s.intent["stage"] == "target"]
    assert calm and all(s.intent["quadrant"] == 4 for s in calm)


def test_a_piece_is_composed_for_a_quadrant_only_when_its_stage_lies_clearly_in_one():
    assert intended_quadrant(0.2, -0.6, 0.3) == 4 and intended_quadrant(0.6, 0.5, 0.3) == 1
    assert intended_quadrant(-0.5, -0.4, 0.3) == 3 and intended_quadrant(-0.5, 0.4, 0.3) == 2
    assert intended_quadrant(0.4, -0.1, 0.3) is None and intended_quadrant(0.05, -0.6, 0.3) is None


def test_timbre_choice_refuses_what_cannot_play():
    table = read_programs(ROOT / "data/corpus/gm_programs.csv", kg_timbre_tags(ROOT / "data/kg"))
    assert pick_timbres(["ambient_pad", "piano"], ["flute"], [], table, 0) == ("ambient_pad", "piano")
    assert pick_timbres(["ambient_pad", "piano"], ["flute"], ["piano"], table, 0) == ("ambient_pad", "flute")
    assert pick_timbres(["ambient_pad", "piano"], ["harp", "flute"], [], table, 1) == ("ambient_pad", "harp")
    with pytest.raises(ComposeError, match="can be rendered"):
        pick_timbres(["percussion", "flute"], [], [], table, 0)
