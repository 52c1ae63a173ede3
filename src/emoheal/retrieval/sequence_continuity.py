"""Continuity between consecutive tracks, and how its bounds relax when nothing else fits.

A next track keeps the tempo step (octave-folded: half and double time count as the same
pulse), the circle-of-fifths key distance and the loudness step within the settings' bounds.
When no candidate keeps them all, the bounds are given up in order of importance — loudness
first, then key, then tempo, and last the person's recently heard items — and the choice says
which it gave up. (The arousal direction is never relaxed: see sequence.py.)
"""

from __future__ import annotations

import numpy as np

from emoheal.retrieval.item_arrays import ItemArrays
from emoheal.retrieval.path_scoring import ScoreView
from emoheal.settings.retrieval import SequenceSettings

RECENT = "recently heard items"


def continuous_candidates(arr: ItemArrays, v: ScoreView, prev: int | None, free: np.ndarray,
                          s: SequenceSettings) -> tuple[np.ndarray, list[str]]:
    """(mask over the view's rows of the candidates that may follow item `prev`, the bounds relaxed
    to find any). `free`: the candidates the goal and the look-ahead allow, heard or not."""
    fresh = free & ~v.excluded
    if prev is None:  # the opening: nothing to continue from
        return (fresh, []) if fresh.any() else (free, [RECENT])
    tp = float(arr.tempo[prev])
    in_tempo = fresh & (np.minimum(np.minimum(np.abs(v.tempo - tp), np.abs(v.tempo_half - tp)),
                                   np.abs(v.tempo_double - tp)) <= s.max_tempo_step_bpm)
    if not in_tempo.any():
        if fresh.any():
            return fresh, ["loudness step", "key distance", "tempo step"]
        return free, ["loudness step", "key distance", "tempo step", RECENT]
    keyed = in_tempo & v.key_near(s.max_key_distance)[int(arr.fifths[prev]) % 12]
    if not keyed.any():
        return in_tempo, ["loudness step", "key distance"]
    loud = keyed & (np.abs(v.loudness - float(arr.loudness[prev])) <= s.max_loudness_step_lu)
    return (loud, []) if loud.any() else (keyed, ["loudness step"])
