"""A session: one item per stage of a plan (match, guide, target), chosen by score under the
goal's hard constraints, never twice in a session, continuous with the stage before, with
diverse alternatives (maximal marginal relevance) and the option to leave out items a person
heard recently. When nothing qualifies the stage says so — no crash, no silent violation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoheal.retrieval.scoring import score_stage
from emoheal.settings.retrieval import SessionSettings  # conf/retrieval `session`

_FIFTHS = {pc: (7 * i) % 12 for i, pc in enumerate(range(12))}  # pitch class -> steps on the circle of fifths
_PC = {"C": 0, "C#": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "Ab": 8, "A": 9, "Bb": 10, "B": 11}


def key_distance(a: str, b: str) -> int:
    """Steps on the circle of fifths between two keys, a minor key taken as its relative major."""
    def major_pc(key: str) -> int:
        tonic, mode = key.split()
        pc = _PC[tonic]
        return (pc + 3) % 12 if mode == "minor" else pc
    d = abs(_FIFTHS[major_pc(a)] - _FIFTHS[major_pc(b)])
    return min(d, 12 - d)


def fifths_positions(keys: pd.Series) -> np.ndarray:
    """Each key's position on the circle of fifths (minor keys at their relative major's)."""
    def position(key: str) -> int:
        tonic, mode = key.split()
        pc = _PC[tonic]
        return _FIFTHS[(pc + 3) % 12 if mode == "minor" else pc]
    cache = {k: position(k) for k in set(keys)}
    return np.array([cache[k] for k in keys], dtype=np.int64)


def _tempo_jump(a: np.ndarray, b: float) -> np.ndarray:
    ratios = [np.abs(a * k - b) for k in (0.5, 1.0, 2.0)]
    return np.minimum.reduce(ratios)


def _constraints(items: pd.DataFrame, stage: dict, goal: dict | None, s: SessionSettings,
                 avoided: np.ndarray) -> tuple[np.ndarray, list]:
    """Per item: within the stage's hard limits — no avoided timbre, and for the target stage of a
    calming goal its loudness ceiling, density and arousal caps — and those limits as text."""
    ok = ~avoided
    rules = ["no item in an avoided timbre (" + ", ".join(stage["targets"]["avoid_timbres"]) + ")"] \
        if avoided.any() else []
    if goal is None or stage["name"] != "target" or goal.get("arousal_direction") != "down":
        return ok, rules
    ceiling = goal["loudness_ceiling_lufs"]
    ok &= items["loudness_lufs"].to_numpy() <= ceiling
    density_max = stage["targets"]["density_range_onsets_per_s"][1] * s.target_density_factor
    ok &= items["density_onsets_per_s"].to_numpy() <= density_max
    ok &= items["arousal"].to_numpy() <= s.target_max_arousal
    rules += [f"loudness <= {ceiling:g} LUFS", f"density <= {density_max:.2f} onsets/s",
              f"estimated arousal <= {s.target_max_arousal:g}"]
    return ok, rules


def _mmr(order: np.ndarray, scores: np.ndarray, vectors: np.ndarray, k: int, lam: float) -> list[int]:
    """Indices (into items) of up to k alternatives: relevant and unlike those already chosen."""
    pool = list(order)
    chosen: list[int] = []
    while pool and len(chosen) < k:
        if not chosen:
            best = pool[0]
        else:
            sim = vectors[pool] @ vectors[chosen].T
            value = lam * scores[pool] - (1 - lam) * sim.max(axis=1)
            best = pool[int(np.argmax(value))]
        chosen.append(best)
        pool.remove(best)
    return chosen


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _item(items: pd.DataFrame, i: int, stage_seconds: float) -> dict:
    row = items.iloc[i]
    duration = float(row["duration_s"])
    play = min(duration, stage_seconds)
    start = round((duration - play) / 2, 2) if duration > play else 0.0  # the middle of a long item
    return {"id": row["id"], "title": row["title"], "media_type": row["media_type"], "media_path": row["media_path"],
            "poster_path": row["poster_path"], "timbre": _text(row.get("timbre")), "sound": _text(row.get("sound")),
            "start_s": start, "duration_s": round(play, 2),
            "item_duration_s": duration, "measured": {
                "tempo_bpm": row["tempo_bpm"], "mode_major": row["mode_major"], "key": row["key"],
                "loudness_lufs": row["loudness_lufs"], "density_onsets_per_s": row["density_onsets_per_s"],
                "register_midi": row["register_midi"], "brightness_hz": row["brightness_hz"],
                "valence": row["valence"], "arousal": row["arousal"]}}


def _breakdown(parts: dict[str, np.ndarray], i: int) -> dict:
    """Item i's score and each part of it (scoring.score_stage)."""
    return {"total": float(parts["total"][i]), "descriptors": float(parts["descriptors"][i]),
            "valence_arousal": float(parts["valence_arousal"][i]),
            "text_cosine": None if np.isnan(parts["text"][i]) else float(parts["text"][i]),
            "personal": float(parts["personal"][i]), "timbre": float(parts["timbre"][i]),
            "per_parameter": {k.removeprefix("fit_"): float(v[i]) for k, v in parts.items() if k.startswith("fit_")}}


