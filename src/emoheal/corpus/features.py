"""The feature vector the clip-emotion model reads: audio measurements only (never the
score, never a label), so a user's own unlabelled media gets the same treatment.

Every item is loudness-normalised for playback, so the loudness that carries arousal is the
one measured before normalisation (`source_loudness_lufs`, from the manifest): for a
rendered clip it follows the performance's velocities (Spearman 0.93 on EMOPIA); for a
user's recording it also reflects mastering — a known limit of the estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLIP_FEATURES = (
    "tempo_bpm", "tempo_strength", "mode_major", "key_strength", "onset_density_per_s", "onset_strength_mean",
    "onset_strength_std", "brightness_hz", "pitch_centroid_midi", "pitch_spread_semitones", "rms_db_std",
    "dynamic_range_db", "active_share", "polyphony", *(f"chroma_degree_{i}" for i in range(12)),
)
WINDOW_FEATURES = ("onset_density_per_s", "brightness_hz", "pitch_centroid_midi", "mode_major", "rms_db")
MANIFEST_FEATURES = ("source_loudness_lufs",)
# log scale where a quantity spans orders of magnitude or is perceived in ratios
LOG_FEATURES = ("tempo_bpm", "onset_density_per_s", "brightness_hz")


def feature_names() -> list[str]:
    return (list(CLIP_FEATURES) + [f"window_std_{f}" for f in WINDOW_FEATURES] + ["window_mean_mode_major"]
            + list(MANIFEST_FEATURES))


def feature_frame(descriptors: pd.DataFrame, windows: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per described item, the columns of `feature_names()`; NaN where a measure is
    undefined (e.g. the window spread of a short item), filled with the training mean later."""
    frame = descriptors.set_index("id")[list(CLIP_FEATURES)].astype(float).copy()
    for col in LOG_FEATURES:
        frame[col] = np.log(frame[col].clip(lower=1e-3))
    if len(windows):
        spread = windows.groupby("id")[list(WINDOW_FEATURES)].std()
        spread.columns = [f"window_std_{c}" for c in spread.columns]
        frame = frame.join(spread)
        frame = frame.join(windows.groupby("id")["mode_major"].mean().rename("window_mean_mode_major"))
    source = manifest.set_index("id")["loudness_before_lufs"].astype(float).rename("source_loudness_lufs")
    frame = frame.join(source)
    for name in feature_names():
        if name not in frame:
            frame[name] = np.nan
    return frame[feature_names()]


def standardise(train: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Means and scales from the training rows; a constant column gets scale 1."""
    mean = train.mean().to_numpy(dtype=np.float64)
    scale = train.std(ddof=0).to_numpy(dtype=np.float64)
    scale[~np.isfinite(scale) | (scale == 0)] = 1.0
    mean[~np.isfinite(mean)] = 0.0
    return mean, scale


def to_matrix(frame: pd.DataFrame, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standardised features; an undefined value becomes the training mean (0)."""
    x = (frame.to_numpy(dtype=np.float64) - mean) / scale
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
