"""Emotion detection: 28 GoEmotions labels from text. Knows nothing of music."""
