"""The retrieval view of the corpus: one row per item with the measured descriptors in the
units of the knowledge graph's targets, and the valence/arousal estimates.

Two measured quantities need care before they can be compared with targets:
- register: the audio pitch centroid is an energy centroid that partials lift about an
  octave above the notes' mean pitch; a linear map fitted on the rendered clips against their
  scores brings it to MIDI note units (the fit is stored and reported);
- loudness: every item plays loudness-normalised, so the loudness that says "soft" or "loud"
  is the one measured before normalisation (the performance's dynamics).

Each item also carries its timbre tags, the piece it renders (`source_id`: renders of one MIDI
in several timbres are one piece, never played twice in a session), its licence and what it
sounds like in words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoheal.corpus.timbres import split_timbres

# the target names of a plan stage and the item columns that measure them
MEASURES = {
    "tempo_bpm": "tempo_bpm",
    "mode_major": "mode_major",
    "loudness_lufs": "loudness_lufs",
    "density_onsets_per_s": "density_onsets_per_s",
    "register_midi": "register_midi",
    "brightness_hz": "brightness_hz",
}


def _fit(joined: pd.DataFrame) -> dict:
    slope, intercept = np.polyfit(joined["pitch_centroid_midi"], joined["score_pitch_centroid_midi"], 1)
    residual = joined["score_pitch_centroid_midi"] - (slope * joined["pitch_centroid_midi"] + intercept)
    return {"slope": float(slope), "intercept": float(intercept), "fitted_on": int(len(joined)),
            "residual_std_semitones": float(residual.std())}


def register_calibration(descriptors: pd.DataFrame, scores: pd.DataFrame, manifest: pd.DataFrame | None = None
                         ) -> dict:
    """Least-squares map from the audio pitch centroid to the score's mean pitch: over every
    scored item, and — with the manifest — per timbre with at least 10 scored items, since
    each instrument's partials lift the centroid differently (`by_timbre`)."""
    joined = descriptors.merge(scores, on="id")[["id", "pitch_centroid_midi", "score_pitch_centroid_midi"]].dropna()
    if len(joined) < 10:
        return {"slope": 1.0, "intercept": 0.0, "fitted_on": 0, "note": "too few scores: no calibration"}
    result = _fit(joined)
    if manifest is not None and "timbre" in manifest:
        timbre = joined["id"].map(manifest.set_index("id")["timbre"])
        result["by_timbre"] = {str(t): _fit(group) for t, group in joined.groupby(timbre, sort=True)
                               if isinstance(t, str) and len(group) >= 10}
    return result


def calibrated_register(pitch_centroid: np.ndarray, timbres: np.ndarray, calibration: dict) -> np.ndarray:
    """The pitch centroid in score units, each item by its timbre's fit (the pooled one otherwise)."""
    by_timbre = calibration.get("by_timbre", {})
    slope = np.array([by_timbre.get(t, calibration)["slope"] for t in timbres], dtype=np.float64)
    intercept = np.array([by_timbre.get(t, calibration)["intercept"] for t in timbres], dtype=np.float64)
    return slope * pitch_centroid + intercept


def sound_of(source: str, timbre: str | None) -> str:
    """What an item sounds like, in words for the person."""
    tags = [t.replace("_", " ") for t in split_timbres(timbre)]
    if source == "user":
        return "your own media"
    if source == "composed":
        return "composed: " + " and ".join(tags) if tags else "composed"
    if not tags or tags == ["piano"]:
        return "solo piano"
    return " and ".join(tags)


def item_table(manifest: pd.DataFrame, descriptors: pd.DataFrame, estimates: pd.DataFrame,
               calibration: dict) -> pd.DataFrame:
    """Items that were described and estimated; the rest cannot be scored and are left out
    (the index report counts them)."""
    d = descriptors.set_index("id")
    e = estimates.set_index("id")
    m = manifest.set_index("id")
    ids = [i for i in m.index if i in d.index and i in e.index]
    def optional(column: str) -> np.ndarray:  # a manifest of the corpus before timbres lacks these
        return m.loc[ids, column].to_numpy(dtype=object) if column in m else np.full(len(ids), None, object)

    timbre, source_id = optional("timbre"), optional("source_id")
    table = pd.DataFrame({
        "id": ids,
        "title": m.loc[ids, "title"].to_numpy(),
        "media_type": m.loc[ids, "media_type"].to_numpy(),
        "media_path": m.loc[ids, "media_path"].to_numpy(),
        "audio_path": m.loc[ids, "audio_path"].to_numpy(),
        "poster_path": m.loc[ids, "poster_path"].to_numpy(),
        "duration_s": m.loc[ids, "duration_s"].astype(float).to_numpy(),
        "source": m.loc[ids, "source"].to_numpy(),
        "licence": optional("licence"),
        "timbre": timbre,
        "source_id": [s if isinstance(s, str) and s else i for s, i in zip(source_id, ids)],
        "sound": [sound_of(src, t) for src, t in zip(m.loc[ids, "source"], timbre)],
        "quadrant": m.loc[ids, "quadrant"].to_numpy(),
        "split": m.loc[ids, "split"].to_numpy(),
        "content_sha256": m.loc[ids, "content_sha256"].to_numpy(),
        "tempo_bpm": d.loc[ids, "tempo_bpm"].astype(float).to_numpy(),
        "mode_major": d.loc[ids, "mode_major"].astype(float).to_numpy(),
        "key": d.loc[ids, "key"].to_numpy(),
        "loudness_lufs": m.loc[ids, "loudness_before_lufs"].astype(float).to_numpy(),
        "density_onsets_per_s": d.loc[ids, "onset_density_per_s"].astype(float).to_numpy(),
        "register_midi": calibrated_register(d.loc[ids, "pitch_centroid_midi"].astype(float).to_numpy(), timbre,
                                             calibration),
        "brightness_hz": d.loc[ids, "brightness_hz"].astype(float).to_numpy(),
        "valence": e.loc[ids, "valence"].astype(float).to_numpy(),
        "arousal": e.loc[ids, "arousal"].astype(float).to_numpy(),
    })
    return table.reset_index(drop=True)


# What `corpus.licence: commercial` keeps: music no third party holds rights in — pieces the
# composer wrote, and media the person (the deployer) added themselves.
CLEAN_SOURCES = ("composed", "user")


def licence_clean(items: pd.DataFrame) -> np.ndarray:
    return items["source"].isin(CLEAN_SOURCES).to_numpy()
