"""A session as a sequence: for each stage of a plan, an ordered list of tracks that fills the
stage's minutes, each scored against the plan's path at the minute it plays, so the music moves
along the path inside a stage too.

Rules (SequenceSettings, from `conf/retrieval/` → `sequence`):
- the filled time lands within `fill_tolerance` of the requested minutes: the last track of a
  stage may be trimmed, at a cut point of the item (a quiet frame or a beat, from the index)
  when one lies near, else with a fade-out over the cross-fade — never cut at full level;
- no item twice in a session; items in `exclude` (heard recently) left out unless nothing
  else continues the sequence (said so on the stage);
- consecutive tracks continuous: tempo step (octave-folded), circle-of-fifths key distance and
  loudness step bounded — relaxed in that order of importance (loudness, key, tempo) and said
  so when nothing else fits; estimated arousal never rises toward a calmer goal (never falls
  toward `uplift`) — never relaxed: the stage ends short with its reason instead;
- a look-ahead keeps enough music for the rest of the session: the music a track passes over on
  the way down is limited to the slack spread over the tracks still to come, and the final
  stage's music (within the goal's limits) is kept in reserve for it;
- variety: among near-equal candidates (score within `near_equal` of the best, at most
  `near_equal_pool` of them) a seeded, score-weighted draw (weights exp((score − best) / T))
  picks the track, so people with the same plan get different sequences and a `seed`
  reproduces one.

Speed: every item's static fit (mode, register, brightness, text, personal) is computed once
per stage; each stage then draws from a pool — the best `pool_per_waypoint` items at its start
and end by a cheaper ranking — scored once on a grid of the path's minutes (path_scoring), so a
track costs a handful of array operations over the pool; when the pool runs dry the whole
catalogue is scored once and a fresh pool made. Above a threshold the caller restricts the
catalogue to FAISS neighbours of waypoints (see `retrieve_sequence`), so the cost per track does
not grow with the catalogue (benchmarks/session_speed.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from emoheal.retrieval.item_arrays import EPS, ItemArrays, rounded
from emoheal.retrieval.path_scoring import PlanPath, ScoreView, StageScorer, felt_tempo
from emoheal.settings.retrieval import SequenceSettings  # conf/retrieval `sequence` + the session's scoring

# what an item of each source sounds like, for the person: every EMOPIA clip is a solo piano
# performance; ingested media is the person's own (its instruments are not measured)
SOUNDS = {"emopia": "solo piano", "user": "your own media"}
GRID_S = 60.0  # seconds between the waypoints a stage's scores are computed at (the path is per minute)
RESERVE = "reserve"  # what the next-track choice says when a stage must end to leave the final stage its music


def _target_limits(arr: ItemArrays, stage: dict, goal: dict | None, s: SequenceSettings) -> tuple[np.ndarray, list]:
    ok = np.ones(len(arr), dtype=bool)
    if goal is None or stage["name"] != "target" or goal.get("arousal_direction") != "down":
        return ok, []
    ceiling = goal["loudness_ceiling_lufs"]
    density_max = stage["targets"]["density_range_onsets_per_s"][1] * s.target_density_factor
    ok &= (arr.loudness <= ceiling) & (arr.density <= density_max) & (arr.arousal <= s.target_max_arousal)
    rules = [f"loudness <= {ceiling:g} LUFS", f"density <= {density_max:.2f} onsets/s",
             f"estimated arousal <= {s.target_max_arousal:g}"]
    if s.target_min_valence is not None:
        ok &= arr.valence >= s.target_min_valence
        rules.append(f"estimated valence >= {s.target_min_valence:g}")
    return ok, rules


def _cut(cuts: np.ndarray, wanted: float, low: float, high: float) -> tuple[float, str]:
    """The item's cut point nearest `wanted` inside [low, high], else `wanted` with a fade."""
    if len(cuts):
        near = cuts[(cuts >= low) & (cuts <= high)]
        if len(near):
            return float(near[np.argmin(np.abs(near - wanted))]), "cut_point"
    return wanted, "fade"


@dataclass
class _State:
    used: np.ndarray  # per item: already in this session
    supply: np.ndarray  # seconds of unused music at or beyond each arousal rank (toward the goal)
    reserve: np.ndarray | None  # the same within the final stage's limits
    cursor: float = 0.0  # session seconds filled so far
    prev: int | None = None  # row of the last track
    prev_play: float = 0.0
    prev_track: dict | None = None


