"""What the score says: a rendered clip's MIDI is the ground truth its audio descriptors
are checked against (onsets, pitch, velocity, pitch-class content and hence key and mode)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoheal.corpus.key import estimate_key

ONSET_MERGE_S = 0.03  # notes starting within 30 ms sound as one onset (a chord)


def score_features(midi_path: str | Path) -> dict:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(midi_path))
    notes = [n for inst in midi.instruments if not inst.is_drum for n in inst.notes]
    duration = float(midi.get_end_time())
    if not notes or duration <= 0:
        raise ValueError(f"{midi_path}: no notes")
    starts = np.sort(np.array([n.start for n in notes]))
    onsets = 1 + int(np.sum(np.diff(starts) > ONSET_MERGE_S))
    pitch = np.array([n.pitch for n in notes], dtype=np.float64)
    length = np.array([n.end - n.start for n in notes])
    velocity = np.array([n.velocity for n in notes], dtype=np.float64)
    pcs = np.zeros(12)
    np.add.at(pcs, pitch.astype(int) % 12, length)
    key = estimate_key(pcs)
    return {
        "score_onsets_per_s": onsets / duration,
        "score_notes_per_s": len(notes) / duration,
        "score_pitch_centroid_midi": float(np.average(pitch, weights=length)),
        "score_velocity_mean": float(velocity.mean()),
        "score_key": key["key"],
        "score_mode": key["mode"],
        "score_mode_major": key["mode_major"],
        "score_duration_s": duration,
    }
