"""How well the audio descriptors agree with the score they were rendered from."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from emoheal.corpus.symbolic import score_features


def score_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Score features for every item that has a MIDI file."""
    rows = [{"id": r.id, **score_features(r.midi_path)} for r in manifest.itertuples()
            if isinstance(r.midi_path, str) and r.midi_path]
    return pd.DataFrame(rows)


def _rho(a: pd.Series, b: pd.Series) -> float:
    ok = a.notna() & b.notna()
    return round(float(spearmanr(a[ok], b[ok])[0]), 4) if ok.sum() > 2 else float("nan")


def compare(descriptors: pd.DataFrame, scores: pd.DataFrame, manifest: pd.DataFrame) -> dict:
    """On the piano renders (as written: EMOPIA's own instrument, so the figures compare across
    corpora), and per timbre the measures a timbre can change (onsets, pitch, mode)."""
    timbre = manifest["timbre"] if "timbre" in manifest else pd.Series("piano", index=manifest.index)
    piano = manifest[timbre.fillna("piano") == "piano"]
    result = _compare(descriptors, scores, piano)
    joined = descriptors.merge(scores, on="id").merge(manifest[["id"]].assign(timbre=timbre), on="id")
    result["by_timbre"] = {
        str(t): {"items": int(len(g)),
                 "onset_density_vs_score_onsets": _rho(g["onset_density_per_s"], g["score_onsets_per_s"]),
                 "pitch_centroid_vs_score": _rho(g["pitch_centroid_midi"], g["score_pitch_centroid_midi"]),
                 "mode_agreement": round(float(((g["mode_major"] > 0.5) == (g["score_mode"] == "major")).mean()), 4)}
        for t, g in joined.groupby(joined["timbre"].fillna("unknown"), sort=True)}
    return result


def _compare(descriptors: pd.DataFrame, scores: pd.DataFrame, manifest: pd.DataFrame) -> dict:
    d = descriptors.merge(scores, on="id").merge(manifest[["id", "loudness_before_lufs"]], on="id")
    audio_major = d["mode_major"] > 0.5
    score_major = d["score_mode"] == "major"
    return {
        "items": int(len(d)),
        "spearman": {
            "onset_density_vs_score_onsets": _rho(d["onset_density_per_s"], d["score_onsets_per_s"]),
            "onset_density_vs_score_notes": _rho(d["onset_density_per_s"], d["score_notes_per_s"]),
            "pitch_centroid_vs_score": _rho(d["pitch_centroid_midi"], d["score_pitch_centroid_midi"]),
            "loudness_before_normalisation_vs_velocity": _rho(d["loudness_before_lufs"], d["score_velocity_mean"]),
            "brightness_vs_velocity": _rho(d["brightness_hz"], d["score_velocity_mean"]),
            "mode_major_vs_score_mode_major": _rho(d["mode_major"], d["score_mode_major"]),
        },
        "mode_agreement": round(float((audio_major == score_major).mean()), 4),
        "key_agreement": round(float((d["key"] == d["score_key"]).mean()), 4),
        "score_major_share": round(float(score_major.mean()), 4),
        "pitch_centroid_mean_error_semitones": round(float(np.mean(d["pitch_centroid_midi"]
                                                                   - d["score_pitch_centroid_midi"])), 2),
    }
