"""Sequenced sessions measured against baselines run the same way, on the same plans:

- `system`: the sequence (retrieval.sequence) — tracks along the plan's path;
- `one_per_stage`: one item per stage (retrieval.assemble, the behaviour before sequences),
  looped for the stage's minutes, as a player did;
- `random`: random items, none twice, until the time is filled;
- `va_sorted`: the same kind of random fill, ordered by estimated arousal toward the goal
  (down for calming goals): no path, no continuity.

Per system (keys as in `metrics/sessions.json`):
- `minutes_filled`: mean filled / requested time;
- `arousal_never_rises`: share of sessions whose tracks' estimated arousal never moves against
  the goal's direction (never rises toward calm; never falls for `uplift`);
- `p95_tempo_step_bpm` (octave-folded), `p95_key_distance` (circle-of-fifths steps),
  `p95_loudness_step_lu` (the items' performance loudness): 95th percentile over consecutive
  tracks — a looped item following itself counts as a step of 0;
- `repeat_share`: sessions with an item twice; `catalogue_coverage`: distinct items over all
  sessions / items in the index;
- `path_fit`: mean absolute difference (BPM) between each track's measured tempo and the
  path's tempo at the track's middle minute, the measured tempo taken at the metrical level
  (×½, ×1, ×2) nearest the path (a beat tracker may report double or half time);
- `match_agreement`: the first track's quadrant (EMOPIA's label where the item is the annotated
  piano render, else the sign of its estimates) is the quadrant of the person's state (the plan's match stage);
- `target_calm_share`: share of target-stage tracks estimated calm (Q4: valence ≥ 0, arousal < 0);
- `target_timbre_share`: share of target-stage tracks that sound in one of the stage's timbres;
  `avoided_timbre_tracks`: tracks, over all sessions, in a timbre their stage avoids (goal: 0);
  `piece_repeat_share`: sessions with one piece twice, in any timbre;
- `trims_at_cut_point`: of the tracks trimmed to end a stage, the share ended at a quiet frame
  between notes rather than with a plain fade (the baselines cut anywhere: null).
"""

from __future__ import annotations

import numpy as np

from emoheal.corpus.timbres import split_timbres
from emoheal.retrieval.assemble import SessionSettings, assemble_session
from emoheal.retrieval.evaluation import quadrant
from emoheal.retrieval.index import RetrievalIndex
from emoheal.retrieval.path_scoring import fifths_step, folded_tempo, tempo_step
from emoheal.retrieval.sequence import SequenceSettings, sequence_session

SYSTEMS = ("system", "one_per_stage", "random", "va_sorted")
KEYS = ("minutes_filled", "arousal_never_rises", "p95_tempo_step_bpm", "p95_key_distance", "p95_loudness_step_lu",
        "repeat_share", "catalogue_coverage", "path_fit", "match_agreement", "target_calm_share")


def _stage_of(plan: dict, second: float) -> str:
    for st in plan["stages"]:
        if second < 60.0 * st["end_minute"]:
            return st["name"]
    return plan["stages"][-1]["name"]


def _track(row: int, at: float, play: float, stage: str, trim: str | None = None) -> dict:
    return {"row": row, "at_s": at, "duration_s": play, "stage": stage, "trim": trim}


def system_tracks(plan, index: RetrievalIndex, goal, s: SequenceSettings, seed: int) -> list[dict]:
    result = sequence_session(plan, index.arrays, s, goal, seed=seed)
    rows = {item: i for i, item in enumerate(index.arrays.ids)}
    return [_track(rows[t["item_id"]], t["at_s"], t["duration_s"], st["stage"], (t["trim"] or {}).get("kind"))
            for st in result["stages"] for t in st["tracks"]]


def one_per_stage_tracks(plan, index: RetrievalIndex, goal, s: SessionSettings) -> list[dict]:
    """Each stage's one item, played again and again for the stage's minutes."""
    result = assemble_session(plan, index.items, index.unit_vectors, s, goal)
    rows = {item: i for i, item in enumerate(index.arrays.ids)}
    out = []
    for planned, found in zip(plan["stages"], result["stages"]):
        if not found.get("item"):
            continue
        row = rows[found["item"]["id"]]
        length = max(float(index.arrays.duration[row]), 1.0)
        at, end = 60.0 * planned["start_minute"], 60.0 * planned["end_minute"]
        while at < end - 1e-6:
            play = min(length, end - at)
            out.append(_track(row, at, play, planned["name"]))
            at += play
    return out


def random_tracks(plan, index: RetrievalIndex, rng: np.random.Generator, sort_by_arousal: str | None = None) -> list:
    requested = 60.0 * plan["minutes"]
    arr = index.arrays
    order = rng.permutation(len(arr))
    rows, filled = [], 0.0
    for row in order:
        if filled >= requested:
            break
        rows.append(int(row))
        filled += float(arr.duration[row])
    if sort_by_arousal is not None:
        sign = -1.0 if sort_by_arousal == "down" else 1.0
        rows.sort(key=lambda r: sign * arr.arousal[r])
    out, at = [], 0.0
    for row in rows:
        play = min(float(arr.duration[row]), requested - at)
        out.append(_track(row, at, play, _stage_of(plan, at + play / 2)))
        at += play
    return out


