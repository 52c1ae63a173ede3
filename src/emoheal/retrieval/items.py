"""The retrieval view of the corpus: one row per item with the measured descriptors in the
units of the knowledge graph's targets, and the valence/arousal estimates.

Two measured quantities need care before they can be compared with targets:
- register: the audio pitch centroid is an energy centroid that partials lift about an
  octave above the notes' mean pitch; a linear map fitted on the rendered clips against their
  scores brings it to MIDI note units (the fit is stored and reported);
- loudness: every item plays loudness-normalised, so the loudness that says "soft" or "loud"
  is the one measured before normalisation (the performance's dynamics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# the target names of a plan stage and the item columns that measure them
MEASURES = {
    "tempo_bpm": "tempo_bpm",
    "mode_major": "mode_major",
    "loudness_lufs": "loudness_lufs",
    "density_onsets_per_s": "density_onsets_per_s",
    "register_midi": "register_midi",
    "brightness_hz": "brightness_hz",
}


def register_calibration(descriptors: pd.DataFrame, scores: pd.DataFrame) -> dict:
    """Least-squares map from the audio pitch centroid to the score's mean pitch."""
    joined = descriptors.merge(scores, on="id")[["pitch_centroid_midi", "score_pitch_centroid_midi"]].dropna()
    if len(joined) < 10:
        return {"slope": 1.0, "intercept": 0.0, "fitted_on": 0, "note": "too few scores: no calibration"}
    slope, intercept = np.polyfit(joined["pitch_centroid_midi"], joined["score_pitch_centroid_midi"], 1)
    residual = joined["score_pitch_centroid_midi"] - (slope * joined["pitch_centroid_midi"] + intercept)
    return {"slope": float(slope), "intercept": float(intercept), "fitted_on": int(len(joined)),
            "residual_std_semitones": float(residual.std())}


def item_table(manifest: pd.DataFrame, descriptors: pd.DataFrame, estimates: pd.DataFrame,
               calibration: dict) -> pd.DataFrame:
    """Items that were described and estimated; the rest cannot be scored and are left out
    (the index report counts them)."""
    d = descriptors.set_index("id")
    e = estimates.set_index("id")
    m = manifest.set_index("id")
    ids = [i for i in m.index if i in d.index and i in e.index]
    table = pd.DataFrame({
        "id": ids,
        "title": m.loc[ids, "title"].to_numpy(),
        "media_type": m.loc[ids, "media_type"].to_numpy(),
        "media_path": m.loc[ids, "media_path"].to_numpy(),
        "audio_path": m.loc[ids, "audio_path"].to_numpy(),
        "poster_path": m.loc[ids, "poster_path"].to_numpy(),
        "duration_s": m.loc[ids, "duration_s"].astype(float).to_numpy(),
        "source": m.loc[ids, "source"].to_numpy(),
        "quadrant": m.loc[ids, "quadrant"].to_numpy(),
        "split": m.loc[ids, "split"].to_numpy(),
        "content_sha256": m.loc[ids, "content_sha256"].to_numpy(),
        "tempo_bpm": d.loc[ids, "tempo_bpm"].astype(float).to_numpy(),
        "mode_major": d.loc[ids, "mode_major"].astype(float).to_numpy(),
        "key": d.loc[ids, "key"].to_numpy(),
        "loudness_lufs": m.loc[ids, "loudness_before_lufs"].astype(float).to_numpy(),
        "density_onsets_per_s": d.loc[ids, "onset_density_per_s"].astype(float).to_numpy(),
        "register_midi": (calibration["slope"] * d.loc[ids, "pitch_centroid_midi"].astype(float)
                          + calibration["intercept"]).to_numpy(),
        "brightness_hz": d.loc[ids, "brightness_hz"].astype(float).to_numpy(),
        "valence": e.loc[ids, "valence"].astype(float).to_numpy(),
        "arousal": e.loc[ids, "arousal"].astype(float).to_numpy(),
    })
    return table.reset_index(drop=True)
