"""How well each item fits one stage: a weighted sum of (CLaMP 3 backend only) the cosine
between the stage's prompt and the item, the fit of the item's measured descriptors to the
stage's musical targets, the closeness of its estimated valence/arousal to the stage's, and
its timbre's fit to the stage's timbres (an item in one of the stage's `avoid_timbres` is
refused by the callers, not merely scored down). Vectorised over the whole candidate set;
every part is kept for the explanation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoheal.corpus.timbres import split_timbres
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


def timbre_values(values: list, stage_timbres: list[str], avoid: list[str], s: ScoringSettings
                  ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Per distinct timbre value (an item's "+"-joined tags): the fit to the stage's `timbres`
    (its first 1, then `rank_decay` less per rank, 0 for none of them, `unknown_fit` when the
    item's timbre is not known), whether it sounds in an avoided timbre, and the stage timbre it
    matched (for the explanation)."""
    fit, avoided, matched = np.zeros(len(values)), np.zeros(len(values), dtype=bool), []
    rank = {tag: i for i, tag in enumerate(stage_timbres)}
    for i, value in enumerate(values):
        tags = split_timbres(value)
        if not tags:
            fit[i] = s.timbre.unknown_fit
            matched.append(None)
            continue
        best = min((rank[t] for t in tags if t in rank), default=None)
        fit[i] = 0.0 if best is None else max(1.0 - s.timbre.rank_decay * best, 0.0)
        avoided[i] = bool(tags & set(avoid))
        matched.append(None if best is None else stage_timbres[best])
    return fit, avoided, matched


def timbre_fit(timbres, stage: dict, s: ScoringSettings) -> tuple[np.ndarray, np.ndarray]:
    """(fit, avoided) per item for a column of timbre values."""
    codes, values = pd.factorize(pd.Series(timbres, dtype=object), use_na_sentinel=False)
    fit, avoided, _ = timbre_values(list(values), list(stage["targets"].get("timbres", [])),
                                    list(stage["targets"].get("avoid_timbres", [])), s)
    return fit[codes], avoided[codes]


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
    timbre, avoided = timbre_fit(items["timbre"] if "timbre" in items else np.full(len(items), None), stage, s)
    tw = s.timbre.weight
    if text_cosine is None:
        total = (w["descriptors"] * descriptors + w["valence_arousal"] * va + tw * timbre) \
            / (w["descriptors"] + w["valence_arousal"] + tw)
        text = np.full(len(items), np.nan)
    else:
        total = (w["text"] * text_rank(text_cosine) + w["descriptors"] * descriptors
                 + w["valence_arousal"] * va + tw * timbre) / (sum(w.values()) + tw)
        text = text_cosine
    if personal is not None:
        total = total + s.personal_weight * personal
    return {"total": total, "descriptors": descriptors, "valence_arousal": va, "text": text,
            "personal": personal if personal is not None else np.zeros(len(items)),
            "timbre": timbre, "avoided_timbre": avoided, **{f"fit_{p}": f for p, f in fits.items()}}