class _Supply:
    """Items ranked by arousal toward the goal (ascending for calming goals): the music in reach
    beyond a candidate is a cumulative sum over that ranking, updated as items are used. The
    ranking is made once per catalogue and direction."""

    def __init__(self, arr: ItemArrays, sign: float):
        cache = arr.__dict__.setdefault("_rankings", {})
        if sign not in cache:
            key = sign * arr.arousal
            order = np.argsort(key, kind="stable")
            rank = np.empty(len(arr), dtype=np.int64)
            rank[order] = np.arange(len(arr))
            cache[sign] = (order, rank, np.searchsorted(key[order], key, side="right") - 1)
        # the last rank at or beyond each item's arousal (ties included)
        self.order, self.rank, self.reach_at = cache[sign]

    def cumulative(self, durations: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Seconds at or beyond each rank, shifted by one: entry 0 is 0 (an item ranked before
        everything), so a candidate's reach is one lookup at `reach_at + 1`."""
        return np.concatenate([[0.0], np.cumsum(np.where(mask[self.order], durations[self.order], 0.0))])

    def use(self, cum: np.ndarray | None, row: int, seconds: float) -> None:
        if cum is not None and seconds:
            cum[self.rank[row] + 1:] -= seconds


def sequence_session(plan: dict, items: pd.DataFrame | ItemArrays, s: SequenceSettings,
                     goal: dict | None = None, exclude=(), seed: int | None = None,
                     text_cosines: dict[str, np.ndarray] | None = None, personal: np.ndarray | None = None,
                     backend: str = "descriptors") -> dict:
    """`plan`: `SessionPlan.to_dict()`; `exclude`: ids heard recently. Stages come back in plan order,
    each with `tracks` (session time `at_s`, offset `start_s`, `duration_s`, fades, measured
    values, score) and its first track as `item`; the session gets a `timeline`."""
    arr = items if isinstance(items, ItemArrays) else ItemArrays.from_items(items)
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    requested = 60.0 * float(plan["minutes"])
    n = len(arr)
    path = PlanPath(plan)
    direction = (goal or {}).get("arousal_direction")
    id_row = arr.row_of
    exclude_rows = [id_row[i] for i in exclude if i in id_row]
    excluded = np.zeros(n, dtype=bool)
    excluded[exclude_rows] = True
    tol = s.fill_tolerance * requested
    crossfades: list[dict] = []
    results = []
    typical = float(np.median(arr.duration)) if n else 0.0
    last_stage = len(plan["stages"]) - 1
    final_limits = _target_limits(arr, plan["stages"][-1], goal, s)[0] if plan["stages"] and n else None
    final_start = 60.0 * float(plan["stages"][-1]["start_minute"]) if plan["stages"] else 0.0
    # look-ahead supply: unused music ranked by arousal toward the goal (descending for uplift)
    supply = _Supply(arr, -1.0 if direction == "up" else 1.0)
    everything = np.ones(n, dtype=bool)
    state = _State(used=np.zeros(n, dtype=bool), supply=supply.cumulative(arr.duration, everything),
                   reserve=None if final_limits is None else supply.cumulative(arr.duration, final_limits))
    full_view = None
    for k, stage in enumerate(plan["stages"]):
        stage_end = requested if k == last_stage else 60.0 * float(stage["end_minute"])
        stage_seconds = 60.0 * float(stage["minutes"])
        final = k == last_stage
        if n == 0:
            results.append(_empty(stage, "the index holds no items"))
            continue
        scorer = StageScorer(stage, arr, s.scoring, s.path_tempo_weight, s.path_tempo_scale_octaves,
                             None if text_cosines is None else text_cosines[stage["name"]], personal)
        limits, rules = _target_limits(arr, stage, goal, s)
        start_s = 60.0 * float(stage["start_minute"])
        full_view = scorer.view(arr)
        pool = _pool(scorer, full_view, path, (start_s, stage_end), s.pool_per_waypoint)
        views = [full_view] if pool is None else [scorer.view(arr, pool), full_view]
        views[0] = views[0].with_masks(limits, excluded, final_limits, supply.reach_at)
        # the first view's scores on a grid over the stage's time (a track is scored at its middle)
        grid_t0 = max(state.cursor, 0.0)
        grid_times = np.arange(grid_t0, max(stage_end, grid_t0) + typical + GRID_S, GRID_S)
        grid = scorer.grid(views[0], path, grid_times)
        min_len = min(s.min_track_s, stage_seconds)
        tracks, notes, alternatives = [], [], []
        stop_reason = None
        while True:
            remaining = stage_end - state.cursor
            if (final and remaining <= tol / 2) or (not final and remaining <= min_len / 2) or remaining <= 0.5:
                break
            middle = state.cursor + min(typical, remaining) / 2
            wp = path.at(middle)
            row_scores = grid[min(max(int(round((middle - grid_t0) / GRID_S)), 0), len(grid_times) - 1)]
            # what must stay in reach: the rest of the session (a candidate's reach counts itself), and
            # the final stage's time (a reserve: taken before it, gone for it)
            need = _Need(s.supply_factor * max(requested - state.cursor, 0.0),
                         s.supply_factor * (requested - max(state.cursor, final_start)),
                         final_limits, max(requested - state.cursor, 0.0) / max(typical, 1.0), final)
            pick = None
            for i, view in enumerate(views):  # the stage's pool first, the whole catalogue when it runs dry
                if view.limits is None:
                    view = views[i] = view.with_masks(limits, excluded, final_limits, supply.reach_at)
                pick = _choose(arr, view, scorer, wp, state, excluded, limits, direction, s, rng, need, supply,
                               want_alternatives=not tracks, scores=row_scores if i == 0 else None)
                if pick is not None:
                    break
            if pick == RESERVE:
                stop_reason = "ended early: the remaining calm music is kept for the final stage"
                break
            if pick is None:
                stop_reason = _why_none(state, limits, direction, rules)
                break
            row, score, relaxed, alts = pick
            if i > 0 and pool is not None:
                # the pool ran dry: a fresh one around this minute, so the next tracks need not score every item
                fresh = ~state.used & limits
                fresh[row] = False
                if direction in ("down", "up"):
                    a_row = arr.arousal[row]
                    fresh &= (arr.arousal <= a_row) if direction == "down" else (arr.arousal >= a_row)
                top = np.flatnonzero(fresh)
                if len(top) > 2 * s.pool_per_waypoint:
                    full_scores = scorer.score(views[1], wp)[top]
                    top = top[np.argpartition(-full_scores, 2 * s.pool_per_waypoint)[: 2 * s.pool_per_waypoint]]
                pool = np.union1d(pool[~state.used[pool]], top).astype(np.int64)
                views[0] = scorer.view(arr, pool).with_masks(limits, excluded, final_limits, supply.reach_at)
                grid_t0 = state.cursor
                grid_times = np.arange(grid_t0, max(stage_end, grid_t0) + typical + GRID_S, GRID_S)
                grid = scorer.grid(views[0], path, grid_times)
            if not tracks:
                alternatives, first_personal = alts, float(scorer.personal[row])
            notes.extend(n_ for n_ in relaxed if n_ not in notes)
            track = _place(arr, row, score, state, stage_end, final, min_len, tol, s, requested, path, crossfades)
            track["relaxed"] = relaxed
            if state.prev_track is not None:  # the last track fades out over the cross-fade into this one
                trimmed_by_fade = (state.prev_track["trim"] or {}).get("kind") == "fade"
                least = min(s.trim_fade_s, 0.5 * state.prev_track["duration_s"]) if trimmed_by_fade else 0.0
                state.prev_track["fade_out_s"] = round(max(track["fade_in_s"], least), 3)
            tracks.append(track)
            state.used[row] = True
            supply.use(state.supply, row, float(arr.duration[row]))
            if final_limits is not None and final_limits[row]:
                supply.use(state.reserve, row, float(arr.duration[row]))
            state.prev, state.prev_play, state.prev_track = row, track["duration_s"], track
            state.cursor = track["at_s"] + track["duration_s"]
        results.append(_stage_result(stage, tracks, stop_reason, rules, notes, alternatives, arr))
        if tracks:
            results[-1]["score"]["personal"] = round(first_personal, 4)
    all_tracks = [t for r in results for t in r["tracks"]]
    if all_tracks:
        all_tracks[-1]["fade_out_s"] = round(min(s.last_fade_out_s, 0.5 * all_tracks[-1]["duration_s"]), 3)
    filled = state.cursor
    timeline = {"requested_s": round(requested, 3), "filled_s": round(filled, 3), "tracks": len(all_tracks),
                "crossfades": crossfades, "seed": seed}
    if filled < requested - tol:
        reasons = [r["reason"] for r in results if r.get("reason")]
        timeline["short_by_s"] = round(requested - filled, 3)
        timeline["reason"] = reasons[0] if reasons else "the catalogue holds too little music for this length"
    status = "ok" if all(r["status"] == "ok" for r in results) else ("empty_index" if n == 0 else "partial")
    return {"backend": backend, "status": status, "stages": results, "timeline": timeline}


def _empty(stage: dict, reason: str) -> dict:
    return {"stage": stage["name"], "status": "no_suitable_item", "reason": reason, "item": None, "tracks": [],
            "alternatives": [], "constraints": [], "continuity": None}


def _pool(scorer: StageScorer, full: ScoreView, path: PlanPath, seconds, per_waypoint: int) -> np.ndarray | None:
    """Rows of the best items at the stage's start, centre and end (None: the catalogue is small
    enough to score whole at every track)."""
    n = len(full.rows)
    if n <= len(seconds) * per_waypoint:
        return None
    scores = scorer.grid(full, path, np.asarray(seconds, dtype=np.float64), light=True)  # a row per waypoint
    return np.unique(np.argpartition(-scores, per_waypoint, axis=1)[:, :per_waypoint]).astype(np.int64)


class _Need(NamedTuple):
    """Music the rest of the session needs in reach (seconds): in all, and within the final
    stage's limits for the final stage's time. (A tuple: one is made per track.)"""
    total: float
    final: float
    final_limits: np.ndarray | None
    tracks_left: float  # about how many tracks the rest of the session holds
    in_final: bool  # the track is for the final stage


def _choose(arr: ItemArrays, v: ScoreView, scorer: StageScorer, wp: dict, state: _State, excluded: np.ndarray,
            limits: np.ndarray, direction: str | None, s: SequenceSettings, rng: np.random.Generator,
            need: _Need, supply: _Supply, want_alternatives: bool = False, scores: np.ndarray | None = None):
    """(row, score, relaxed rules, alternatives) of the next track among the view's rows, None when
    none continues the sequence, or RESERVE when the stage must end to leave the final stage music."""
    rows = v.rows
    free = ~state.used[rows] & v.limits
    if state.prev is not None and direction in ("down", "up"):
        a_prev = arr.arousal[state.prev]
        free &= (v.arousal <= a_prev + s.arousal_tolerance) if direction == "down" else \
            (v.arousal >= a_prev - s.arousal_tolerance)
    if not free.any():
        return None
    if direction in ("down", "up") and need.total > 0:
        # look-ahead, before any continuity rule. Every item passed over on the way down (between
        # the last track's arousal and a candidate's) can never be played later; the music beyond
        # what the rest of the session needs (the slack) is spread over the tracks still to come,
        # so arousal comes down across the whole session instead of all at once
        prev_at = 0 if state.prev is None else int(supply.reach_at[state.prev]) + 1
        checks = []  # (wanted, reach, floor) per kind of music: all of it, and the final stage's
        ok = free
        for cum, wanted, is_reserve in ((state.supply, need.total, False), (state.reserve, need.final, True)):
            if cum is None or wanted <= 0:
                continue
            reach = cum[v.reach_idx]  # the candidate and all beyond it
            if is_reserve and not need.in_final:
                # before the final stage its music is a reserve: a track taken from it now is gone then
                after = reach - v.final_duration
                ok = ok & (after >= wanted)
                checks.append((wanted, after, wanted))
            if state.prev is None:  # the opening sits where the person is, with enough beyond it
                floor = wanted
            else:
                before = float(cum[prev_at])
                floor = before - max(before - wanted, 0.0) / max(need.tracks_left, 1.0) - EPS
            ok = ok & (reach >= floor)
            checks.append((wanted, reach, floor))
        if ok.any():
            free = ok
        else:
            shortfall = np.zeros(len(rows))
            for _, value, floor in checks:
                shortfall = np.maximum(shortfall, floor - value)
            if not need.in_final and need.final > 0 and state.reserve is not None and state.reserve[-1] > 0 \
                    and v.final_duration is not None \
                    and ((need.final - (state.reserve[v.reach_idx] - v.final_duration))[free] > 0).all():
                return RESERVE  # every candidate would take the final stage's music: end this stage here
            free = free & (shortfall <= shortfall[free].min() + EPS)  # those that fall least short
    fresh = free & ~v.excluded
    relaxed: list[str] = []
    if state.prev is None:
        allowed = fresh
        if not allowed.any():
            allowed, relaxed = free, ["recently heard items"]
    else:
        p = state.prev
        tp = float(arr.tempo[p])
        allowed = fresh & (np.minimum(np.minimum(np.abs(v.tempo - tp), np.abs(v.tempo_half - tp)),
                                      np.abs(v.tempo_double - tp)) <= s.max_tempo_step_bpm)
        if allowed.any():
            keyed = allowed & v.key_near(s.max_key_distance)[int(arr.fifths[p]) % 12]
            if keyed.any():
                loud = keyed & (np.abs(v.loudness - float(arr.loudness[p])) <= s.max_loudness_step_lu)
                allowed, relaxed = (loud, []) if loud.any() else (keyed, ["loudness step"])
            else:
                relaxed = ["loudness step", "key distance"]
        elif fresh.any():
            allowed, relaxed = fresh, ["loudness step", "key distance", "tempo step"]
        else:
            allowed, relaxed = free, ["loudness step", "key distance", "tempo step", "recently heard items"]
    score = scorer.score(v, wp) if scores is None else scores
    masked = np.where(allowed, score, -np.inf)
    best = float(masked.max())
    near = np.flatnonzero(masked >= best - s.near_equal)
    if len(near) > s.near_equal_pool:
        near = near[np.argsort(-masked[near], kind="stable")][: max(s.near_equal_pool, 1)]
    near = near.tolist()
    weights = [math.exp((float(masked[i]) - best) / max(s.temperature, EPS)) for i in near]
    draw, total, chosen = rng.random() * sum(weights), 0.0, near[-1]
    for i, w in zip(near, weights):  # a score-weighted draw among the near-equals
        total += w
        if draw < total:
            chosen = i
            break
    alts = []
    if want_alternatives:
        ranked = np.argsort(-masked, kind="stable")[: s.alternatives + 1]
        alts = [(int(rows[i]), float(masked[i])) for i in ranked if i != chosen and np.isfinite(masked[i])]
    return int(rows[chosen]), float(score[chosen]), list(relaxed), alts[: s.alternatives]


def _why_none(state: _State, limits, direction, rules) -> str:
    free = ~state.used
    if not free.any():
        return "every item is already in this session"
    if not (free & limits).any():
        return "every remaining item breaks the goal's limits (" + "; ".join(rules) + ")"
    if direction == "down":
        return "no remaining item keeps the estimated arousal from rising"
    if direction == "up":
        return "no remaining item keeps the estimated arousal from falling"
    return "every remaining item is excluded"


def _place(arr: ItemArrays, row: int, score: float, state: _State, stage_end: float, final: bool, min_len: float,
           tol: float, s: SequenceSettings, requested: float, path: PlanPath, crossfades: list) -> dict:
    """Lay the chosen item on the timeline: overlap the previous track by the cross-fade, play it
    whole or trim it so the stage (the session, for the last stage) ends on time."""
    d = float(arr.duration[row])
    if state.prev is None:
        fade = 0.0
    else:
        fade = min(s.crossfade_s, s.crossfade_max_share * min(state.prev_play, d))
    for _ in range(3):  # the cross-fade depends on the length played, which depends on where it starts
        at = max(state.cursor - fade, 0.0)
        need = stage_end - at
        play, trimmed = d, False
        if d > need:
            play, trimmed = need, True
        elif 0 < need - d < min_len and need - min_len >= min_len and not (final and need - d <= tol / 2):
            play, trimmed = need - min_len, True  # leave room for one more excerpt of a decent length
        cut_kind = None
        if trimmed:
            window = min(0.9 * tol, s.cut_window_s) if final else s.cut_window_s  # the end stays in tolerance
            low, high = play - window, min(play + window, d)
            play, cut_kind = _cut(arr.cuts[row], play, max(low, 0.5), high)
        play = max(min(play, d), 0.5)
        shorter = min(fade, s.crossfade_max_share * play) if state.prev is not None else 0.0
        if shorter >= fade - 1e-9:
            break
        fade = shorter
    fade = min(fade, s.crossfade_max_share * play) if state.prev is not None else 0.0
    at = max(state.cursor - fade, 0.0)
    if final and at + play > requested + 0.9 * tol:
        play, trimmed, cut_kind = max(requested - at, 0.5), True, "fade"
    if state.prev is not None and fade > 0:
        crossfades.append({"at_s": round(at, 3), "duration_s": round(fade, 3), "from": str(arr.ids[state.prev]),
                           "to": str(arr.ids[row])})
    mid = at + play / 2
    wp = path.at(mid)
    fade_in = fade if state.prev is not None else min(s.first_fade_in_s, 0.25 * play)
    fade_out = min(s.crossfade_s, s.crossfade_max_share * play)
    if cut_kind == "fade":
        fade_out = max(fade_out, min(s.trim_fade_s, 0.5 * play))
    return {
        "item_id": str(arr.ids[row]), "title": str(arr.titles[row]), "at_s": round(at, 3), "start_s": 0.0,
        "duration_s": round(play, 3), "fade_in_s": round(fade_in, 3), "fade_out_s": round(fade_out, 3),
        "item_duration_s": round(d, 3), "trim": None if not trimmed else {"kind": cut_kind, "at_s": round(play, 3)},
        "measured": dict(arr.measured(row)),
        "felt_tempo_bpm": rounded(felt_tempo(float(arr.tempo[row]), wp["tempo_bpm"])),
        "path": {"minute": round(mid / 60, 3), "tempo_bpm": round(wp["tempo_bpm"], 2),
                 "arousal": round(wp["arousal"], 3)},
        "score": round(score, 4), "media_type": str(arr.media_type[row]), "media_path": arr.media_path[row],
        "poster_path": arr.poster_path[row],
    }


def _stage_result(stage: dict, tracks: list, stop_reason: str | None, rules: list, notes: list, alternatives: list,
                  arr: ItemArrays) -> dict:
    name = stage["name"]
    if not tracks:
        out = _empty(stage, stop_reason or "the session was already filled")
        out["constraints"] = rules
        return out
    filled = sum(t["duration_s"] for t in tracks) - sum(t["fade_in_s"] for t in tracks[1:])
    # the stage ran out of music that continues the sequence before its time was filled
    status, reason = ("ok", None) if stop_reason is None else ("partial", stop_reason)

    def item_of(t: dict) -> dict:  # the one-item form old clients read
        row = arr.row_of[t["item_id"]]
        return {"id": t["item_id"], "title": t["title"], "media_type": t["media_type"], "media_path": t["media_path"],
                "poster_path": t["poster_path"], "start_s": t["start_s"], "duration_s": t["duration_s"],
                "item_duration_s": t["item_duration_s"], "measured": {
                    "tempo_bpm": rounded(arr.tempo[row]), "mode_major": rounded(arr.mode[row]),
                    "key": str(arr.key[row]),
                    "loudness_lufs": rounded(arr.loudness[row]), "density_onsets_per_s": rounded(arr.density[row]),
                    "register_midi": rounded(arr.register[row]), "brightness_hz": rounded(arr.brightness[row]),
                    "valence": rounded(arr.valence[row]), "arousal": rounded(arr.arousal[row])}}

    felt = [t["felt_tempo_bpm"] for t in tracks if t["felt_tempo_bpm"] is not None]
    third = max((len(felt) + 2) // 3, 1)
    sounds = sorted({SOUNDS.get(str(arr.source[arr.row_of[t["item_id"]]]), "other recordings") for t in tracks})
    summary = {"tracks": len(tracks), "minutes": round(filled / 60, 2), "sounds": sounds,
               # where the felt tempo starts and ends: medians of the first and last thirds (one piece's
               # tempo estimate is noisy; a sequence's drift is not)
               "felt_tempo_bpm": [round(float(np.median(felt[:third])), 2),
                                  round(float(np.median(felt[-third:])), 2)] if felt else None,
               "tempo_range_bpm": [min(felt), max(felt)] if felt else None,
               "arousal": [tracks[0]["measured"]["arousal"], tracks[-1]["measured"]["arousal"]],
               "keys": sorted({t["measured"]["key"] for t in tracks})}
    continuity = "ok" if not notes else "relaxed: " + ", ".join(notes)
    return {"stage": name, "status": status, "reason": reason, "item": item_of(tracks[0]),
            "score": {"total": tracks[0]["score"]}, "tracks": tracks, "sequence": summary,
            "constraints": rules, "continuity": continuity,
            "alternatives": [{"id": str(arr.ids[r]), "title": str(arr.titles[r]), "score": {"total": round(sc, 4)}}
                             for r, sc in alternatives]}
