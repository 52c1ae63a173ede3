"""How well each item fits one stage: a weighted sum of (CLaMP 3 backend only) the cosine
between the stage's prompt and the item, the fit of the item's measured descriptors to the
stage's musical targets, and the closeness of its estimated valence/arousal to the stage's.
Vectorised over the whole candidate set; every part is kept for the explanation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoheal.kg.planner import RANGE_KEYS  # the plan's names for each target range
from emoheal.retrieval.items import MEASURES
from emoheal.settings.retrieval import ScoringSettings  # conf/retrieval session.scoring

# parameters compared on a log2 scale, where ratios are what is heard
_LOG = {"tempo_bpm", "density_onsets_per_s", "brightness_hz"}


def _outside(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.maximum(low - values, 0) + np.maximum(values - high, 0)


def range_fit(param: str, x: np.ndarray, low, high, s: ScoringSettings) -> np.ndarray:
    """1 inside [low, high] and decaying outside it (0..1); `low`/`high` may be arrays (one
    range per value, as when a sequence follows the plan's path minute by minute)."""
    if param in _LOG:
        lx = np.log2(np.maximum(x, 1e-6))
        lo, hi = np.log2(np.maximum(low, 1e-6)), np.log2(np.maximum(high, 1e-6))
        d = _outside(lx, lo, hi)
        if param == "tempo_bpm":  # half or double time, at a small cost
            d = np.minimum(d, np.minimum(_outside(lx - 1, lo, hi), _outside(lx + 1, lo, hi)) + s.tempo_octave_penalty)
    else:
        d = _outside(x, low, high)
    fit = np.exp(-0.5 * (d / s.scales[param]) ** 2)
    return np.where(np.isfinite(fit), fit, 0.0)  # an unmeasurable value fits nothing


def parameter_fits(items: pd.DataFrame, targets: dict, s: ScoringSettings) -> dict[str, np.ndarray]:
    """Per parameter, 1 inside the target range and decaying outside it (0..1)."""
    fits: dict[str, np.ndarray] = {}
    for param, column in MEASURES.items():
        x = items[column].to_numpy(dtype=np.float64)
        if param == "mode_major":
            fit = 1 - np.abs(x - float(targets["mode_major"]))
            fits[param] = np.where(np.isfinite(fit), fit, 0.0)
        else:
            fits[param] = range_fit(param, x, *targets[RANGE_KEYS[param]], s)
    return fits


def valence_arousal_fit(item_v: np.ndarray, item_a: np.ndarray, stage_v: float, stage_a: float,
                        sharpness: float) -> np.ndarray:
    """How clearly an item lies on the stage's side of each axis, weighted by how far the stage
    is from neutral on that axis.

    The item estimates are 2p - 1 from a classifier (how sure it is that the clip is high in
    valence or arousal), not positions on the curated scale of the plan, so they are not
    compared by distance: on each axis the fit is ((1 + e * sign(s)) / 2) ** (sharpness * |s|)
    — 1 whatever the item when the stage is neutral on that axis (s = 0), and demanding more
    the further the stage leans. Continuous in the stage's values."""
    fit_v = ((1 + item_v * np.sign(stage_v)) / 2) ** (sharpness * abs(stage_v))
    fit_a = ((1 + item_a * np.sign(stage_a)) / 2) ** (sharpness * abs(stage_a))
    return fit_v * fit_a


def text_rank(text_cosine: np.ndarray) -> np.ndarray:
    """Cosines between prompts and music are small (0.1-0.25): rank-normalised to 0..1."""
    order = np.argsort(np.argsort(text_cosine))
    return order / max(len(order) - 1, 1)


def score_stage(items: pd.DataFrame, stage: dict, s: ScoringSettings, text_cosine: np.ndarray | None = None,
                personal: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Arrays over `items`: total, descriptors, valence_arousal, text (NaN without CLaMP 3) and
    each parameter's fit."""
    fits = parameter_fits(items, stage["targets"], s)
    pw = s.parameter_weights
    descriptors = sum(pw[p] * fits[p] for p in fits) / sum(pw[p] for p in fits)
    va = valence_arousal_fit(items["valence"].to_numpy(), items["arousal"].to_numpy(), stage["valence"],
                             stage["arousal"], s.va_sharpness)
    w = s.weights
    if text_cosine is None:
        total = (w["descriptors"] * descriptors + w["valence_arousal"] * va) / (w["descriptors"] + w["valence_arousal"])
        text = np.full(len(items), np.nan)
    else:
        total = (w["text"] * text_rank(text_cosine) + w["descriptors"] * descriptors
                 + w["valence_arousal"] * va) / sum(w.values())
        text = text_cosine
    if personal is not None:
        total = total + s.personal_weight * personal
    return {"total": total, "descriptors": descriptors, "valence_arousal": va, "text": text,
            "personal": personal if personal is not None else np.zeros(len(items)),
            **{f"fit_{p}": f for p, f in fits.items()}}
