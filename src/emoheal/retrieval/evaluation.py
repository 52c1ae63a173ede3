"""Retrieval measured on labelled music (EMOPIA's quadrants), for a set of planned sessions,
against baselines computed in the same run: random choice, nearest valence/arousal
estimate, and descriptors only.

- match agreement: the match item's quadrant is the quadrant of the person's state (the
  signs of the plan's match valence and arousal);
- target precision@1 and @5: the target item (and its alternatives) are Q4 (calm);
- arousal never rising: the chosen items' estimated arousal never goes up across stages;
- coverage and repetition of items across sessions.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from emoheal.retrieval.assemble import SessionSettings, assemble_session
from emoheal.retrieval.index import RetrievalIndex

METHODS = ("system", "descriptors_only", "va_nearest", "random")


def quadrant(valence: float, arousal: float) -> int:
    if arousal >= 0:
        return 1 if valence >= 0 else 2
    return 4 if valence >= 0 else 3


def _ranked_system(plan, index: RetrievalIndex, goal, settings: SessionSettings) -> dict[str, list[str]]:
    result = assemble_session(plan, index.items, index.unit_vectors, settings, goal)
    return {s["stage"]: ([s["item"]["id"]] + [a["id"] for a in s["alternatives"]] if s["item"] else [])
            for s in result["stages"]}


def _ranked_va(plan, index: RetrievalIndex, k: int) -> dict[str, list[str]]:
    items = index.items
    used: set[str] = set()
    out = {}
    for stage in plan["stages"]:
        d = (items["valence"] - stage["valence"]) ** 2 + (items["arousal"] - stage["arousal"]) ** 2
        order = [i for i in np.argsort(d.to_numpy(), kind="stable") if items["id"].iloc[i] not in used][:k]
        ids = items["id"].iloc[order].tolist()
        if ids:
            used.add(ids[0])
        out[stage["name"]] = ids
    return out


def _ranked_random(plan, index: RetrievalIndex, k: int, rng: np.random.Generator) -> dict[str, list[str]]:
    ids = index.items["id"].to_numpy()
    chosen = rng.choice(len(ids), size=min(len(ids), k * len(plan["stages"])), replace=False)
    return {st["name"]: ids[chosen[i * k:(i + 1) * k]].tolist() for i, st in enumerate(plan["stages"])}


def evaluate_sessions(plans: list[dict], index: RetrievalIndex, goal: dict, settings: SessionSettings,
                      seed: int = 0) -> dict:
    """Metrics per method over the sessions planned in `plans` (SessionPlan.to_dict())."""
    labelled = index.items.set_index("id")
    quadrants = labelled["quadrant"]
    arousal = labelled["arousal"]
    k = settings.alternatives + 1
    descriptors_only = settings.model_copy(update={"scoring": settings.scoring.model_copy(update={
        "weights": {**settings.scoring.weights, "valence_arousal": 0.0, "text": 0.0}})})
    rng = np.random.default_rng(seed)
    results: dict[str, dict] = {}
    for method in METHODS:
        match_hits, match_p5, target_hits, target_p5, never_rises, complete = [], [], [], [], [], []
        chosen: Counter = Counter()
        for plan in plans:
            if method == "system":
                ranked = _ranked_system(plan, index, goal, settings)
            elif method == "descriptors_only":
                ranked = _ranked_system(plan, index, goal, descriptors_only)
            elif method == "va_nearest":
                ranked = _ranked_va(plan, index, k)
            else:
                ranked = _ranked_random(plan, index, k, rng)
            if not all(ranked.get(st["name"]) for st in plan["stages"]):
                complete.append(False)
                continue
            complete.append(True)
            person = quadrant(plan["stages"][0]["valence"], plan["stages"][0]["arousal"])
            m, t = ranked["match"], ranked["target"]
            match_hits.append(quadrants.get(m[0]) == person)
            match_p5.append(float(np.mean([quadrants.get(i) == person for i in m[:k]])))
            target_hits.append(quadrants.get(t[0]) == 4)
            target_p5.append(float(np.mean([quadrants.get(i) == 4 for i in t[:k]])))
            levels = [arousal[ranked[st["name"]][0]] for st in plan["stages"]]
            never_rises.append(all(b <= a + 1e-9 for a, b in zip(levels, levels[1:])))
            chosen.update(ranked[st["name"]][0] for st in plan["stages"])
        n = max(len(match_hits), 1)
        results[method] = {
            "sessions": len(plans), "complete_sessions": int(sum(complete)),
            "match_quadrant_agreement": round(sum(match_hits) / n, 4),
            "match_precision_at_5": round(float(np.mean(match_p5)) if match_p5 else 0.0, 4),
            "target_q4_precision_at_1": round(sum(target_hits) / n, 4),
            "target_q4_precision_at_5": round(float(np.mean(target_p5)) if target_p5 else 0.0, 4),
            "arousal_never_rises": round(sum(never_rises) / n, 4),
            "item_coverage": round(len(chosen) / max(len(index.items), 1), 4),
            "most_repeated_item_share": round(chosen.most_common(1)[0][1] / n, 4) if chosen else 0.0,
        }
    shares = quadrants.value_counts(normalize=True)
    results["chance"] = {"target_q4": round(float(shares.get(4, 0.0)), 4),
                         "match_quadrant": round(float((shares ** 2).sum()), 4)}
    return results


def plans_from_predictions(planner, probabilities: pd.DataFrame, goal: str) -> list[dict]:
    """One plan per row of detected probabilities (columns = the 28 labels)."""
    return [planner.plan(row.to_dict(), goal).to_dict() for _, row in probabilities.iterrows()]
