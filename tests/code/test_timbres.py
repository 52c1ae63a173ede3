"""The timbre-to-program table maps exactly the knowledge graph's timbre tags, says which cannot
play a piano score, and refuses malformed rows by file and row; re-programming a MIDI file
changes its instrument and nothing else."""

from __future__ import annotations

from collections import Counter

import mido
import pandas as pd
import pytest

from emoheal.corpus.build import plan_renders
from emoheal.corpus.render import DRUM_CHANNEL, with_program
from emoheal.corpus.timbres import TimbreError, kg_timbre_tags, read_programs, score_programs, split_timbres
from tests.helpers import ROOT

TABLE = ROOT / "data/corpus/gm_programs.csv"


def test_the_table_maps_every_kg_timbre_once():
    tags = kg_timbre_tags(ROOT / "data/kg")
    table = read_programs(TABLE, tags)
    assert set(table) == tags
    assert table["piano"].program == 0 and table["strings"].program == 48  # GM 1 and 49, 0-based
    assert table["percussion"].plays == "none" and table["percussion"].program is None
    assert table["flute"].plays == "melody"
    defaults = ["piano", "strings", "ambient_pad", "harp", "acoustic_guitar"]
    assert list(score_programs(table, defaults)) == defaults


@pytest.mark.parametrize("tag,why", [("percussion", "drum"), ("flute", "one note"), ("kazoo", "unknown timbre")])
def test_a_timbre_that_cannot_play_a_score_is_refused(tag, why):
    table = read_programs(TABLE)
    with pytest.raises(TimbreError, match=why):
        score_programs(table, ["piano", tag])


@pytest.mark.parametrize("row,message", [
    ("strings,129,X,any,r,general_midi", "not a General MIDI program"),
    ("strings,49,X,sometimes,r,general_midi", "plays 'sometimes'"),
    ("strings,49,X,any,r,", "no source"),
    ("piano,1,X,any,r,general_midi", "appears twice"),
])
def test_malformed_rows_name_the_file_and_row(tmp_path, row, message):
    path = tmp_path / "gm.csv"
    path.write_text("timbre,gm_program,gm_name,plays,reason,source\npiano,1,Piano,any,r,general_midi\n" + row + "\n")
    with pytest.raises(TimbreError, match=message) as err:
        read_programs(path)
    assert "row 3" in str(err.value)


def test_the_table_must_cover_the_kg_tags(tmp_path):
    path = tmp_path / "gm.csv"
    path.write_text("timbre,gm_program,gm_name,plays,reason,source\npiano,1,Piano,any,r,general_midi\n")
    with pytest.raises(TimbreError, match="missing"):
        read_programs(path, {"piano", "harp"})


def test_with_program_changes_the_instrument_and_nothing_else(tmp_path):
    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    track += [mido.Message("note_on", channel=0, note=60, velocity=70, time=0),
              mido.Message("control_change", channel=0, control=64, value=127, time=10),
              mido.Message("note_on", channel=DRUM_CHANNEL, note=36, velocity=90, time=0),
              mido.Message("program_change", channel=1, program=5, time=0),
              mido.Message("note_off", channel=0, note=60, velocity=0, time=470)]
    song.tracks.append(track)
    song.save(tmp_path / "in.mid")
    out = mido.MidiFile(with_program(tmp_path / "in.mid", 48, tmp_path / "out.mid"))
    messages = list(out.tracks[0])
    programs = {(m.channel, m.program) for m in messages if m.type == "program_change"}
    assert programs == {(0, 48), (1, 48)}  # added where missing, rewritten where present; drums untouched
    notes = [(m.type, m.note, m.time) for m in messages if m.type in ("note_on", "note_off")]
    assert notes == [("note_on", 60, 0), ("note_on", 36, 0), ("note_off", 60, 470)]
    assert sum(m.time for m in messages) == sum(m.time for m in track)


def test_split_timbres():
    assert split_timbres("ambient_pad+flute") == {"ambient_pad", "flute"}
    assert split_timbres(None) == frozenset() and split_timbres("") == frozenset()


def test_train_clips_take_the_other_timbres_in_turn_val_and_test_take_all():
    clips = pd.DataFrame({"id": [f"c{i}" for i in range(10)],
                          "split": ["train"] * 8 + ["val", "test"]})
    tags = ["piano", "strings", "ambient_pad", "harp"]
    planned = plan_renders(clips, tags, train_timbres=2)
    by_clip: dict[str, list[str]] = {}
    for clip, tag in planned:
        by_clip.setdefault(clip.id, []).append(tag)
    for i in range(8):  # piano + two others, the pair moving along by one each clip
        others = [tags[1 + (i + j) % 3] for j in range(2)]
        assert by_clip[f"c{i}"] == [t for t in tags if t == "piano" or t in others]
    assert by_clip["c8"] == tags and by_clip["c9"] == tags
    train_counts = Counter(tag for clip, tag in planned if clip.split == "train")
    assert train_counts["piano"] == 8 and {train_counts[t] for t in tags[1:]} <= {5, 6}  # each other timbre ~ 2/3
    assert len(plan_renders(clips, tags, None)) == len(plan_renders(clips, tags, 3)) == 40  # all of them
    assert len(plan_renders(clips, ["strings", "harp"], 1)) == 8 + 4  # no piano asked: one other for train
