"""Cut points (corpus.cuts): the quiet frames between notes, never inside a held note."""

from __future__ import annotations

import numpy as np

from emoheal.corpus.cuts import cut_points

RATE = 24000


def notes(onsets, length_s=20.0, decay_s=0.25, freq=330.0):
    """Piano-like notes: a sharp attack and an exponential decay at each onset."""
    t = np.arange(int(length_s * RATE)) / RATE
    out = np.zeros_like(t)
    for onset in onsets:
        after = t - onset
        out += np.where(after >= 0, np.exp(-np.maximum(after, 0) / decay_s), 0.0) * np.sin(2 * np.pi * freq * t)
    return (0.3 * out).astype(np.float32)


def test_cuts_fall_between_notes():
    onsets = np.arange(1.0, 19.0, 1.5)
    cuts = cut_points(notes(onsets), RATE)
    assert len(cuts) >= 6
    assert all(2.0 <= c <= 18.0 for c in cuts), "none near the edges"
    assert all(b - a >= 1.0 for a, b in zip(cuts, cuts[1:])), "at least a second apart"
    for c in cuts:  # late in a gap between notes (the last one has died away), never just after an attack
        since = c - onsets[onsets <= c].max()
        assert since >= 0.6, (c, since)


def test_a_held_note_has_no_cut_point():
    t = np.arange(int(20 * RATE)) / RATE
    held = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    assert cut_points(held, RATE) == []
    assert cut_points(np.zeros(RATE // 100, dtype=np.float32), RATE) == []  # too short to say
