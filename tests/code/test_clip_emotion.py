"""The clip-emotion model on synthetic descriptors whose quadrant is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emoheal.corpus.emotion_model import (
    ClipEmotionModel,
    ClipEmotionSettings,
    evaluate,
    quadrant_of,
    train_clip_emotion,
)
from emoheal.corpus.features import feature_frame, feature_names

QUADRANT_CUES = {1: (1.0, 1.0), 2: (-1.0, 1.0), 3: (-1.0, -1.0), 4: (1.0, -1.0)}  # (mode cue, tempo cue)


def synthetic(n_per_quadrant: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Descriptors where mode carries valence and tempo/onsets/loudness carry arousal, with noise."""
    rng = np.random.default_rng(seed)
    rows, manifest = [], []
    for q, (v, a) in QUADRANT_CUES.items():
        for i in range(n_per_quadrant):
            item = f"q{q}_{i}"
            split = ("train", "train", "train", "val", "test")[i % 5]
            rows.append({
                "id": item, "tempo_bpm": 100 + 25 * a + rng.normal(0, 10), "tempo_strength": rng.uniform(0.2, 0.6),
                "mode_major": float(np.clip(0.5 + 0.3 * v + rng.normal(0, 0.15), 0, 1)),
                "key_strength": rng.uniform(0.5, 0.9), "onset_density_per_s": 3 + 1.5 * a + rng.normal(0, 0.5),
                "onset_strength_mean": rng.uniform(0.05, 0.2), "onset_strength_std": rng.uniform(0.05, 0.2),
                "brightness_hz": 800 + rng.normal(0, 100), "pitch_centroid_midi": 72 + rng.normal(0, 3),
                "pitch_spread_semitones": 20 + rng.normal(0, 3), "rms_db_std": 5 + rng.normal(0, 1),
                "dynamic_range_db": 10 + rng.normal(0, 2), "active_share": 0.95, "polyphony": 6 + rng.normal(0, 1),
                **{f"chroma_degree_{k}": 1 / 12 for k in range(12)},
            })
            manifest.append({"id": item, "quadrant": q, "split": split,
                             "loudness_before_lufs": -28 + 4 * a + rng.normal(0, 1.5)})
    return pd.DataFrame(rows), pd.DataFrame(columns=["id", "mode_major"]), pd.DataFrame(manifest)


@pytest.fixture(scope="module")
def trained():
    descriptors, windows, manifest = synthetic(40, seed=0)
    features = feature_frame(descriptors, windows, manifest)
    settings = ClipEmotionSettings(max_epochs=300, patience=30)
    model = train_clip_emotion(features, manifest[["id", "quadrant", "split"]], settings, seed=7)
    return model, features, manifest


def test_learns_the_cues_and_beats_the_baselines(trained):
    model, features, manifest = trained
    result = evaluate(model.predict(features), manifest, "test")
    assert result["items"] == 32
    assert result["arousal_accuracy"] >= 0.9 and result["valence_accuracy"] >= 0.8
    assert result["quadrant_accuracy"] > result["majority_baseline"]["quadrant"] + 0.3
    assert result["chance"] == {"valence": 0.5, "arousal": 0.5, "quadrant": 0.25}
    assert model.meta["refit_on_train_and_val"] and "val_at_selection" in model.meta


def test_estimates_are_consistent(trained):
    model, features, _ = trained
    est = model.predict(features)
    assert est["valence"].between(-1, 1).all() and est["arousal"].between(-1, 1).all()
    assert np.allclose(est[["p_q1", "p_q2", "p_q3", "p_q4"]].sum(axis=1), 1)
    expected = quadrant_of(est["valence"].to_numpy() > 0, est["arousal"].to_numpy() > 0)
    assert (est["quadrant_pred"].to_numpy() == expected).all()  # the quadrant matches the signs


def test_unlabelled_items_with_missing_measures_still_get_estimates(trained):
    model, features, _ = trained
    odd = features.iloc[:2].copy()
    odd.index = ["user_a", "user_b"]
    odd.loc["user_a", "tempo_bpm"] = np.nan  # e.g. no tempo in a very short item
    est = model.predict(odd)
    assert est["valence"].notna().all() and list(est["id"]) == ["user_a", "user_b"]


def test_training_is_deterministic(trained):
    model, features, manifest = trained
    again = train_clip_emotion(features, manifest[["id", "quadrant", "split"]], model.settings, seed=7)
    pd.testing.assert_frame_equal(model.predict(features), again.predict(features))


def test_save_and_load_round_trip(trained, tmp_path):
    model, features, _ = trained
    model.save(tmp_path)
    loaded = ClipEmotionModel.load(tmp_path)
    pd.testing.assert_frame_equal(model.predict(features), loaded.predict(features))
    with pytest.raises(FileNotFoundError, match="corpus_emotion"):
        ClipEmotionModel.load(tmp_path / "nothing")


def test_no_training_items_is_a_clear_error():
    descriptors, windows, manifest = synthetic(4, seed=1)
    manifest["split"] = "test"
    with pytest.raises(ValueError, match="no labelled training items"):
        train_clip_emotion(feature_frame(descriptors, windows, manifest), manifest, ClipEmotionSettings(), 0)


def test_feature_names_are_stable():
    names = feature_names()
    assert len(names) == len(set(names)) and "source_loudness_lufs" in names and "mode_major" in names
