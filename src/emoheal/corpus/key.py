"""Key and mode from a pitch-class profile (Krumhansl & Kessler 1982 key profiles), the
same way for audio chroma and for a score's pitch-class histogram, so the two compare."""

from __future__ import annotations

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Correlation differences between the best major and best minor key are small (~0.1);
# this scale turns them into a probability that is not overconfident.
MODE_TEMPERATURE = 0.08

_TEMPLATES = np.stack([np.roll(MAJOR, k) for k in range(12)] + [np.roll(MINOR, k) for k in range(12)])
_TEMPLATES = (_TEMPLATES - _TEMPLATES.mean(axis=1, keepdims=True)) / _TEMPLATES.std(axis=1, keepdims=True)


def key_scores(profile: np.ndarray) -> np.ndarray:
    """Pearson correlation of a 12-bin profile with the 24 keys (12 major, then 12 minor)."""
    p = np.asarray(profile, dtype=np.float64)
    std = p.std()
    if not np.isfinite(std) or std == 0:
        return np.zeros(24)
    return _TEMPLATES @ ((p - p.mean()) / std) / 12


def estimate_key(profile: np.ndarray) -> dict:
    """{'key': 'A minor', 'tonic': 9, 'mode': 'minor', 'mode_major': p, 'key_strength': r}."""
    scores = key_scores(profile)
    best = int(np.argmax(scores))
    major, minor = float(scores[:12].max()), float(scores[12:].max())
    tonic, mode = best % 12, "major" if best < 12 else "minor"
    return {"key": f"{PITCH_CLASSES[tonic]} {mode}", "tonic": tonic, "mode": mode,
            "mode_major": float(1 / (1 + np.exp(-(major - minor) / MODE_TEMPERATURE))),
            "key_strength": float(scores[best])}