# The ends anchor the iso path: the goal's item first (so it is the best calm item whatever
# came before), then the person's, then the guide that bridges them.
SELECTION_ORDER = ("target", "match", "guide")
NEIGHBOURS = {"target": ("guide",), "match": ("guide",), "guide": ("match", "target")}


def assemble_session(plan: dict, items: pd.DataFrame, unit_vectors: np.ndarray, s: SessionSettings,
                     goal: dict | None = None, exclude: set[str] | frozenset = frozenset(),
                     text_cosines: dict[str, np.ndarray] | None = None, backend: str = "descriptors",
                     personal: np.ndarray | None = None) -> dict:
    """`plan`: a `SessionPlan.to_dict()`. `unit_vectors`: L2-normalised item vectors for MMR.
    Stages come back in plan order (match, guide, target)."""
    if items.empty:
        return {"backend": backend, "status": "empty_index", "stages": [
            {"stage": st["name"], "status": "no_suitable_item", "reason": "the index holds no items", "item": None,
             "alternatives": []} for st in plan["stages"]]}
    by_name = {st["name"]: st for st in plan["stages"]}
    order_of = {name: i for i, name in enumerate(st["name"] for st in plan["stages"])}
    used: set[str] = set(exclude)
    ids = items["id"].to_numpy()
    # a piece rendered in several timbres is one piece: once one of its renders is chosen or was
    # heard recently, none of them plays again
    pieces = items["source_id"].to_numpy() if "source_id" in items else ids
    used_pieces = set(pieces[np.isin(ids, list(used))])
    arousal = items["arousal"].to_numpy()
    tempo = items["tempo_bpm"].to_numpy()
    fifths = items.attrs.get("_fifths")
    if fifths is None or len(fifths) != len(items):
        fifths = items.attrs["_fifths"] = fifths_positions(items["key"])
    chosen: dict[str, int] = {}
    results: dict[str, dict] = {}
    down = goal is not None and goal.get("arousal_direction") == "down"
    for name in [n for n in SELECTION_ORDER if n in by_name] + [n for n in by_name if n not in SELECTION_ORDER]:
        stage = by_name[name]
        parts = score_stage(items, stage, s.scoring, None if text_cosines is None else text_cosines[name], personal)
        allowed, rules = _constraints(items, stage, goal, s, parts["avoided_timbre"])
        allowed &= ~np.isin(ids, list(used)) & ~np.isin(pieces, list(used_pieces))
        notes: list[str] = []
        if down and allowed.any():
            # the iso path as heard: estimated arousal never rises from an earlier stage to a later one
            calm = allowed.copy()
            for other, i in chosen.items():
                if order_of[other] < order_of[name]:
                    calm &= arousal <= arousal[i] + s.arousal_tolerance
                else:
                    calm &= arousal >= arousal[i] - s.arousal_tolerance
            if calm.any():
                allowed = calm
            else:
                notes.append("relaxed: no remaining item keeps arousal from rising")
        neighbours = [chosen[n] for n in NEIGHBOURS.get(name, ()) if n in chosen]
        continuity = None
        if neighbours and allowed.any():
            near = allowed.copy()
            for j in neighbours:
                near &= _tempo_jump(tempo, tempo[j]) <= s.max_tempo_jump_bpm
                steps = np.abs(fifths - fifths[j])
                near &= np.minimum(steps, 12 - steps) <= s.max_key_distance
            continuity = "ok" if near.any() else "relaxed: no remaining item is close in tempo and key"
            if near.any():
                allowed = near
        if not allowed.any():
            why = "every item breaks the goal's limits" if rules else "every item is excluded or already used"
            results[name] = {"stage": name, "status": "no_suitable_item", "reason": why, "constraints": rules,
                             "item": None, "alternatives": []}
            continue
        total = np.where(allowed, parts["total"], -np.inf)
        order = np.argsort(-total, kind="stable")[: max(s.mmr_pool, s.alternatives + 1)]
        order = order[np.isfinite(total[order])]
        picks = _mmr(order, parts["total"], unit_vectors, s.alternatives + 1, s.mmr_lambda)
        best = picks[0]
        used.add(ids[best])
        used_pieces.add(pieces[best])
        chosen[name] = best
        seconds = 60 * stage["minutes"]
        results[name] = {
            "stage": name, "status": "ok", "item": _item(items, best, seconds), "score": _breakdown(parts, best),
            "constraints": rules + notes, "continuity": continuity,
            "alternatives": [{**_item(items, i, seconds), "score": _breakdown(parts, i)} for i in picks[1:]],
        }
    stages = [results[st["name"]] for st in plan["stages"]]
    status = "ok" if all(st["status"] == "ok" for st in stages) else "partial"
    return {"backend": backend, "status": status, "stages": stages}
