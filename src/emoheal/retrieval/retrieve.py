"""Retrieve a session for a plan: the entry point the runner and the service call."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from emoheal.retrieval.assemble import SessionSettings, assemble_session
from emoheal.retrieval.index import RetrievalIndex
from emoheal.retrieval.sequence import SequenceSettings, sequence_session


def _text_cosines(plan: dict, index: RetrievalIndex, text_encoder: Any) -> dict[str, np.ndarray] | None:
    """Per stage, the cosine between its prompt and every item (hybrid index only)."""
    if index.backend != "hybrid":
        return None
    if text_encoder is None:
        raise ValueError("this index holds CLaMP 3 vectors (hybrid backend): give the CLaMP 3 text encoder")
    cosines = {}
    vectors = index.clamp3_vectors
    for stage in plan["stages"]:
        q = np.asarray(text_encoder.encode(stage["prompt"]), dtype=np.float32)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        cos = vectors @ q
        cosines[stage["name"]] = np.where(np.isfinite(cos), cos, -1.0)  # an item without a vector ranks last
    return cosines


def _index_summary(index: RetrievalIndex) -> dict:
    return {"items": int(len(index.items)), "vector_tags": index.meta.get("vector_tags"),
            "descriptor_index": index.meta.get("descriptor_index")}


def retrieve(plan: dict, index: RetrievalIndex, settings: SessionSettings, goal: dict | None = None,
             exclude: Iterable[str] = (), text_encoder: Any = None, candidate_threshold: int = 5000,
             candidates_per_stage: int = 500, preferences: dict | None = None) -> dict:
    """One item per stage (today's `one_per_stage`, kept as a baseline and for the alternatives).
    `plan`: `SessionPlan.to_dict()`; `goal`: the planner's goal record (constraints);
    `text_encoder`: a CLaMP 3 text encoder, required by a hybrid index. Above
    `candidate_threshold` items, exact scoring runs on the FAISS neighbours of each stage's
    targets instead of on every item."""
    cosines = _text_cosines(plan, index, text_encoder)
    items, unit = index.items, index.unit_vectors
    personal = personal_bonus(items, preferences) if preferences else None
    if len(items) > candidate_threshold and index.descriptor_index is not None:
        rows = index.candidates(plan, candidates_per_stage)
        items, unit = items.iloc[rows].reset_index(drop=True), unit[rows]
        personal = None if personal is None else personal[rows]
        if cosines is not None:
            cosines = {name: c[rows] for name, c in cosines.items()}
    result = assemble_session(plan, items, unit, settings, goal, frozenset(exclude), cosines, index.backend,
                              personal)
    result["index"] = _index_summary(index)
    return result


def retrieve_sequence(plan: dict, index: RetrievalIndex, settings: SequenceSettings, goal: dict | None = None,
                      exclude: Iterable[str] = (), seed: int | None = None, text_encoder: Any = None,
                      preferences: dict | None = None, candidate_threshold: int = 20000,
                      candidates_per_waypoint: int = 500, waypoints: int = 16) -> dict:
    """The session as sequences of tracks that follow the plan's path (retrieval.sequence).
    Above `candidate_threshold` items the sequence draws from the FAISS neighbours of the
    stages and of `waypoints` points along the path (about 10k rows at most), so its cost
    does not grow with the catalogue."""
    cosines = _text_cosines(plan, index, text_encoder)
    arrays = index.arrays
    personal = personal_bonus(index.items, preferences) if preferences else None
    if len(arrays) > candidate_threshold and index.descriptor_index is not None:
        rows = index.candidates(plan, candidates_per_waypoint, waypoints)
        arrays = arrays.take(rows)
        personal = None if personal is None else personal[rows]
        if cosines is not None:
            cosines = {name: c[rows] for name, c in cosines.items()}
    result = sequence_session(plan, arrays, settings, goal, exclude, seed, cosines, personal, index.backend)
    result["index"] = _index_summary(index)
    return result


# what a person's ratings can teach: the direction they like on each of these measures
PREFERENCE_PARAMETERS = ("tempo_bpm", "mode_major", "density_onsets_per_s")


def preference_scales(items) -> dict[str, dict[str, float]]:
    """Mean and spread of each preference parameter over the corpus."""
    out = {}
    for p in PREFERENCE_PARAMETERS:
        x = items[p].to_numpy(dtype=float)
        out[p] = {"mean": float(np.nanmean(x)), "scale": float(np.nanstd(x) or 1.0)}
    return out


def personal_bonus(items, preferences: dict) -> np.ndarray:
    """tanh of the liked directions applied to each item's standardised measures: in [-1, 1]."""
    scales = preference_scales(items)
    total = np.zeros(len(items))
    for p, scale in scales.items():
        if p in preferences:
            z = (items[p].to_numpy(dtype=float) - scale["mean"]) / scale["scale"]
            total += preferences[p] * np.nan_to_num(z)
    return np.tanh(total)