def _session_measures(plan, tracks: list[dict], index: RetrievalIndex, direction: str | None) -> dict:
    arr = index.arrays
    labels = index.items["quadrant"].to_numpy()
    requested = 60.0 * plan["minutes"]
    rows = [t["row"] for t in tracks]
    filled = max((t["at_s"] + t["duration_s"] for t in tracks), default=0.0)
    a = arr.arousal[rows] if rows else np.zeros(0)
    steps = np.diff(a)
    rises = bool((steps > 1e-9).any()) if direction == "down" else bool((steps < -1e-9).any()) \
        if direction == "up" else False
    minutes = np.array([(t["at_s"] + t["duration_s"] / 2) / 60.0 for t in tracks])
    path_m = np.array([w["minute"] for w in plan["path"]])
    path_t = np.array([w["tempo_bpm"] for w in plan["path"]])
    wanted = np.interp(minutes, path_m, path_t) if len(minutes) else np.zeros(0)
    felt = folded_tempo(arr.tempo[rows], wanted) if rows else np.zeros(0)
    pairs = list(zip(rows, rows[1:]))
    match = plan["stages"][0]
    first = rows[0] if rows else None
    first_q = None
    if first is not None:
        label = labels[first] if arr.timbre[first] in (None, "piano") else None  # annotated on piano only
        first_q = int(label) if label is not None and label == label else quadrant(arr.valence[first],
                                                                                     arr.arousal[first])
    target = [t["row"] for t in tracks if t["stage"] == plan["stages"][-1]["name"]]
    targets = {st["name"]: st["targets"] for st in plan["stages"]}
    tags = [split_timbres(arr.timbre[t["row"]]) for t in tracks]
    pieces = [arr.source_id[r] for r in rows]
    return {
        "filled": min(filled / requested, 1.0) if requested else 0.0, "never_rises": not rises,
        "tempo_steps": [float(tempo_step(arr.tempo[j], arr.tempo[i])) for i, j in pairs],
        "key_steps": [int(fifths_step(np.array([arr.fifths[j]]), int(arr.fifths[i]))[0]) for i, j in pairs],
        "loudness_steps": [abs(float(arr.loudness[j] - arr.loudness[i])) for i, j in pairs],
        "repeat": len(set(rows)) < len(rows), "items": set(rows), "tracks": len(rows),
        "path_errors": np.abs(felt - wanted).tolist(),
        "match": None if first_q is None else first_q == quadrant(match["valence"], match["arousal"]),
        "target_calm": [bool(arr.valence[r] >= 0 and arr.arousal[r] < 0) for r in target],
        "target_timbre": [bool(tag & set(targets[t["stage"]].get("timbres", []))) for t, tag in zip(tracks, tags)
                          if t["stage"] == plan["stages"][-1]["name"]],
        "avoided": sum(bool(tag & set(targets[t["stage"]].get("avoid_timbres", []))) for t, tag in zip(tracks, tags)),
        "piece_repeat": len(set(pieces)) < len(pieces),
        "trims": [t["trim"] for t in tracks if t["trim"] is not None],
    }


def _p95(values: list) -> float | None:
    return round(float(np.percentile(values, 95)), 4) if values else None


def evaluate_timelines(plans: list[dict], index: RetrievalIndex, goal: dict, sequence: SequenceSettings,
                       session: SessionSettings, seed: int = 0) -> dict:
    """Metrics per system over the sessions planned in `plans` (each `SessionPlan.to_dict()`);
    session i of the system uses seed `seed + i`, so plans that repeat still vary."""
    direction = goal.get("arousal_direction")
    out = {}
    for system in SYSTEMS:
        rng = np.random.default_rng(seed)
        measures = []
        for i, plan in enumerate(plans):
            if system == "system":
                tracks = system_tracks(plan, index, goal, sequence, seed + i)
            elif system == "one_per_stage":
                tracks = one_per_stage_tracks(plan, index, goal, session)
            else:
                tracks = random_tracks(plan, index, rng, direction if system == "va_sorted" else None)
            measures.append(_session_measures(plan, tracks, index, direction))
        n = max(len(measures), 1)
        flat = {k: [x for m in measures for x in m[k]] for k in
                ("tempo_steps", "key_steps", "loudness_steps", "path_errors", "target_calm", "target_timbre")}
        matches = [m["match"] for m in measures if m["match"] is not None]
        trims = [t for m in measures for t in m["trims"]]
        used = set().union(*(m["items"] for m in measures)) if measures else set()
        out[system] = {
            "sessions": len(measures),
            "tracks_per_session": round(float(np.mean([m["tracks"] for m in measures])) if measures else 0.0, 2),
            "minutes_filled": round(sum(m["filled"] for m in measures) / n, 4),
            "arousal_never_rises": round(sum(m["never_rises"] for m in measures) / n, 4),
            "p95_tempo_step_bpm": _p95(flat["tempo_steps"]),
            "p95_key_distance": _p95(flat["key_steps"]),
            "p95_loudness_step_lu": _p95(flat["loudness_steps"]),
            "repeat_share": round(sum(m["repeat"] for m in measures) / n, 4),
            "catalogue_coverage": round(len(used) / max(len(index.items), 1), 4),
            "path_fit": round(float(np.mean(flat["path_errors"])), 3) if flat["path_errors"] else None,
            "match_agreement": round(float(np.mean(matches)), 4) if matches else None,
            "target_calm_share": round(float(np.mean(flat["target_calm"])), 4) if flat["target_calm"] else None,
            "trims_at_cut_point": round(float(np.mean([t == "cut_point" for t in trims])), 4) if trims else None,
            "target_timbre_share": round(float(np.mean(flat["target_timbre"])), 4) if flat["target_timbre"] else None,
            "avoided_timbre_tracks": int(sum(m["avoided"] for m in measures)),
            "piece_repeat_share": round(sum(m["piece_repeat"] for m in measures) / n, 4),
        }
    return {"system": out["system"], "baselines": {k: out[k] for k in SYSTEMS[1:]}}
